//! Changes a website survives, against moto: scaling keeps its servers,
//! renames are tag updates, data volumes are kept.

use ec2_gitops::ec2::Outcome;
use ec2_gitops::plan::Action;

use crate::engine::{Env, IMAGE, desired, instances_by_name, tag_filter};

fn site(stack: &str, web: &str) -> String {
    format!(
        r#"version: 1
stack: {stack}
region: us-east-1
security_groups:
  web:
    description: Public HTTP
    ingress:
      - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}
instances:
  web:
    image: {IMAGE}
    type: t3.micro
    security_groups: [web]
{web}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_one_to_three_to_one_keeps_the_first_server_all_along() {
    let env = Env::start();
    let one = site(
        "scale",
        "    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 5 }",
    );
    env.converge(&desired(&one)).await;
    let before = instances_by_name(&env.direct, "scale").await;
    let first = before["instance/web"][0].clone();

    let three = site(
        "scale",
        "    count: 3\n    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 5 }",
    );
    let plan = env.plan(&desired(&three)).await;
    let web1 = plan
        .changes
        .iter()
        .find(|c| c.resource.name == "web-1")
        .expect("web-1 planned");
    assert_eq!(web1.action, Action::Update, "{plan:#?}");
    assert_eq!(web1.live_id.as_deref(), Some(first.as_str()));
    assert_eq!(plan.summary.destroy, 0, "{plan:#?}");
    assert_eq!(plan.summary.replace, 0, "{plan:#?}");
    let calls_before = env.proxy.requests().len();
    env.converge(&desired(&three)).await;
    let after = instances_by_name(&env.direct, "scale").await;
    assert_eq!(after["instance/web-1"], vec![first.clone()], "{after:#?}");
    assert_eq!(after.len(), 3, "{after:#?}");
    // The rename itself is tag updates: the server and its root volume.
    let tags = env.proxy.requests()[calls_before..]
        .iter()
        .filter(|c| c.action == "CreateTags")
        .count();
    assert!(tags >= 2, "{:#?}", env.proxy.requests());

    let plan = env.plan(&desired(&one)).await;
    assert_eq!(
        plan.summary.destroy, 4,
        "web-2, web-3 and their volumes: {plan:#?}"
    );
    let calls_before = env.proxy.requests().len();
    env.converge(&desired(&one)).await;
    let back = instances_by_name(&env.direct, "scale").await;
    assert_eq!(back["instance/web"], vec![first], "{back:#?}");
    assert_eq!(back.len(), 1, "{back:#?}");
    // Both servers go in one TerminateInstances.
    let terminations: Vec<Vec<String>> = env.proxy.requests()[calls_before..]
        .iter()
        .filter(|r| r.action == "TerminateInstances")
        .map(|r| {
            r.param_list("InstanceId")
                .into_iter()
                .map(str::to_string)
                .collect()
        })
        .collect();
    assert_eq!(terminations.len(), 1, "{terminations:?}");
    assert_eq!(terminations[0].len(), 2, "{terminations:?}");
}

/// When the batched `TerminateInstances` fails, each instance is
/// terminated alone: the others go, and the report names the one EC2
/// refused, with its reason.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_termination_is_told_apart_from_the_ones_that_went() {
    let env = Env::start();
    env.converge(&desired(&site("batch", "    count: 4"))).await;
    let ids = instances_by_name(&env.direct, "batch").await;
    let stuck = ids["instance/web-3"][0].clone();
    let s = stuck.clone();
    env.proxy.set_hook(move |req| {
        (req.action == "TerminateInstances" && req.param_list("InstanceId").contains(&s.as_str()))
            .then(|| {
                crate::support::ProxyResponse::ec2_error(
                    400,
                    "OperationNotPermitted",
                    &format!("The instance '{s}' may not be terminated."),
                )
            })
    });
    let d = desired(&site("batch", "    count: 1"));
    let (plan, live, region) = ec2_gitops::app::plan(&env.ec2, &d).await.unwrap();
    let results = ec2_gitops::app::apply(
        &env.ec2,
        &d,
        &plan,
        &live,
        &region,
        &crate::engine::Recorder::default(),
    )
    .await;
    let report = ec2_gitops::render::report::text("batch", &results, 1.0);
    let failed: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.outcome, ec2_gitops::outcome::Outcome::Failed(_)))
        .map(|r| r.step.resource.to_string())
        .collect();
    assert_eq!(failed, ["instance.web-3"], "{report}");
    assert!(report.contains("may not be terminated"), "{report}");
    let left = instances_by_name(&env.direct, "batch").await;
    let mut names: Vec<&String> = left.keys().collect();
    names.sort();
    assert_eq!(names, ["instance/web", "instance/web-3"], "{left:#?}");
    // One batched call, then one call per instance.
    let calls: Vec<usize> = env
        .proxy
        .requests()
        .iter()
        .filter(|r| r.action == "TerminateInstances")
        .map(|r| r.param_list("InstanceId").len())
        .collect();
    assert_eq!(calls, [3, 1, 1, 1], "{calls:?}");

    env.proxy.clear_hook();
    env.converge(&d).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn renamed_from_renames_a_group_and_an_instance_in_place() {
    let env = Env::start();
    env.converge(&desired(&site("ren", ""))).await;
    let ids = instances_by_name(&env.direct, "ren").await;
    let server = ids["instance/web"][0].clone();

    let renamed = site("ren", "")
        .replace(
            "  web:\n    description",
            "  frontend:\n    renamed_from: web\n    description",
        )
        .replace("security_groups: [web]", "security_groups: [frontend]")
        .replace(
            "instances:\n  web:\n",
            "instances:\n  www:\n    renamed_from: web\n",
        );
    let d = desired(&renamed);
    let plan = env.plan(&d).await;
    assert!(
        plan.changes.iter().all(|c| c.action == Action::Update),
        "{plan:#?}"
    );
    assert_eq!(plan.changes.len(), 2, "{plan:#?}");
    let mark = env.proxy.requests().len();
    env.converge(&d).await;
    let writes: Vec<String> = env.proxy.requests()[mark..]
        .iter()
        .map(|c| c.action.clone())
        .filter(|a| !crate::support::is_read(a))
        .collect();
    assert!(
        writes.iter().all(|a| a == "CreateTags"),
        "a rename writes tags only: {writes:?}"
    );
    let ids = instances_by_name(&env.direct, "ren").await;
    assert_eq!(ids["instance/www"], vec![server]);
}

/// Snapshots of the stack in moto: (name tag, state, volume id, date tag).
async fn snapshots(c: &aws_sdk_ec2::Client, stack: &str) -> Vec<(String, String, String, String)> {
    let out = c
        .describe_snapshots()
        .owner_ids("self")
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap();
    let tag = |s: &aws_sdk_ec2::types::Snapshot, k: &str| {
        s.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .unwrap_or_default()
            .to_string()
    };
    let mut v: Vec<_> = out
        .snapshots()
        .iter()
        .map(|s| {
            (
                tag(s, "ec2-gitops:name"),
                s.state()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                s.volume_id().unwrap_or_default().to_string(),
                tag(s, "ec2-gitops:date"),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_data_volume_is_snapshotted_before_it_is_deleted() {
    let env = Env::start();
    let with = site(
        "snap",
        "    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 5 }\n      - { name: scratch, device: /dev/sdg, size_gb: 5, on_destroy: delete }",
    );
    env.converge(&desired(&with)).await;
    let vols = env
        .direct
        .describe_volumes()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:ec2-gitops:name")
                .values("volume/web/data")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let data = vols.volumes()[0].volume_id().unwrap().to_string();

    let without = site("snap", "");
    let plan = env.plan(&desired(&without)).await;
    let reasons: Vec<(String, String)> = plan
        .changes
        .iter()
        .map(|c| (c.resource.to_string(), c.reason.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "volume.web/data".to_string(),
                "no longer in the YAML: snapshot, then delete".to_string()
            ),
            (
                "volume.web/scratch".to_string(),
                "no longer in the YAML: its data is deleted (`on_destroy: delete`)".to_string()
            ),
        ]
    );
    let (_, results) = env.apply(&desired(&without)).await;
    let report = ec2_gitops::render::report::text("snap", &results, 1.0);
    let snaps = snapshots(&env.direct, "snap").await;
    assert_eq!(snaps.len(), 1, "only the data volume: {snaps:#?}");
    let (name, state, volume, date) = &snaps[0];
    assert_eq!(name, "snapshot/web/data");
    assert_eq!(state, "completed");
    assert_eq!(volume, &data);
    assert_eq!(date.len(), 10, "a YYYY-MM-DD date: {date}");
    let snap_id = env
        .direct
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap()
        .snapshots()
        .iter()
        .find(|s| s.volume_id() == Some(data.as_str()))
        .and_then(|s| s.snapshot_id())
        .unwrap()
        .to_string();
    assert!(
        report.contains(&snap_id),
        "the report names the snapshot: {report}"
    );
    // The snapshot is taken before the volume is detached and deleted.
    let order: Vec<String> = env
        .proxy
        .requests()
        .iter()
        .filter(|r| r.param("VolumeId") == Some(data.as_str()))
        .map(|r| r.action.clone())
        .filter(|a| ["CreateSnapshot", "DetachVolume", "DeleteVolume"].contains(&a.as_str()))
        .collect();
    assert_eq!(order, ["CreateSnapshot", "DetachVolume", "DeleteVolume"]);
    assert!(env.plan(&desired(&without)).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_destroyed_with_its_data_volume_is_terminated_before_the_snapshot() {
    let env = Env::start();
    let with = site(
        "gone",
        "    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 5 }",
    );
    env.converge(&desired(&with)).await;
    let instance = instances_by_name(&env.direct, "gone").await["instance/web"][0].clone();
    let without = "version: 1\nstack: gone\nregion: us-east-1\nsecurity_groups:\n  web:\n    description: Public HTTP\n    ingress:\n      - { protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }\n";
    let from = env.proxy.requests().len();
    let (_, results) = env.apply(&desired(without)).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, ec2_gitops::ec2::Outcome::Done(_))),
        "{results:#?}"
    );
    let snaps = snapshots(&env.direct, "gone").await;
    assert_eq!(snaps.len(), 1, "{snaps:#?}");
    let (name, state, volume, _) = &snaps[0];
    assert_eq!(
        (name.as_str(), state.as_str()),
        ("snapshot/web/data", "completed")
    );
    // The instance shuts down first (the volume it kept is unmounted
    // cleanly); the volume is never detached from it while it runs.
    let order: Vec<String> = env
        .proxy
        .requests()
        .iter()
        .skip(from)
        .filter(|r| {
            r.param("VolumeId") == Some(volume.as_str())
                || (r.action == "TerminateInstances"
                    && r.params.iter().any(|(_, v)| v == &instance))
        })
        .map(|r| r.action.clone())
        .filter(|a| a != "DescribeVolumes")
        .collect();
    assert_eq!(
        order,
        ["TerminateInstances", "CreateSnapshot", "DeleteVolume"]
    );
    assert!(env.plan(&desired(without)).await.is_empty());
}

/// The stop-to-running windows of each instance, from the request log:
/// `StopInstances` sent → `StartInstances` answered.
fn down_windows(
    requests: &[crate::support::ProxyRequest],
) -> Vec<(String, std::time::Duration, std::time::Duration)> {
    let mut out = Vec::new();
    for stop in requests.iter().filter(|r| r.action == "StopInstances") {
        for id in stop.param_list("InstanceId") {
            let start = requests
                .iter()
                .find(|r| {
                    r.action == "StartInstances"
                        && r.param_list("InstanceId").contains(&id)
                        && r.started > stop.started
                })
                .expect("each stopped instance is started again");
            out.push((id.to_string(), stop.started, start.finished));
        }
    }
    out
}

/// How many windows overlap at most.
fn most_down_at_once(w: &[(String, std::time::Duration, std::time::Duration)]) -> usize {
    w.iter()
        .map(|(_, a, _)| w.iter().filter(|(_, b, e)| b <= a && a < e).count())
        .max()
        .unwrap_or(0)
}

fn group_of_four(stack: &str, ty: &str, rollout: &str) -> String {
    site(stack, &format!("    count: 4\n{rollout}"))
        .replace("type: t3.micro", &format!("type: {ty}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_type_change_on_four_servers_never_has_two_stopped_at_once() {
    let env = Env::start();
    env.converge(&desired(&group_of_four("roll", "t3.micro", "")))
        .await;
    let mark = env.proxy.requests().len();
    let plan = env
        .plan(&desired(&group_of_four("roll", "t3.small", "")))
        .await;
    assert_eq!(plan.rollouts[0].batches.len(), 4, "{plan:#?}");
    env.converge(&desired(&group_of_four("roll", "t3.small", "")))
        .await;
    let requests = env.proxy.requests()[mark..].to_vec();
    let windows = down_windows(&requests);
    assert_eq!(windows.len(), 4, "{windows:#?}");
    assert_eq!(most_down_at_once(&windows), 1, "{windows:#?}");
    // Each next stop waits for the gate: a DescribeInstanceStatus between.
    for pair in windows.windows(2) {
        let between = requests.iter().any(|r| {
            r.action == "DescribeInstanceStatus" && r.started > pair[0].2 && r.started < pair[1].1
        });
        assert!(between, "{pair:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_percent_restarts_two_at_a_time() {
    let env = Env::start();
    let half = "    rollout: { max_unavailable: \"50%\", health: running }";
    env.converge(&desired(&group_of_four("half", "t3.micro", half)))
        .await;
    let mark = env.proxy.requests().len();
    env.converge(&desired(&group_of_four("half", "t3.small", half)))
        .await;
    let windows = down_windows(&env.proxy.requests()[mark..]);
    assert_eq!(windows.len(), 4);
    assert!(most_down_at_once(&windows) <= 2, "{windows:#?}");
    // web-3 and web-4 are stopped only after web-1 and web-2 are back.
    let first_two_back = windows.iter().take(2).map(|w| w.2).max().unwrap();
    assert!(
        windows.iter().skip(2).all(|w| w.1 > first_two_back),
        "{windows:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_refused_in_a_restart_batch_leaves_the_server_running_and_stops_the_rollout() {
    let env = Env::start();
    let two = "    rollout: { max_unavailable: 2, health: running }";
    env.converge(&desired(&group_of_four("refuse", "t3.micro", two)))
        .await;
    let ids = instances_by_name(&env.direct, "refuse").await;
    let refused = ids["instance/web-2"][0].clone();
    let r = refused.clone();
    // EC2 refuses web-2's new type (as it does for a type its AMI or zone
    // cannot run).
    env.proxy.set_hook(move |req| {
        (req.action == "ModifyInstanceAttribute" && req.param("InstanceId") == Some(r.as_str()))
            .then(|| {
                crate::support::ProxyResponse::ec2_error(
                    400,
                    "InvalidInstanceAttributeValue",
                    "The instance type is not supported for this instance.",
                )
            })
    });
    let d = desired(&group_of_four("refuse", "t3.small", two));
    let (plan, live, region) = ec2_gitops::app::plan(&env.ec2, &d).await.unwrap();
    let results = ec2_gitops::app::apply(
        &env.ec2,
        &d,
        &plan,
        &live,
        &region,
        &crate::engine::Recorder::default(),
    )
    .await;
    let outcome = |name: &str| {
        results
            .iter()
            .find(|x| x.step.resource.name == name)
            .map(|x| x.outcome.clone())
            .expect(name)
    };
    // One stop and one start for the batch of web-1 and web-2.
    let stops = env.proxy.requests_for("StopInstances");
    let starts = env.proxy.requests_for("StartInstances");
    assert_eq!(stops.len(), 1, "{stops:#?}");
    assert_eq!(stops[0].param_list("InstanceId").len(), 2);
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].param_list("InstanceId").len(), 2);
    assert!(matches!(outcome("web-1"), Outcome::Done(_)));
    match outcome("web-2") {
        Outcome::Failed(e) => {
            assert_eq!(e.code, "InvalidInstanceAttributeValue");
            assert!(e.message.contains("was started again"), "{}", e.message);
        }
        other => panic!("web-2: {other:?}"),
    }
    // The rollout stops at the batch: web-3 and web-4 not attempted.
    assert!(matches!(outcome("web-3"), Outcome::Skipped(_)));
    assert!(matches!(outcome("web-4"), Outcome::Skipped(_)));
    // Every server is running: the refused one with its old type.
    let out = env
        .direct
        .describe_instances()
        .filters(tag_filter("refuse"))
        .send()
        .await
        .unwrap();
    let states: Vec<(String, String, String)> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default(),
                i.instance_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        states.iter().all(|(_, state, _)| state == "running"),
        "{states:?}"
    );
    assert!(
        states
            .iter()
            .any(|(id, _, ty)| *id == refused && ty == "t3.micro"),
        "{states:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_health_gate_stops_the_rollout_and_a_rerun_finishes_it() {
    let env = Env::start();
    let fast = "    rollout: { timeout: 3s }";
    env.converge(&desired(&group_of_four("gate", "t3.micro", fast)))
        .await;
    let ids = instances_by_name(&env.direct, "gate").await;
    let sick = ids["instance/web-2"][0].clone();
    let s = sick.clone();
    // web-2's instance status stays `impaired`, as EC2 reports a server
    // whose checks fail; moto always says `ok`.
    env.proxy.set_hook(move |req| {
        (req.action == "DescribeInstanceStatus"
            && req.param_list("InstanceId").contains(&s.as_str()))
        .then(|| {
            crate::support::ProxyResponse::xml(
                200,
                format!(
                    "<DescribeInstanceStatusResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><instanceStatusSet><item><instanceId>{s}</instanceId><availabilityZone>us-east-1a</availabilityZone><instanceState><code>16</code><name>running</name></instanceState><systemStatus><status>ok</status></systemStatus><instanceStatus><status>impaired</status></instanceStatus></item></instanceStatusSet></DescribeInstanceStatusResponse>"
                ),
            )
        })
    });
    let d = desired(&group_of_four("gate", "t3.small", fast));
    let (plan, live, region) = ec2_gitops::app::plan(&env.ec2, &d).await.unwrap();
    let results = ec2_gitops::app::apply(
        &env.ec2,
        &d,
        &plan,
        &live,
        &region,
        &crate::engine::Recorder::default(),
    )
    .await;
    let report = ec2_gitops::render::report::text("gate", &results, 1.0);
    assert!(report.contains("FAILED"), "{report}");
    assert!(
        report.contains(&format!(
            "instance.web-2 ({sick}): state running, instance status impaired, system status ok"
        )),
        "{report}"
    );
    // Batches 3 and 4 were not touched.
    let stopped: Vec<String> = env
        .proxy
        .requests()
        .iter()
        .filter(|r| r.action == "StopInstances")
        .filter_map(|r| r.param("InstanceId.1").map(str::to_string))
        .collect();
    assert_eq!(stopped.len(), 2, "web-1 and web-2 only: {stopped:?}");
    assert!(!stopped.contains(&ids["instance/web-3"][0]));
    assert!(!stopped.contains(&ids["instance/web-4"][0]));

    env.proxy.clear_hook();
    let rest = env.plan(&d).await;
    let names: Vec<String> = rest
        .changes
        .iter()
        .map(|c| c.resource.name.clone())
        .collect();
    assert_eq!(names, ["web-3", "web-4"], "a rerun continues: {rest:#?}");
    env.converge(&d).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_a_rollout_then_rerun_converges_with_no_duplicate_and_the_data_kept() {
    use crate::crash::{apply_killed_at, census, run, text};
    let moto = crate::support::Moto::start();
    let proxy = crate::support::Ec2Proxy::start(&moto.endpoint());
    let direct = moto.ec2_client("us-east-1");
    let dir = tempfile::tempdir().unwrap();
    let data = "    count: 2\n    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 5 }";
    // Killed while the second batch waits for health, while the old server
    // is stopped, and as its volume moves.
    for (i, kill_on) in ["DescribeInstanceStatus", "StopInstances", "AttachVolume"]
        .into_iter()
        .enumerate()
    {
        let stack = format!("rk{i}");
        let file = dir.path().join(format!("{stack}.yaml"));
        let file = file.to_str().unwrap().to_string();
        std::fs::write(&file, site(&stack, data)).unwrap();
        let first = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
        assert!(first.status.success(), "{}", text(&first));
        let volumes_before = volume_ids(&direct, &stack).await;
        std::fs::write(
            &file,
            site(&stack, data).replace(IMAGE, crate::engine::IMAGE_2),
        )
        .unwrap();
        let (ok, during) = apply_killed_at(&proxy, &file, 2, move |r| r.action == kill_on);
        assert!(!ok && during == kill_on, "killed during {during:?}");
        let rerun = run(&proxy.endpoint(), &["apply", &file, "--auto-approve"]);
        assert!(
            rerun.status.success(),
            "rerun after {kill_on}: {}",
            text(&rerun)
        );
        let plan = run(&proxy.endpoint(), &["plan", &file, "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
        let ids = instances_by_name(&direct, &stack).await;
        assert_eq!(ids.len(), 2, "{ids:#?}");
        assert!(ids.values().all(|v| v.len() == 1), "one per name: {ids:#?}");
        let (_, untagged) = census(&direct, &stack).await;
        assert_eq!(untagged, 0);
        assert_eq!(
            volume_ids(&direct, &stack).await,
            volumes_before,
            "the data volumes are the same volumes (killed during {kill_on})"
        );
    }
}

/// Data volume ids of a stack by name (root volumes left out).
async fn volume_ids(
    c: &aws_sdk_ec2::Client,
    stack: &str,
) -> std::collections::BTreeMap<String, String> {
    let out = c
        .describe_volumes()
        .filters(tag_filter(stack))
        .send()
        .await
        .unwrap();
    out.volumes()
        .iter()
        .filter_map(|v| {
            let name = v
                .tags()
                .iter()
                .find(|t| t.key() == Some("ec2-gitops:name"))?
                .value()?
                .to_string();
            let id = v.volume_id()?.to_string();
            (!name.ends_with("/root")).then_some((name, id))
        })
        .collect()
}
