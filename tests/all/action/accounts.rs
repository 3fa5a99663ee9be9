//! One action run, two accounts: the input `accounts` maps `dev` and
//! `production` to roles; a pull request touching a stack in each gets one
//! comment whose table names each stack's account, and the merge applies
//! each stack in its own account (moto's STS: the assumed credentials act
//! in the role's account, which boto3 checks per account).

use crate::engine::{IMAGE, stack_yaml};
use crate::support::PullSpec;

use super::{HEAD, MERGE, REPO, World};

const ACCOUNTS: &str = "dev: arn:aws:iam::111111111111:role/deploy\nproduction: { role: \"arn:aws:iam::222222222222:role/deploy\" }\n";

/// How many instances `stack` has in `account`.
fn instances_in(w: &World, account: &str, stack: &str) -> String {
    w._moto
        .instances_in_account(account, stack)
        .len()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_run_plans_and_applies_stacks_of_two_accounts_each_in_its_own() {
    let w = World::new("acct-web");
    w.write_stack(
        &stack_yaml("acct-web").replace("region: us-east-1\n", "region: us-east-1\naccount: dev\n"),
    );
    std::fs::write(
        w.dir.path().join("infra/api.yaml"),
        format!(
            "version: 1\nstack: acct-api\nregion: us-east-1\naccount: production\ninstances:\n  api:\n    image: {IMAGE}\n    type: t3.micro\n"
        ),
    )
    .unwrap();
    let files = ["infra/web.yaml", "infra/api.yaml"];
    w.pull(7, HEAD, &files);
    let inputs = [("INPUT_ACCOUNTS", ACCOUNTS)];
    let r = w.run_with("pull_request", w.pr_event("opened", 7, HEAD), HEAD, &inputs);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let body = &w.bot_comments(7)[0].body;
    assert!(
        body.contains("| stack | account | region | plan |"),
        "{body}"
    );
    assert!(
        body.contains("| acct-api | production | us-east-1 |"),
        "{body}"
    );
    assert!(body.contains("| acct-web | dev | us-east-1 |"), "{body}");
    assert!(
        body.contains("### Stack `acct-web` (us-east-1, account `dev`)"),
        "{body}"
    );
    assert!(w.mutating_ec2_calls().is_empty());

    // The merge applies each stack in its account.
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 7,
            head_sha: HEAD.into(),
            merged: true,
            merge_commit_sha: Some(MERGE.into()),
            state: "closed".into(),
            files: files
                .iter()
                .map(|f| (f.to_string(), "modified".to_string()))
                .collect(),
            ..PullSpec::default()
        },
    );
    w.gh.add_commit_pulls(MERGE, &[7]);
    let pushed: Vec<(&str, &str)> = files.iter().map(|f| (*f, "modified")).collect();
    let r = w.run_with("push", w.push_event(MERGE, &pushed), MERGE, &inputs);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(
        instances_in(&w, "111111111111", "acct-web"),
        "3",
        "web-1, web-2 and db"
    );
    assert_eq!(instances_in(&w, "222222222222", "acct-api"), "1");
    assert_eq!(instances_in(&w, "111111111111", "acct-api"), "0");
    assert_eq!(instances_in(&w, "222222222222", "acct-web"), "0");
    assert_eq!(
        instances_in(&w, "123456789012", "acct-web"),
        "0",
        "not the job's own account"
    );
}
