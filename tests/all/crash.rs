//! The real binary, killed with SIGKILL in the middle of an apply, then run
//! again: the stack converges with no duplicate and no untagged leftover.
//! Also the command line's refusals: a changed plan, no terminal to confirm.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_ec2::types::Filter;

use crate::engine::{instances_by_name, stack_yaml};
use crate::support::{Ec2Proxy, Moto, ProxyRequest};

const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");

pub(crate) fn command(endpoint: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null());
    c
}

pub(crate) fn run(endpoint: &str, args: &[&str]) -> Output {
    command(endpoint, args).output().expect("run ec2-gitops")
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Counts resources of `stack` per name tag, and resources with no tag at all.
pub(crate) async fn census(
    c: &aws_sdk_ec2::Client,
    stack: &str,
) -> (BTreeMap<String, usize>, usize) {
    let filter = Filter::builder()
        .name("tag:ec2-gitops:stack")
        .values(stack)
        .build();
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    let name_of = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter()
            .find(|t| t.key() == Some("ec2-gitops:name"))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    let mut instance_names: BTreeMap<String, String> = BTreeMap::new();
    for (name, ids) in instances_by_name(c, stack).await {
        *by_name.entry(name.clone()).or_default() += ids.len();
        for id in ids {
            instance_names.insert(id, name.clone());
        }
    }
    let vols = c
        .describe_volumes()
        .filters(filter.clone())
        .send()
        .await
        .unwrap();
    for v in vols.volumes() {
        // The root volume of an instance launched in a batch carries the
        // batch's launch tag, not a name: it is named after its instance.
        let launched = v
            .tags()
            .iter()
            .any(|t| t.key() == Some("ec2-gitops:launch"));
        let root_of = v
            .attachments()
            .iter()
            .find_map(|a| instance_names.get(a.instance_id()?))
            .filter(|_| launched)
            .map(|i| format!("{}/root", i.replacen("instance/", "volume/", 1)));
        *by_name
            .entry(name_of(v.tags()).or(root_of).unwrap_or_default())
            .or_default() += 1;
    }
    let groups = c
        .describe_security_groups()
        .filters(filter.clone())
        .send()
        .await
        .unwrap();
    for g in groups.security_groups() {
        *by_name
            .entry(name_of(g.tags()).unwrap_or_default())
            .or_default() += 1;
    }
    let addrs = c
        .describe_addresses()
        .filters(filter.clone())
        .send()
        .await
        .unwrap();
    for a in addrs.addresses() {
        *by_name
            .entry(name_of(a.tags()).unwrap_or_default())
            .or_default() += 1;
    }
    let keys = c.describe_key_pairs().filters(filter).send().await.unwrap();
    for k in keys.key_pairs() {
        *by_name
            .entry(name_of(k.tags()).unwrap_or_default())
            .or_default() += 1;
    }
    // Anything without the stack tag: made by a run and left untagged.
    let mut untagged = 0;
    let all = c
        .describe_instances()
        .max_results(1000)
        .send()
        .await
        .unwrap();
    for i in all.reservations().iter().flat_map(|r| r.instances()) {
        let terminated = i.state().and_then(|s| s.name()).map(|s| s.as_str()) == Some("terminated");
        if !terminated && !i.tags().iter().any(|t| t.key() == Some("ec2-gitops:stack")) {
            untagged += 1;
        }
    }
    let all = c.describe_volumes().send().await.unwrap();
    untagged += all
        .volumes()
        .iter()
        .filter(|v| !v.tags().iter().any(|t| t.key() == Some("ec2-gitops:stack")))
        .count();
    let all = c.describe_addresses().send().await.unwrap();
    untagged += all
        .addresses()
        .iter()
        .filter(|a| !a.tags().iter().any(|t| t.key() == Some("ec2-gitops:stack")))
        .count();
    (by_name, untagged)
}

/// Runs `apply FILE --auto-approve` through `proxy` and SIGKILLs it when
/// the `nth` request that `counts` arrives (that request still reaches moto:
/// its answer is lost). Whether it exited successfully, and the action it
/// was killed during (empty when the kill never happened).
pub(crate) fn apply_killed_at(
    proxy: &Ec2Proxy,
    file: &str,
    nth: usize,
    counts: impl Fn(&ProxyRequest) -> bool + Send + Sync + 'static,
) -> (bool, String) {
    let pid = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let during = Arc::new(Mutex::new(String::new()));
    {
        let (pid, seen, during) = (pid.clone(), seen.clone(), during.clone());
        proxy.set_hook(move |req| {
            if counts(req) && seen.fetch_add(1, Ordering::SeqCst) + 1 == nth {
                *during.lock().unwrap() = req.action.clone();
                let p = pid.load(Ordering::SeqCst);
                let _ = Command::new("kill").args(["-9", &p.to_string()]).status();
            }
            None
        });
    }
    let mut child = command(&proxy.endpoint(), &["apply", file, "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    pid.store(child.id(), Ordering::SeqCst);
    let status = child.wait().unwrap();
    proxy.clear_hook();
    let during = during.lock().unwrap().clone();
    (status.success(), during)
}

fn write_stack(dir: &Path, stack: &str) -> String {
    let path = dir.join(format!("{stack}.yaml"));
    std::fs::write(&path, stack_yaml(stack)).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_apply_then_rerun_converges_without_duplicates() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();

    // A full create of the stack makes 12 mutating calls: kill at several
    // points across it (after the request left, before the answer came).
    for kill_at in [1usize, 2, 4, 6, 7, 9, 10, 11, 12] {
        let stack = format!("kill{kill_at}");
        let file = write_stack(dir.path(), &stack);
        let (ok, during) = apply_killed_at(&proxy, &file, kill_at, |req| {
            !crate::support::is_read(&req.action)
        });
        assert!(
            !ok && !during.is_empty(),
            "kill at call {kill_at} did not happen"
        );

        let rerun = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
        assert!(
            rerun.status.success(),
            "rerun after a kill during {during}: {}",
            text(&rerun)
        );
        let plan = run(&proxy.endpoint(), &["plan", &file, "--detailed-exitcode"]);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "plan after rerun (killed during {during}): {}",
            text(&plan)
        );

        let (by_name, untagged) = census(&direct, &stack).await;
        let dups: Vec<_> = by_name.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            dups.is_empty(),
            "killed during {during}: duplicates {dups:?}"
        );
        assert_eq!(by_name.len(), 11, "killed during {during}: {by_name:?}"); // 8 + 3 root volumes
        assert_eq!(untagged, 0, "killed during {during}: untagged leftovers");
        // Each stack allocates an elastic IP; the region's quota is 5.
        moto.reset();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_refuses_a_plan_that_changed_since_review_and_changes_nothing() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let file = write_stack(dir.path(), "review");
    let plan_json = dir.path().join("plan.json");
    let plan_json = plan_json.to_str().unwrap();

    let first = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
    assert!(first.status.success(), "{}", text(&first));
    // Reviewed: a type change.
    std::fs::write(
        &file,
        stack_yaml("review").replace("type: t3.small", "type: t3.medium"),
    )
    .unwrap();
    let reviewed = run(
        &proxy.endpoint(),
        &["plan", &file, "--out", plan_json, "--format", "json"],
    );
    assert!(reviewed.status.success(), "{}", text(&reviewed));

    // Someone tags db by hand after review: the live state moved.
    let db = instances_by_name(&direct, "review").await["instance/db"][0].clone();
    direct
        .create_tags()
        .resources(&db)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("owner")
                .value("alice")
                .build(),
        )
        .send()
        .await
        .unwrap();
    proxy.clear();
    let refused = run(&proxy.endpoint(), &["apply", &file, "--plan", plan_json]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the plan changed since it was reviewed"),
        "{stderr}"
    );
    assert!(stderr.contains("instance.db"), "{stderr}");
    let mutating: Vec<String> = proxy
        .actions()
        .into_iter()
        .filter(|a| !crate::support::is_read(a))
        .collect();
    assert!(
        mutating.is_empty(),
        "refused apply still called {mutating:?}"
    );

    // Without --auto-approve and no terminal: refuse, change nothing.
    let no_tty = run(&proxy.endpoint(), &["apply", &file]);
    assert_eq!(no_tty.status.code(), Some(1), "{}", text(&no_tty));
    assert!(
        String::from_utf8_lossy(&no_tty.stderr).contains("--auto-approve"),
        "{}",
        text(&no_tty)
    );
    let mutating: Vec<String> = proxy
        .actions()
        .into_iter()
        .filter(|a| !crate::support::is_read(a))
        .collect();
    assert!(
        mutating.is_empty(),
        "unconfirmed apply still called {mutating:?}"
    );

    // Re-planned and reviewed again: applies.
    let reviewed = run(
        &proxy.endpoint(),
        &["plan", &file, "--out", plan_json, "--format", "json"],
    );
    assert!(reviewed.status.success());
    let applied = run(&proxy.endpoint(), &["apply", &file, "--plan", plan_json]);
    assert!(applied.status.success(), "{}", text(&applied));
    let again = run(&proxy.endpoint(), &["plan", &file, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_a_replace_then_rerun_leaves_one_instance_per_name() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();

    // Killed after the new instance was launched (old one still there), and
    // after the old one's termination was sent.
    for (i, kill_on) in ["RunInstances", "TerminateInstances"]
        .into_iter()
        .enumerate()
    {
        let stack = format!("repl{i}");
        let file = write_stack(dir.path(), &stack);
        let first = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
        assert!(first.status.success(), "{}", text(&first));
        std::fs::write(
            &file,
            stack_yaml(&stack).replace(
                "  web:\n    count: 2",
                &format!(
                    "  web:\n    count: 2\n    image: {}",
                    crate::engine::IMAGE_2
                ),
            ),
        )
        .unwrap();

        let (ok, during) = apply_killed_at(&proxy, &file, 1, move |req| req.action == kill_on);
        assert!(!ok && !during.is_empty(), "no kill on {kill_on}");

        let rerun = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
        assert!(
            rerun.status.success(),
            "rerun after a kill on {kill_on}: {}",
            text(&rerun)
        );
        let plan = run(&proxy.endpoint(), &["plan", &file, "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
        let by_name = instances_by_name(&direct, &stack).await;
        assert!(
            by_name.values().all(|ids| ids.len() == 1) && by_name.len() == 3,
            "killed on {kill_on}: {by_name:?}"
        );
        moto.reset();
    }
}
