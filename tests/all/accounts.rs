//! Stacks in accounts, against moto's STS: `--accounts FILE` maps names to
//! roles; one command plans and applies two stacks, each in its own account
//! (the job's credentials assume each role; moto's assumed credentials act
//! in the role's account, which boto3 checks per account); a stack naming an
//! account the mapping lacks is refused at its line before any call.

use std::process::{Command, Stdio};

use crate::engine::IMAGE;
use crate::support::{Ec2Proxy, Moto};

const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");
const DEV: &str = "111111111111";
const PROD: &str = "222222222222";

fn stack(name: &str, account: &str) -> String {
    format!(
        "version: 1\nstack: {name}\nregion: us-east-1\naccount: {account}\ninstances:\n  web:\n    image: {IMAGE}\n    type: t3.micro\n"
    )
}

fn run(proxy: &Ec2Proxy, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The name tags of `stack`'s instances in `account`, joined.
fn instances_in(moto: &Moto, account: &str, stack: &str) -> String {
    moto.instances_in_account(account, stack).join(",")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_stacks_in_two_accounts_are_applied_each_in_its_own() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dev.yaml"), stack("site-dev", "dev")).unwrap();
    std::fs::write(
        dir.path().join("prod.yaml"),
        stack("site-prod", "production"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("accounts.yaml"),
        format!(
            "dev: arn:aws:iam::{DEV}:role/deploy\nproduction:\n  role: arn:aws:iam::{PROD}:role/deploy\n  session_duration: 1h\n"
        ),
    )
    .unwrap();

    let applied = run(
        &proxy,
        dir.path(),
        &[
            "--accounts",
            "accounts.yaml",
            "apply",
            "dev.yaml",
            "prod.yaml",
            "--auto-approve",
        ],
    );
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    // One session per account (the plan under the lease reuses it).
    let assumed: Vec<String> = (proxy.requests_for("AssumeRole").iter())
        .filter_map(|r| r.param("RoleArn").map(str::to_string))
        .collect();
    for account in [DEV, PROD] {
        assert!(
            assumed.iter().any(|a| a.contains(account)),
            "{account}: {assumed:?}"
        );
    }
    assert!(
        (proxy.requests_for("AssumeRole").iter()).all(|r| r
            .param("RoleSessionName")
            .is_some_and(|s| s.starts_with("ec2-gitops-site-"))),
        "session names name the stack"
    );
    assert_eq!(instances_in(&moto, DEV, "site-dev"), "instance/web");
    assert_eq!(instances_in(&moto, PROD, "site-prod"), "instance/web");
    assert_eq!(instances_in(&moto, DEV, "site-prod"), "");
    assert_eq!(instances_in(&moto, PROD, "site-dev"), "");

    // Each stack plans empty in its account.
    let plan = run(
        &proxy,
        dir.path(),
        &[
            "--accounts",
            "accounts.yaml",
            "plan",
            "dev.yaml",
            "prod.yaml",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    // An account the mapping lacks: refused at its line, nothing called.
    std::fs::write(
        dir.path().join("stage.yaml"),
        stack("site-stage", "staging"),
    )
    .unwrap();
    proxy.clear();
    let refused = run(
        &proxy,
        dir.path(),
        &["--accounts", "accounts.yaml", "plan", "stage.yaml"],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = text(&refused);
    assert!(said.contains("stage.yaml:4:10"), "{said}");
    assert!(
        said.contains("stack site-stage names account `staging`, which is not mapped to a role"),
        "{said}"
    );
    assert!(
        said.contains("the accounts mapped: dev, production"),
        "{said}"
    );
    assert_eq!(proxy.total(), 0, "{:?}", proxy.actions());

    // A mapping that is not one is refused too, saying where.
    std::fs::write(dir.path().join("bad.yaml"), "dev: arn:aws:iam::1:role/x\n").unwrap();
    let bad = run(
        &proxy,
        dir.path(),
        &["--accounts", "bad.yaml", "plan", "dev.yaml"],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(
        text(&bad).contains(
            "bad.yaml:1: account `dev` needs `role: arn:aws:iam::<12 digits>:role/<name>`"
        ),
        "{}",
        text(&bad)
    );
    assert_eq!(proxy.total(), 0);
}
