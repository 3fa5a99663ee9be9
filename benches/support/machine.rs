//! The machine and the versions a benchmark ran with, read at run time so
//! that the pages never name a machine by hand.

use std::process::Command;

/// `(what, value)` pairs: date, commit, CPU, cores, memory, OS, load, and
/// the versions of the tool, Rust, moto and the SDKs.
pub fn describe() -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .map_or_else(
            || "unknown".into(),
            |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
        );
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    let kernel = output(Command::new("uname").args(["-sr"]));
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    let moto_python = crate::moto::moto_server_path().with_file_name("python");
    vec![
        (
            "date (UTC)",
            output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M"])),
        ),
        ("commit", commit()),
        (
            "ec2-gitops",
            format!(
                "{} (release build, `cargo bench` profile)",
                output(Command::new(super::process::binary()).arg("--version"))
            ),
        ),
        ("CPU", cpu),
        ("CPUs (nproc)", nproc.to_string()),
        ("memory", memory),
        ("OS", format!("{os}, {kernel}")),
        ("load average at start (1, 5, 15 min)", load),
        (
            "rustc",
            output(
                Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
                    .arg("--version"),
            ),
        ),
        (
            "moto",
            output(Command::new(moto_python).args([
                "-c",
                "import moto, sys; print(moto.__version__, '(Python', sys.version.split()[0] + ')')",
            ])),
        ),
        ("aws-sdk-ec2", locked_version("aws-sdk-ec2")),
        ("octocrab", locked_version("octocrab")),
    ]
}

/// The commit measured, and whether the code under it had local changes.
fn commit() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let head = output(Command::new("git").args(["-C", dir, "rev-parse", "--short", "HEAD"]));
    let changed = output(Command::new("git").args([
        "-C",
        dir,
        "status",
        "--porcelain",
        "--",
        "src",
        "Cargo.toml",
        "Cargo.lock",
    ]));
    if changed.is_empty() {
        head
    } else {
        format!("{head} (with uncommitted changes under src/ or Cargo.*)")
    }
}

/// A crate's version as `Cargo.lock` pins it.
fn locked_version(name: &str) -> String {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .unwrap_or_default();
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            return v.trim_matches('"').to_string();
        }
    }
    "unknown".into()
}

/// A command's trimmed stdout, or why there is none.
pub fn output(command: &mut Command) -> String {
    match command.output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(out) => format!("unknown ({})", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("unknown ({e})"),
    }
}

/// The date and commit of this run, for a page's "measured" line.
pub fn measured_line() -> String {
    format!(
        "Measured {} UTC at commit {}.",
        output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M"])),
        commit()
    )
}
