//! The bad-input corpus: every broken stack file in
//! `tests/fixtures/bad-input/` (and a generated 50 MB one) through the real
//! binary, with `validate` and with `plan`. Each must be refused with the
//! documented exit code (README, "Exit codes": 1 for invalid YAML), never
//! panic, name the file with `line:column` and say what to do (every error
//! has a hint), and make no EC2 request: `AWS_ENDPOINT_URL` points at a
//! recording proxy whose upstream does not even listen.
//!
//! `validate`'s messages are snapshotted (one snapshot, files in sorted
//! order) so that a reviewer reads every one of them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Ec2Proxy;

const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bad-input");
/// README, "Exit codes": 1 is an error, invalid YAML included.
const EXIT_INVALID: i32 = 1;
/// A guard against a hang, not a timing assertion.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Nothing listens on the discard port: a request that got past the proxy
/// would fail, but the proxy has recorded it first.
const NOWHERE: &str = "http://127.0.0.1:9";

/// What one run of the binary did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` with `args`, as a user at a terminal would with
/// AWS configured, except that EC2 is the proxy. Kills it after [`TIME_LIMIT`].
fn run(dir: &Path, args: &[&str], proxy: &Ec2Proxy) -> Outcome {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`ec2-gitops {}` did not finish in {TIME_LIMIT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Outcome {
        code: status.code(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// The corpus files, sorted (the directory also holds a directory a case
/// names as its user data).
fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("read the corpus directory")
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Checks one refusal of `file` (as named on the command line) and returns
/// its stderr; `what` names the run in messages.
fn check_refusal(what: &str, file: &str, o: &Outcome, proxy: &Ec2Proxy) -> String {
    let all = format!(
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.code, o.stdout, o.stderr
    );
    assert!(!o.stderr.contains("panicked"), "{all}");
    assert_ne!(o.code, Some(101), "a panic: {all}");
    assert_eq!(o.code, Some(EXIT_INVALID), "{all}");
    assert_eq!(o.stdout, "", "nothing is printed as a result: {all}");
    assert_eq!(
        proxy.total(),
        0,
        "an EC2 request: {:?}\n{all}",
        proxy.actions()
    );

    // Every error names the file, a line and a column, and has a hint.
    let errors = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .count();
    let located: Vec<&str> = o
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--> "))
        .collect();
    let hints = o
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("= hint: "))
        .count();
    assert!(errors > 0, "{all}");
    assert_eq!(located.len(), errors, "an error without a location: {all}");
    for at in &located {
        let (name, position) = at.split_once(':').expect("file:line:column");
        let (line, column) = position.split_once(':').expect("line:column");
        assert_eq!(name, file, "{all}");
        assert!(
            line.parse::<usize>().is_ok_and(|n| n > 0)
                && column.parse::<usize>().is_ok_and(|n| n > 0),
            "{at}: {all}"
        );
    }
    assert_eq!(
        hints, errors,
        "an error that does not say what to do: {all}"
    );
    let noun = if errors == 1 { "error" } else { "errors" };
    assert!(
        o.stderr
            .ends_with(&format!("\n{errors} {noun} in {file}\n")),
        "{all}"
    );
    o.stderr.clone()
}

#[test]
fn every_broken_stack_file_is_refused_clearly_without_calling_ec2() {
    let files = corpus();
    assert!(
        files.len() >= 40,
        "the corpus shrank: {} files",
        files.len()
    );
    let proxy = Ec2Proxy::start(NOWHERE);
    let dir = Path::new(CORPUS);
    let mut snapshot = String::new();
    for path in &files {
        let name = path.file_name().unwrap().to_str().expect("UTF-8 file name");
        let validate = run(dir, &["validate", name], &proxy);
        let text = check_refusal(&format!("validate {name}"), name, &validate, &proxy);
        let plan = run(dir, &["plan", name], &proxy);
        let plan_text = check_refusal(&format!("plan {name}"), name, &plan, &proxy);
        assert_eq!(plan_text, text, "plan reports what validate reports");
        snapshot.push_str(&format!("=== {name}\n{text}\n"));
    }
    insta::assert_snapshot!("validate_every_file", snapshot);
}

#[test]
fn a_50_mb_stack_file_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    // Valid-looking YAML, repeated: a generated file gone wrong.
    let unit = "  web-00000:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n";
    let mut yaml = String::from("version: 1\nstack: huge\nregion: us-east-1\ninstances:\n");
    let mut i = 0u64;
    while yaml.len() < 50 * 1024 * 1024 {
        yaml.push_str(&unit.replace("00000", &format!("{i:05}")));
        i += 1;
    }
    std::fs::write(tmp.path().join("huge.yaml"), &yaml).unwrap();
    let proxy = Ec2Proxy::start(NOWHERE);
    let mut texts = Vec::new();
    for command in ["validate", "plan"] {
        let o = run(tmp.path(), &[command, "huge.yaml"], &proxy);
        let text = check_refusal(command, "huge.yaml", &o, &proxy);
        texts.push(text.replace(&tmp.path().display().to_string(), "<tmp>"));
    }
    assert_eq!(texts[0], texts[1]);
    insta::assert_snapshot!(texts[0], @r"
    error: the file is 52428858 bytes; stack files are limited to 5242880 bytes (5 MB)
     --> huge.yaml:1:1
      = hint: split the stack into several files

    1 error in huge.yaml
    ");
}
