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
    w.merged(7, HEAD, MERGE, &files);
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
    // Both stack files are new: GitHub has no base version of them, which
    // is how the action knows neither moved between accounts.
    let absent = w.gh.take_unexpected();
    assert_eq!(absent.len(), 4, "{absent:#?}");
    assert!(
        absent
            .iter()
            .all(|r| r.starts_with("GET /repos/octo/infra/contents/infra/")
                && r.ends_with("404 Not Found")),
        "{absent:#?}"
    );
    assert_eq!(
        instances_in(&w, "123456789012", "acct-web"),
        "0",
        "not the job's own account"
    );
}

/// A stack `acct-mv` of one server in `account` (none: an empty stack).
fn moving_stack(account: &str, servers: bool) -> String {
    let mut yaml = format!("version: 1\nstack: acct-mv\nregion: us-east-1\naccount: {account}\n");
    if servers {
        yaml.push_str(&format!(
            "instances:\n  api:\n    image: {IMAGE}\n    type: t3.micro\n"
        ));
    }
    yaml
}

/// Pull request `n` (head `head`) changing the stack to `yaml` onto
/// `base`, planned; returns the run.
fn plan_change(w: &World, n: u64, head: &str, base: &str, yaml: &str) -> super::Run {
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: n,
            head_sha: head.into(),
            base_sha: base.into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..PullSpec::default()
        },
    );
    w.write_stack(yaml);
    w.run_with(
        "pull_request",
        w.pr_event("opened", n, head),
        head,
        &[("INPUT_ACCOUNTS", ACCOUNTS)],
    )
}

/// Merges pull request `n` as `merge` onto `before` and runs the push.
fn merge_change(w: &World, n: u64, head: &str, (before, merge): (&str, &str)) -> super::Run {
    w.merged(n, head, merge, &["infra/web.yaml"]);
    let mut push = w.push_event(merge, &[("infra/web.yaml", "modified")]);
    push["before"] = serde_json::json!(before);
    w.run_with("push", push, merge, &[("INPUT_ACCOUNTS", ACCOUNTS)])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_moves_between_accounts_by_a_destroy_there_then_a_create_here_each_reviewed() {
    let sha = |c: char| c.to_string().repeat(40);
    let w = World::new("acct-mv");
    // The stack lives in `dev`: one server there.
    let r = plan_change(&w, 7, &sha('a'), &sha('0'), &moving_stack("dev", true));
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let r = merge_change(&w, 7, &sha('a'), (&sha('0'), &sha('b')));
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(instances_in(&w, "111111111111", "acct-mv"), "1");

    // A pull request moves it to `production` in one step: the plan says
    // that `dev` still holds it and how to move, and nothing is planned.
    w.gh.set_file(
        REPO,
        &sha('b'),
        "infra/web.yaml",
        moving_stack("dev", true).as_bytes(),
    );
    w.proxy.clear();
    let r = plan_change(
        &w,
        8,
        &sha('c'),
        &sha('b'),
        &moving_stack("production", true),
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let body = &w.bot_comments(8)[0].body;
    assert!(body.contains("could not be planned"), "{body}");
    assert!(
        body.contains("this change moves the stack from account `dev` to account `production`, and account `dev` still holds 1 of its resources"),
        "{body}"
    );
    assert!(
        body.contains("first merge the stack with its resources removed"),
        "{body}"
    );
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "{:?}",
        w.mutating_ec2_calls()
    );
    // The merge queue's gate refuses it too.
    let entry = w.gh.enqueue(REPO, "main", &sha('b'), &[8]).remove(0);
    let payload =
        crate::support::webhooks::merge_group(&entry.head_ref, &entry.head_sha, &sha('b'));
    let r = w.run_at(
        "merge_group",
        payload,
        &entry.head_sha,
        Some(&entry.head_sha),
        &[("INPUT_ACCOUNTS", ACCOUNTS)],
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let check = &w.gh.check_runs(&entry.head_sha)[0];
    assert_eq!(check.conclusion.as_deref(), Some("failure"));
    assert!(
        check.text.contains("still holds 1 of its resources"),
        "{}",
        check.text
    );
    w.gh.dequeue(REPO, &entry);
    // Merged all the same: not applied, in neither account.
    let r = merge_change(&w, 8, &sha('c'), (&sha('b'), &sha('d')));
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let told = w.bot_comments(8).last().unwrap().body.clone();
    assert!(told.contains("still holds 1 of its resources"), "{told}");
    assert!(
        r.summary.contains("still holds 1 of its resources"),
        "{}",
        r.text()
    );
    assert_eq!(instances_in(&w, "222222222222", "acct-mv"), "0");
    assert_eq!(instances_in(&w, "111111111111", "acct-mv"), "1");

    // Step one: the server removed while the stack names `dev` destroys it there.
    w.gh.set_file(
        REPO,
        &sha('d'),
        "infra/web.yaml",
        moving_stack("dev", true).as_bytes(),
    );
    let r = plan_change(&w, 9, &sha('e'), &sha('d'), &moving_stack("dev", false));
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let r = merge_change(&w, 9, &sha('e'), (&sha('d'), &sha('f')));
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(instances_in(&w, "111111111111", "acct-mv"), "0");

    // Step two: the move, called out, creates it in `production`.
    w.gh.set_file(
        REPO,
        &sha('f'),
        "infra/web.yaml",
        moving_stack("dev", false).as_bytes(),
    );
    let r = plan_change(
        &w,
        10,
        &sha('1'),
        &sha('f'),
        &moving_stack("production", true),
    );
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let body = &w.bot_comments(10)[0].body;
    assert!(
        body.contains("the stack moves from account `dev` to account `production`: nothing of it is left in the old account"),
        "{body}"
    );
    let r = merge_change(&w, 10, &sha('1'), (&sha('f'), &sha('2')));
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_eq!(instances_in(&w, "222222222222", "acct-mv"), "1");
    assert_eq!(instances_in(&w, "111111111111", "acct-mv"), "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dev_stack_moved_to_an_account_mapped_only_for_production_is_shown_as_such() {
    let bound = "dev: { role: \"arn:aws:iam::111111111111:role/deploy\", environments: [dev] }\nproduction: { role: \"arn:aws:iam::222222222222:role/deploy\", environments: [production] }\n";
    let w = World::new("acct-env");
    w.gh.add_pull(
        REPO,
        PullSpec {
            number: 12,
            head_sha: HEAD.into(),
            files: vec![("infra/web.yaml".into(), "modified".into())],
            ..PullSpec::default()
        },
    );
    // The stack of environment `dev` asks for the production account.
    w.write_stack(&format!(
        "version: 1\nstack: acct-env\nregion: us-east-1\nenvironment: dev\naccount: production\ninstances:\n  api:\n    image: {IMAGE}\n    type: t3.micro\n"
    ));
    let r = w.run_with(
        "pull_request",
        w.pr_event("opened", 12, HEAD),
        HEAD,
        &[("INPUT_ACCOUNTS", bound)],
    );
    assert_eq!(r.code(), Some(1), "{}", r.text());
    let body = &w.bot_comments(12)[0].body;
    assert!(body.contains("could not be planned"), "{body}");
    assert!(
        body.contains("stack acct-env of environment `dev` names account `production`, which the trusted configuration maps only for environment `production`"),
        "{body}"
    );
    assert!(
        w.proxy.actions().is_empty(),
        "refused before any call: {:?}",
        w.proxy.actions()
    );
    assert_eq!(
        w.gh.check_runs(HEAD)[0].conclusion.as_deref(),
        Some("failure")
    );
}
