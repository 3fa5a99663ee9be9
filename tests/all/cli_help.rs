//! The command line as a person meets it: `--help` of every command, and
//! `validate` (which needs no EC2) on good, broken and missing files.

use std::process::{Command, Output};

/// Runs the built binary from the crate root, without colour and outside
/// GitHub Actions (which would add `::error` annotations).
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ec2-gitops"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("EC2_GITOPS_LOG")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 stderr")
}

/// Runs `args`, expects success and an empty stderr, returns stdout.
fn help(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {o:?}");
    assert_eq!(stderr(&o), "", "{args:?}");
    stdout(&o)
}

#[test]
fn help_of_every_command() {
    insta::assert_snapshot!("help", help(&["--help"]));
    insta::assert_snapshot!("help_validate", help(&["validate", "--help"]));
    insta::assert_snapshot!("help_plan", help(&["plan", "--help"]));
    insta::assert_snapshot!("help_apply", help(&["apply", "--help"]));
    insta::assert_snapshot!("help_schema", help(&["schema", "--help"]));
    insta::assert_snapshot!("help_resolve", help(&["resolve", "--help"]));
    insta::assert_snapshot!("help_action", help(&["action", "--help"]));
    insta::assert_snapshot!("help_import", help(&["import", "--help"]));
    insta::assert_snapshot!("help_iam", help(&["iam", "--help"]));
    insta::assert_snapshot!("help_iam_policy", help(&["iam", "policy", "--help"]));
    insta::assert_snapshot!("help_iam_trust", help(&["iam", "trust", "--help"]));
}

#[test]
fn version() {
    let out = help(&["--version"]);
    assert!(out.starts_with("ec2-gitops "), "{out}");
    assert_eq!(
        out.trim_end(),
        format!("ec2-gitops {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn validate_accepts_the_example_stack() {
    let o = run(&["validate", "examples/web-hosting/infra/web.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("examples/web-hosting/infra/web.yaml: stack web (us-east-1) is valid:"),
        "{out}"
    );
}

#[test]
fn validate_reports_every_error_with_its_location() {
    let o = run(&["validate", "tests/fixtures/config/unknown_key.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "", "errors go to stderr");
    insta::assert_snapshot!("validate_unknown_keys", stderr(&o));
}

#[test]
fn validate_of_a_path_that_matches_nothing() {
    let o = run(&["validate", "infra/nothing-here/*.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    insta::assert_snapshot!("validate_no_match", stderr(&o));
}

#[test]
fn the_environments_example_is_two_stacks_on_one_base() {
    let o = run(&["validate", "examples/environments/infra"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("stack web-production (us-east-1) is valid: 4 instance(s)"),
        "{out}"
    );
    assert!(
        out.contains("stack web-staging (us-east-1) is valid: 1 instance(s)"),
        "{out}"
    );
    assert!(
        !out.contains("base/web.yaml"),
        "the base is not a stack: {out}"
    );
}

#[test]
fn resolve_prints_the_production_stack_with_where_each_value_comes_from() {
    let o = run(&["resolve", "examples/environments/infra/production/web.yaml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!("resolve_production", stdout(&o));
    // A stack that does not validate is still printed, then its errors.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.yaml"),
        "version: 1\nregion: us-east-1\ninstances:\n  web:\n    image: ami-0123456789abcdef0\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("web.yaml"),
        "extends: base.yaml\nstack: web\ninstances:\n  web:\n    tpye: t3.micro\n",
    )
    .unwrap();
    let file = dir.path().join("web.yaml").display().to_string();
    let o = run(&["resolve", &file]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("tpye: t3.micro"), "{}", stdout(&o));
    assert!(stderr(&o).contains("unknown key `tpye`"), "{}", stderr(&o));
}
