//! How sequential an apply is, from the causal trace of its EC2 calls
//! (`EC2_GITOPS_CALL_TRACE`), against moto: what each call waited for, and
//! the longest chain of calls that waited for each other.

use std::collections::{BTreeMap, BTreeSet};

use crate::crash::{command, text};
use crate::engine::stack_yaml;
use crate::support::call_trace::{self, Call};
use crate::support::{Ec2Proxy, Moto};

/// The calls of `action`.
fn of<'a>(calls: &'a [Call], action: &'a str) -> impl Iterator<Item = &'a Call> + 'a {
    calls.iter().filter(move |c| c.action == action)
}

/// Every call a call waited for, directly or through others.
fn waited_for<'a>(calls: &'a [Call], of: &Call) -> Vec<&'a Call> {
    let by_number: BTreeMap<u64, &Call> = calls.iter().map(|c| (c.call, c)).collect();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<u64> = of.after.clone();
    while let Some(n) = todo.pop() {
        if seen.insert(n) {
            todo.extend(&by_number[&n].after);
        }
    }
    seen.iter().map(|n| by_number[n]).collect()
}

#[test]
fn an_apply_traces_each_call_after_what_it_waited_for_and_its_longest_chain_is_the_dependency_depth()
 {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = dir.path().join("seq.yaml");
    std::fs::write(&yaml, stack_yaml("seq")).expect("write the stack");
    let trace = dir.path().join("calls.jsonl");
    let out = command(
        &proxy.endpoint(),
        &[
            "apply",
            "--auto-approve",
            yaml.to_str().expect("utf-8 path"),
        ],
    )
    .env("EC2_GITOPS_CALL_TRACE", &trace)
    .output()
    .expect("run ec2-gitops");
    assert!(out.status.success(), "{}", text(&out));
    let calls = call_trace::read(&trace);

    // Every request moto saw is a traced call, once.
    let mut seen: Vec<String> = proxy.requests().iter().map(|r| r.action.clone()).collect();
    let mut traced: Vec<String> = calls.iter().map(|c| c.action.clone()).collect();
    seen.sort();
    traced.sort();
    assert_eq!(traced, seen, "the trace and the requests moto saw differ");

    // The longest chain of calls that waited for each other, without the
    // polls of waits: the dependency depth of this stack, whatever moto's
    // speed. A timing chain may count the plan's reads twice or more.
    let chain: Vec<(&str, &str)> = call_trace::longest_chain(&calls, false)
        .iter()
        .map(|c| (c.action.as_str(), c.purpose.as_str()))
        .collect();
    let shown = format!("{chain:#?}");
    assert_eq!(chain.len(), 8, "{shown}");
    assert!(
        chain[0].0.starts_with("Describe") && chain[0].1 == "plan: read",
        "{shown}"
    );
    assert_eq!(chain[1], ("CreateKeyPair", "apply lease: take"), "{shown}");
    assert!(
        chain[2].0.starts_with("Describe") && chain[2].1 == "plan: read",
        "{shown}"
    );
    assert!(
        ["ImportKeyPair", "CreateSecurityGroup"].contains(&chain[3].0),
        "{shown}"
    );
    // Then a launch and what follows it: db's data volume (created,
    // attached), or web's batch named and web-1's address associated.
    let rest: Vec<&str> = chain[4..].iter().map(|c| c.0).collect();
    assert!(
        rest == [
            "RunInstances",
            "CreateVolume",
            "AttachVolume",
            "DeleteKeyPair"
        ] || rest
            == [
                "RunInstances",
                "CreateTags",
                "AssociateAddress",
                "DeleteKeyPair"
            ],
        "{shown}"
    );
    assert_eq!(chain[7].1, "apply lease: give back", "{shown}");

    // What each call waited for is what the engine promises.
    let lease_taken = of(&calls, "CreateKeyPair")
        .next()
        .expect("the lease is taken");
    let lease_given_back = of(&calls, "DeleteKeyPair")
        .next()
        .expect("the lease is given back");
    let actions = |cs: Vec<&Call>| -> Vec<String> { cs.iter().map(|c| c.action.clone()).collect() };
    for change in calls
        .iter()
        .filter(|c| !crate::support::is_read(&c.action) && !c.purpose.starts_with("apply lease"))
    {
        // Nothing changes before the lease is held, and the lease is held
        // until every change was answered.
        let before = waited_for(&calls, change);
        assert!(
            before.iter().any(|c| c.call == lease_taken.call),
            "{change:?} was not sent after the lease was taken: {:?}",
            actions(before)
        );
        assert!(
            waited_for(&calls, lease_given_back)
                .iter()
                .any(|c| c.call == change.call),
            "the lease was given back before {change:?} was answered"
        );
    }
    for launch in of(&calls, "RunInstances") {
        let before = actions(waited_for(&calls, launch));
        // Its group and key pair exist; the rules its group gains are set
        // while it starts (only rules a group loses are waited for).
        for needed in ["CreateSecurityGroup", "ImportKeyPair"] {
            assert!(
                before.iter().any(|a| a == needed),
                "{launch:?} before {needed}: {before:?}"
            );
        }
        assert!(
            !before.iter().any(|a| a == "AuthorizeSecurityGroupIngress"),
            "{launch:?} waited for a rule its group gains: {before:?}"
        );
    }
    // The elastic IP brings traffic: associated once its instance runs and
    // its group's rules are set.
    let associate = of(&calls, "AssociateAddress")
        .next()
        .expect("the address is associated");
    let before = waited_for(&calls, associate);
    assert!(
        before
            .iter()
            .any(|c| c.action == "AuthorizeSecurityGroupIngress"
                && c.purpose.ends_with("security_group.web")),
        "{associate:?} before the web group's rules: {:?}",
        actions(before.clone())
    );
    assert!(
        before
            .iter()
            .any(|c| c.action == "DescribeInstances" && c.poll),
        "{associate:?} before a poll saw its instance run: {:?}",
        actions(before)
    );
}
