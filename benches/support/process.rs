//! The real `ec2-gitops` binary as a child process, measured: wall time,
//! its own CPU time (user + system) and peak resident memory, from `wait4`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The release binary `cargo bench` built.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ec2-gitops"))
}

/// What one run of a child process took and said.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From spawn to reaped.
    pub wall: Duration,
    /// The child's user + system CPU time.
    pub cpu: Duration,
    /// The child's peak resident set, in MiB.
    pub rss_mb: f64,
}

/// A `Command` for the binary that reaches EC2 at `endpoint` (the recording
/// proxy) with dummy credentials, and nothing else from the caller's
/// environment (no AWS profile, no `GITHUB_*`) but `PATH`.
pub fn ec2_command(endpoint: &str) -> Command {
    ec2_command_of(&binary(), endpoint)
}

/// Like [`ec2_command`], for another build of the binary.
pub fn ec2_command_of(binary: &Path, endpoint: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("NO_COLOR", "1");
    command
}

/// Runs `command` to its end (stdin closed, output captured) and measures it.
// The child is reaped with wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn run(command: &mut Command) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut stdout_pipe = child.stdout.take().expect("child stdout");
    let mut stderr_pipe = child.stderr.take().expect("child stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let mut stdout = String::new();
    let _ = stdout_pipe.read_to_string(&mut stdout);
    let stderr = stderr_reader.join().expect("stderr reader");

    // wait4, not Child::wait: it also gives the child's CPU time and peak RSS.
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child, the pointers are valid for writes.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(
        reaped,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let timeval = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout,
        stderr,
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        rss_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// The last `lines` lines of `text`, for failure messages.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The median of `values` (the upper one of an even count).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    assert!(!values.is_empty(), "median of nothing");
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}
