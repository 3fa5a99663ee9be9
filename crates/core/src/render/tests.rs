//! Snapshots of everything a person reads about a plan or an apply, built
//! from fixed plan values (no planner, no clock, no EC2).

use std::time::Duration;

use super::markdown::COMMENT_LIMIT;
use super::{json, markdown, report, summary_line, text};
use crate::model::{Kind, Location, ResourceId};
use crate::outcome::{Ec2Error, Outcome, StepResult};
use crate::plan::steps::{Op, Ref, Step};
use crate::plan::{
    Action, Change, Effect, FORMAT_VERSION, Field, FieldChange, Plan, PlanError, Summary, Value,
    Warning,
};

// ---------------------------------------------------------------- helpers ---

/// Snapshots Markdown a reviewer reads once GitHub's own engine has rendered
/// it without a problem (see [`crate::render::tests::gfm`]).
macro_rules! assert_rendered {
    ($name:expr, $md:expr) => {{
        let md: String = $md;
        let problems = crate::render::tests::gfm::problems(&md);
        assert!(
            problems.is_empty(),
            "as GitHub renders it: {problems:#?}\n{md}"
        );
        insta::assert_snapshot!($name, md);
    }};
    ($md:expr) => {{
        let md: String = $md;
        let problems = crate::render::tests::gfm::problems(&md);
        assert!(
            problems.is_empty(),
            "as GitHub renders it: {problems:#?}\n{md}"
        );
        insta::assert_snapshot!(md);
    }};
}

fn id(kind: Kind, name: &str) -> ResourceId {
    ResourceId::new(kind, name)
}

fn text_value(s: &str) -> Value {
    Value::Text(s.into())
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| s.to_string()).collect())
}

fn field(name: &str, before: Value, after: Value, effect: Effect, reason: &str) -> FieldChange {
    FieldChange {
        field: Field::from_name(name).expect("a field name"),
        before,
        after,
        effect,
        reason: reason.into(),
    }
}

fn change(resource: ResourceId, action: Action, live_id: Option<&str>) -> Change {
    Change {
        resource,
        action,
        live_id: live_id.map(String::from),
        fields: vec![],
        reason: None,
        blocked: None,
    }
}

fn plan(changes: Vec<Change>, warnings: Vec<Warning>, errors: Vec<PlanError>) -> Plan {
    let mut summary = Summary {
        unchanged: 4,
        ..Summary::default()
    };
    for c in &changes {
        summary.blocked += usize::from(c.blocked.is_some());
        match c.action {
            Action::NoOp => {}
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::UpdateWithRestart => {
                summary.update += 1;
                summary.restart += 1;
            }
            Action::Replace => summary.replace += 1,
            Action::Destroy => summary.destroy += 1,
        }
    }
    Plan {
        format_version: FORMAT_VERSION,
        stack: "web".into(),
        region: "us-east-1".into(),
        file: "infra/web.yaml".into(),
        fingerprint: "0123456789abcdef".into(),
        summary,
        changes,
        warnings,
        errors,
        rollouts: vec![],
        graph: Default::default(),
    }
}

/// A plan with every action kind, a warning, a blocked replace, a short and
/// a long (folded) list diff, and user data shown by digest.
fn full_plan() -> Plan {
    let mut rules: Vec<String> = (0..12)
        .map(|i| format!("tcp {} 10.0.{i}.0/24", 8000 + i))
        .collect();
    rules.sort();
    let before: Vec<&str> = rules.iter().map(String::as_str).collect();
    let mut after_rules = rules.clone();
    after_rules.retain(|r| !r.starts_with("tcp 8003 "));
    after_rules.push("tcp 22 0.0.0.0/0".into());
    after_rules.push("tcp 443 0.0.0.0/0".into());
    after_rules.sort();
    let after: Vec<&str> = after_rules.iter().map(String::as_str).collect();

    let mut api = change(
        id(Kind::SecurityGroup, "api"),
        Action::Update,
        Some("sg-0api"),
    );
    api.fields = vec![
        field(
            "ingress",
            list(&before),
            list(&after),
            Effect::InPlace,
            "rules are authorized and revoked in place",
        ),
        field(
            "egress",
            list(&["all all 0.0.0.0/0"]),
            list(&["tcp 443 0.0.0.0/0", "udp 53 10.0.0.2/32"]),
            Effect::InPlace,
            "rules are authorized and revoked in place",
        ),
    ];
    let mut web_sg = change(
        id(Kind::SecurityGroup, "web"),
        Action::Update,
        Some("sg-0web"),
    );
    web_sg.fields = vec![field(
        "ingress",
        list(&["tcp 80 0.0.0.0/0"]),
        list(&["tcp 443 0.0.0.0/0", "tcp 80 0.0.0.0/0"]),
        Effect::InPlace,
        "rules are authorized and revoked in place",
    )];
    let mut db = change(id(Kind::Instance, "db-1"), Action::Replace, Some("i-0db1"));
    db.fields = vec![field(
        "image",
        text_value("ami-0aaa"),
        text_value("ami-0bbb"),
        Effect::Replace,
        "an instance boots from its image once: a new image needs a new instance",
    )];
    db.blocked = Some(
        "protected: `protect: true` forbids replacing this resource; revert the change or set `protect: false` first"
            .into(),
    );
    let mut web1 = change(
        id(Kind::Instance, "web-1"),
        Action::UpdateWithRestart,
        Some("i-0web1"),
    );
    web1.fields = vec![
        field(
            "type",
            text_value("t3.micro"),
            text_value("t3.small"),
            Effect::Restart,
            "EC2 changes the instance type only while the instance is stopped",
        ),
        field(
            "user_data",
            Value::Digest {
                sha256: "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef".into(),
                bytes: 0,
            },
            Value::Digest {
                sha256: "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c".into(),
                bytes: 412,
            },
            Effect::Restart,
            "EC2 changes user data only while the instance is stopped (cloud-init runs it again only if it is written to)",
        ),
        field(
            "tags",
            list(&["role=web"]),
            list(&["env=prod", "role=web"]),
            Effect::InPlace,
            "tags change in place",
        ),
    ];
    let mut web2 = change(
        id(Kind::Instance, "web-2"),
        Action::Replace,
        Some("i-0web2"),
    );
    web2.fields = vec![
        field(
            "subnet",
            text_value("subnet-0a"),
            text_value("subnet-0b"),
            Effect::Replace,
            "an instance cannot move to another subnet",
        ),
        field(
            "protect",
            text_value("false"),
            text_value("true"),
            Effect::InPlace,
            "termination protection is switched in place",
        ),
    ];
    let mut eip = change(
        id(Kind::ElasticIp, "web-ip"),
        Action::Update,
        Some("eipalloc-0a"),
    );
    eip.fields = vec![field(
        "instance",
        Value::None,
        text_value("web-2 (new)"),
        Effect::InPlace,
        "the address is re-associated in place (its IP is kept)",
    )];
    let mut old = change(
        id(Kind::Instance, "old-1"),
        Action::Destroy,
        Some("i-0old1"),
    );
    old.reason = Some("no longer in the YAML".into());
    let mut data = change(
        id(Kind::Volume, "old-1/data"),
        Action::Destroy,
        Some("vol-0data"),
    );
    data.reason = Some("no longer in the YAML: its data is deleted".into());
    plan(
        vec![
            change(id(Kind::KeyPair, "deploy"), Action::Create, None),
            api,
            web_sg,
            db,
            web1,
            web2,
            change(id(Kind::Instance, "web-3"), Action::Create, None),
            eip,
            old,
            data,
        ],
        vec![Warning {
            resource: id(Kind::SecurityGroup, "api"),
            message: "`tcp 22 0.0.0.0/0` opens 22 (SSH) to the whole internet; restrict `cidr` to your admin network or use a bastion group with `from:`".into(),
            at: None,
        }],
        vec![],
    )
}

fn empty_plan() -> Plan {
    let mut p = plan(vec![], vec![], vec![]);
    p.fingerprint = "fedcba9876543210".into();
    p
}

fn error_plan() -> Plan {
    plan(
        vec![],
        vec![],
        vec![
            PlanError {
                resource: id(Kind::Instance, "web-1"),
                at: Some(Location {
                    file: "infra/web.yaml".into(),
                    line: 31,
                    column: 5,
                }),
                message: "image ami-0nope does not exist in us-east-1 (or is not visible to this account)".into(),
                hint: Some("AMI ids differ per region: look the image up in this region".into()),
            },
            PlanError {
                resource: id(Kind::Volume, "db-1/data"),
                at: None,
                message: "volume db-1/data cannot shrink from 100 GiB to 50 GiB".into(),
                hint: None,
            },
        ],
    )
}

// ---------------------------------------------------------- terminal text ---

#[test]
fn summary_line_counts_restarts_and_blocked() {
    assert_eq!(
        summary_line(&full_plan().summary),
        "Plan: 2 to create, 4 to update (1 restart), 2 to replace, 2 to destroy, 1 blocked"
    );
    assert_eq!(
        summary_line(&Summary::default()),
        "Plan: 0 to create, 0 to update, 0 to replace, 0 to destroy"
    );
}

#[test]
fn text_plan() {
    insta::assert_snapshot!(text::plan(&full_plan(), false));
}

/// A plan whose `web` entry rolls out in batches.
fn rollout_plan(batches: usize, size: usize) -> Plan {
    let mut p = full_plan();
    p.rollouts = vec![crate::plan::RolloutPlan {
        entry: "web".into(),
        health: crate::model::Health::StatusChecks,
        timeout_secs: 600,
        batches: (0..batches)
            .map(|b| {
                (1..=size)
                    .map(|i| format!("web-{}", b * size + i))
                    .collect()
            })
            .collect(),
    }];
    p
}

#[test]
fn rollouts_show_their_batches_in_order_in_text_and_markdown() {
    let p = rollout_plan(2, 2);
    let text = text::plan(&p, false);
    assert!(
        text.contains("Rollout of web: 2 batches of at most 2, each EC2 status checks ok within 10m before the next: [web-1, web-2] → [web-3, web-4]"),
        "{text}"
    );
    let md = markdown::plan(&p, COMMENT_LIMIT);
    assert!(
        md.contains("Rollout of `web`: 2 batches of at most 2, each EC2 status checks ok within 10m before the next: [`web-1`, `web-2`] → [`web-3`, `web-4`]"),
        "{md}"
    );
    // A long rollout is counted after ten batches.
    let long = text::plan(&rollout_plan(300, 1), false);
    assert!(long.contains("web-10 → … (290 more)"), "{long}");
}

#[test]
fn text_plan_without_changes() {
    insta::assert_snapshot!(text::plan(&empty_plan(), false));
}

#[test]
fn text_plan_with_errors() {
    insta::assert_snapshot!(text::plan(&error_plan(), false));
}

#[test]
fn text_plan_in_colour() {
    let p = plan(
        full_plan()
            .changes
            .into_iter()
            .filter(|c| c.resource.name != "api")
            .collect(),
        vec![],
        vec![],
    );
    let out = text::plan(&p, true);
    assert!(out.contains("\x1b[31;1m"));
    // The escapes made visible, so the snapshot is readable.
    insta::assert_snapshot!(out.replace('\x1b', "␛"));
    let plain = text::plan(&p, false);
    assert!(!plain.contains('\x1b'));
}

#[test]
fn text_plan_changed_since_review() {
    let reviewed = full_plan();
    let mut fresh = full_plan();
    fresh.fingerprint = "aaaabbbbccccdddd".into();
    // web-1's type was changed by hand to what the YAML wants: no restart.
    let web1 = fresh
        .changes
        .iter_mut()
        .find(|c| c.resource.name == "web-1")
        .unwrap();
    web1.fields.retain(|f| f.field != Field::Type);
    web1.action = Action::UpdateWithRestart;
    // old-1 was terminated by hand; a new orphan appeared.
    fresh.changes.retain(|c| c.resource.name != "old-1");
    let mut stray = change(
        id(Kind::Instance, "stray-1"),
        Action::Destroy,
        Some("i-0stray"),
    );
    stray.reason = Some("no longer in the YAML".into());
    fresh.changes.push(stray);
    insta::assert_snapshot!(text::plan_changed(&reviewed, &fresh));
}

// --------------------------------------------------------------- markdown ---

#[test]
fn markdown_plan() {
    let out = markdown::plan(&full_plan(), COMMENT_LIMIT);
    assert!(out.starts_with(&markdown::marker(&full_plan())));
    assert_rendered!(out);
}

#[test]
fn markdown_plan_without_changes() {
    assert_rendered!(markdown::plan(&empty_plan(), COMMENT_LIMIT));
}

#[test]
fn markdown_plan_with_errors() {
    assert_rendered!(markdown::plan(&error_plan(), COMMENT_LIMIT));
}

#[test]
fn githubs_engine_shows_every_action_header_in_bold() {
    // The header GitHub showed as literal `**~ instance.www-1** …` before the
    // tilde was escaped: the checker sees it.
    let broken = "**~ `instance.www-1`** `i-1` — update\n";
    assert!(!crate::render::tests::gfm::problems(broken).is_empty());
    for action in [
        Action::Create,
        Action::Update,
        Action::UpdateWithRestart,
        Action::Replace,
        Action::Destroy,
    ] {
        let live = (action != Action::Create).then_some("i-0123456789abcdef0");
        let mut c = change(id(Kind::Instance, "www-1"), action, live);
        c.fields.push(field(
            "tags",
            text_value("a"),
            text_value("b"),
            Effect::InPlace,
            "tags are updated in place",
        ));
        let md = markdown::plan(&plan(vec![c], vec![], vec![]), COMMENT_LIMIT);
        let problems = crate::render::tests::gfm::problems(&md);
        assert!(problems.is_empty(), "{action:?}: {problems:#?}\n{md}");
        let html = crate::render::tests::gfm::html(&md);
        let want = format!(
            "<strong>{} <code>instance.www-1</code></strong>",
            text::symbol(action)
        );
        assert!(html.contains(&want), "{action:?}: {html}");
    }
}

#[test]
fn markdown_marker_carries_the_fingerprint() {
    assert_eq!(
        markdown::marker(&full_plan()),
        "<!-- ec2-gitops:plan stack=web region=us-east-1 fingerprint=0123456789abcdef -->"
    );
}

/// `n` instances: every fifth replaced, every fifth destroyed, the others
/// updated with a restart and a few tags.
fn big_plan(n: usize) -> Plan {
    let changes = (1..=n)
        .map(|i| {
            let name = format!("app-{i:04}");
            let live = format!("i-0{i:016x}");
            match i % 5 {
                0 => {
                    let mut c = change(id(Kind::Instance, &name), Action::Replace, Some(&live));
                    c.fields = vec![field(
                        "image",
                        text_value("ami-0aaaaaaaaaaaaaaaa"),
                        text_value("ami-0bbbbbbbbbbbbbbbb"),
                        Effect::Replace,
                        "an instance boots from its image once: a new image needs a new instance",
                    )];
                    c
                }
                1 => {
                    let mut c = change(id(Kind::Instance, &name), Action::Destroy, Some(&live));
                    c.reason = Some("no longer in the YAML".into());
                    c
                }
                _ => {
                    let mut c = change(
                        id(Kind::Instance, &name),
                        Action::UpdateWithRestart,
                        Some(&live),
                    );
                    c.fields = vec![
                        field(
                            "type",
                            text_value("t3.micro"),
                            text_value("t3.large"),
                            Effect::Restart,
                            "EC2 changes the instance type only while the instance is stopped",
                        ),
                        field(
                            "tags",
                            list(&["role=app", "team=a"]),
                            list(&["env=prod", "role=app", "team=b"]),
                            Effect::InPlace,
                            "tags change in place",
                        ),
                    ];
                    c
                }
            }
        })
        .collect();
    plan(changes, vec![], vec![])
}

fn assert_fits_with_callouts(p: &Plan) {
    let out = markdown::plan(p, COMMENT_LIMIT);
    assert!(
        out.chars().count() <= COMMENT_LIMIT,
        "{} characters",
        out.chars().count()
    );
    assert!(out.starts_with(&markdown::marker(p)));
    assert!(out.contains(&summary_line(&p.summary)));
    // Each named, alone or in its group's label (`app-1` … `app-9`).
    for e in crate::render::groups::entries(&p.changes) {
        if matches!(e.action(), Action::Destroy | Action::Replace) {
            let label = e.label(crate::render::escape::code_span);
            assert!(out.contains(&label), "{label} missing");
        }
    }
}

#[test]
fn markdown_of_a_2000_instance_plan_fits_in_a_comment() {
    let p = big_plan(2000);
    assert_fits_with_callouts(&p);
    let out = markdown::plan(&p, COMMENT_LIMIT);
    assert!(out.contains("job summary"), "says where the rest is");
}

#[test]
fn markdown_of_2000_destroys_fits_in_a_comment() {
    let changes = (1..=2000)
        .map(|i| {
            let mut c = change(
                id(Kind::Instance, &format!("app-{i:04}")),
                Action::Destroy,
                Some(&format!("i-0{i:016x}")),
            );
            c.reason = Some("no longer in the YAML".into());
            c
        })
        .collect();
    assert_fits_with_callouts(&plan(changes, vec![], vec![]));
}

#[test]
fn markdown_never_exceeds_the_limit() {
    // More destroys than any comment can name: the limit still holds and the
    // summary and marker stay.
    let changes = (1..=20_000)
        .map(|i| {
            let mut c = change(
                id(Kind::Instance, &format!("app-{i:05}")),
                Action::Destroy,
                Some(&format!("i-0{i:016x}")),
            );
            c.reason = Some("no longer in the YAML".into());
            c
        })
        .collect();
    let p = plan(changes, vec![], vec![]);
    let out = markdown::plan(&p, COMMENT_LIMIT);
    assert!(
        out.chars().count() <= COMMENT_LIMIT,
        "{}",
        out.chars().count()
    );
    assert!(out.starts_with(&markdown::marker(&p)));
    assert!(out.contains(&summary_line(&p.summary)));
    assert!(out.contains("job summary"));
}

// ------------------------------------------------------------------- json ---

#[test]
fn json_plan() {
    let out = json(&[full_plan(), error_plan()]);
    // Round-trips: what `apply --plan` reads back is what was written.
    let back: serde_json::Value = serde_json::from_str(&out).unwrap();
    let plans: Vec<Plan> = serde_json::from_value(back["plans"].clone()).unwrap();
    assert_eq!(plans, [full_plan(), error_plan()]);
    insta::assert_snapshot!(out);
}

// ----------------------------------------------------------------- report ---

fn step(index: usize, resource: ResourceId, op: Op, needs: Vec<usize>) -> Step {
    let destroys = matches!(op, Op::TerminateInstance { .. } | Op::DeleteGroup { .. });
    Step {
        index,
        resource,
        op,
        needs,
        destroys,
        batch: None,
    }
}

fn results(failed: bool) -> Vec<StepResult> {
    let group = step(
        0,
        id(Kind::SecurityGroup, "web"),
        Op::SetRules {
            group: Ref::Existing("sg-0web".into()),
            authorize_ingress: vec![],
            revoke_ingress: vec![],
            authorize_egress: vec![],
            revoke_egress: vec![],
        },
        vec![],
    );
    let update = step(
        1,
        id(Kind::Instance, "web-1"),
        Op::UpdateInstance {
            instance_id: "i-0web1".into(),
            update: Box::default(),
        },
        vec![0],
    );
    let volume = step(
        2,
        id(Kind::Volume, "web-1/data"),
        Op::UpdateVolume {
            volume_id: "vol-0data".into(),
            modify: Some((200, "gp3".into())),
            detach: None,
            attach: None,
            deletes_data: None,
        },
        vec![1],
    );
    let terminate = step(
        3,
        id(Kind::Instance, "old-1"),
        Op::TerminateInstance {
            instance_id: "i-0old1".into(),
        },
        vec![0, 1, 2],
    );
    let done = |step: Step, what: &str, ms: u64| StepResult {
        step,
        outcome: Outcome::Done(what.into()),
        elapsed: Duration::from_millis(ms),
        kept: None,
    };
    if !failed {
        return vec![
            done(group, "authorized 1 rule, revoked 0", 310),
            done(update, "i-0web1 stopped, type t3.small, started", 48_250),
            done(volume, "vol-0data modifying to 200 GiB gp3", 820),
            done(terminate, "i-0old1 terminated", 15_040),
        ];
    }
    vec![
        done(group, "authorized 1 rule, revoked 0", 310),
        StepResult {
            step: update,
            outcome: Outcome::Failed(Ec2Error {
                action: "ModifyInstanceAttribute",
                code: "InsufficientInstanceCapacity".into(),
                message: "We currently do not have sufficient t3.small capacity in us-east-1a."
                    .into(),
            }),
            elapsed: Duration::from_millis(2_400),
            kept: None,
        },
        StepResult {
            step: volume,
            outcome: Outcome::Skipped("needs instance.web-1, which failed".into()),
            elapsed: Duration::ZERO,
            kept: None,
        },
        StepResult {
            step: terminate,
            outcome: Outcome::Skipped("needs instance.web-1, which failed".into()),
            elapsed: Duration::ZERO,
            kept: None,
        },
    ]
}

#[test]
fn report_all_done() {
    let r = results(false);
    assert_eq!(
        report::tally(&r),
        report::Tally {
            done: 4,
            failed: 0,
            skipped: 0
        }
    );
    insta::assert_snapshot!(report::text("web", &r, 64.4));
}

#[test]
fn a_report_names_the_snapshots_of_deleted_volumes() {
    let mut r = results(false);
    let deleted = r
        .iter_mut()
        .find(|x| x.step.destroys)
        .expect("a destroy step");
    deleted.step.resource = id(Kind::Volume, "db/data");
    deleted.kept = Some("snap-0123456789abcdef0".into());
    insta::assert_snapshot!(report::text("web", &r, 64.4));
}

#[test]
fn report_with_failed_and_skipped_steps() {
    let r = results(true);
    assert_eq!(
        report::tally(&r),
        report::Tally {
            done: 1,
            failed: 1,
            skipped: 2
        }
    );
    insta::assert_snapshot!(report::text("web", &r, 3.2));
}

#[test]
fn step_lines() {
    let r = results(true);
    let lines: Vec<String> = r.iter().map(report::step_line).collect();
    assert_eq!(
        lines,
        [
            "  done     security_group.web: authorized 1 rule, revoked 0 (0.3s)",
            "  FAILED   instance.web-1: ModifyInstanceAttribute failed: InsufficientInstanceCapacity: We currently do not have sufficient t3.small capacity in us-east-1a.",
            "  skipped  volume.web-1/data: needs instance.web-1, which failed",
            "  skipped  instance.old-1: needs instance.web-1, which failed",
        ]
    );
}

#[test]
fn a_hand_edited_digest_tag_does_not_break_rendering() {
    let mut c = change(
        id(Kind::Instance, "web-1"),
        Action::UpdateWithRestart,
        Some("i-0web1"),
    );
    c.fields = vec![field(
        "user_data",
        Value::Digest {
            sha256: "é-edited".into(),
            bytes: 0,
        },
        Value::Digest {
            sha256: "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c".into(),
            bytes: 412,
        },
        Effect::Restart,
        "EC2 changes user data only while the instance is stopped",
    )];
    let p = plan(vec![c], vec![], vec![]);
    assert!(text::plan(&p, false).contains("sha256 é-edited)"));
    assert!(markdown::plan(&p, COMMENT_LIMIT).contains("sha256 b5bb9d8014a0)"));
}

// ------------------------------------------------------------ comments ---

mod comments {
    use super::*;
    use crate::outcome::{Refusal, StackApply, StackPlan};
    use crate::render::comment::{self, PlanState};

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn plan_comment_of_one_stack() {
        let body = comment::plan_comment(
            SHA,
            &[StackPlan::Planned(full_plan())],
            &[],
            &PlanState::Planned,
        );
        assert_rendered!(body);
    }

    #[test]
    fn plan_comment_of_several_stacks_with_an_invalid_one_and_a_removed_file() {
        let mut db = empty_plan();
        db.stack = "db".into();
        db.file = "infra/db.yaml".into();
        let stacks = [
            StackPlan::Planned(full_plan()),
            StackPlan::Planned(db),
            StackPlan::Invalid {
                file: "infra/cache.yaml".into(),
                errors: "error: unknown key `tpye`\n  --> infra/cache.yaml:7:5".into(),
                at: vec![],
            },
            StackPlan::Failed {
                file: "infra/eu.yaml".into(),
                error: "cannot read stack eu from EC2 in eu-west-1: UnauthorizedOperation".into(),
            },
        ];
        let body = comment::plan_comment(
            SHA,
            &stacks,
            &["infra/old.yaml".into()],
            &PlanState::Planned,
        );
        assert_rendered!(body);
    }

    #[test]
    fn plan_comment_states() {
        let stacks = [StackPlan::Planned(empty_plan())];
        let refused = comment::plan_comment(
            SHA,
            &stacks,
            &[],
            &PlanState::MergeRefused {
                reasons: vec!["`web`: the plan changed since review (fingerprint `aaaa` reviewed, `bbbb` now); nothing was applied.".into()],
            },
        );
        let discarded = comment::plan_comment(SHA, &stacks, &[], &PlanState::Discarded);
        let stale = comment::plan_comment(
            SHA,
            &stacks,
            &[],
            &PlanState::Stale {
                stacks: vec!["web".into()],
            },
        );
        assert_rendered!("merge_refused", refused);
        assert_rendered!("discarded", discarded);
        assert_rendered!("stale", stale);
        let replanned = comment::plan_comment(
            SHA,
            &stacks,
            &[],
            &PlanState::Replanned {
                after: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".into(),
            },
        );
        assert_rendered!("replanned", replanned);
        let status = |state: &PlanState| {
            comment::plan_marker(SHA, None, &stacks, state)
                .plan()
                .map(|m| m.status)
        };
        use crate::marker::PlanStatus;
        let after = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".to_string();
        assert_eq!(
            status(&PlanState::Replanned { after }),
            Some(PlanStatus::Planned)
        );
        assert_eq!(
            status(&PlanState::MergeRefused { reasons: vec![] }),
            Some(PlanStatus::MergeRefused)
        );
        assert_eq!(status(&PlanState::Discarded), Some(PlanStatus::Discarded));
        assert_eq!(
            status(&PlanState::Stale { stacks: vec![] }),
            Some(PlanStatus::Stale)
        );
    }

    #[test]
    fn reviewed_plans_read_back_what_the_comment_wrote() {
        let p = full_plan();
        let stacks = [StackPlan::Planned(p.clone())];
        let body = comment::plan_marker(SHA, None, &stacks, &PlanState::Planned).wrap(
            &comment::plan_comment(SHA, &stacks, &[], &PlanState::Planned),
        );
        let marker = crate::marker::Marker::parse(&body).expect("the first line is the marker");
        let read = comment::reviewed_stacks(marker.plan().expect("a plan marker"));
        let stack = &read[&(p.stack.clone(), p.region.clone())];
        assert_eq!(stack.fingerprint, p.fingerprint);
        assert_eq!(stack.changes, crate::plan::review::of(&p));
        assert!(stack.changes.as_ref().is_some_and(|c| !c.is_empty()));
        assert_eq!(read.len(), 1);
    }

    #[test]
    fn plan_comment_of_many_big_stacks_stays_under_githubs_limit() {
        let stacks: Vec<StackPlan> = (0..20)
            .map(|i| {
                let mut p = big_plan(300);
                p.stack = format!("stack-{i}");
                StackPlan::Planned(p)
            })
            .collect();
        let body = comment::plan_marker(SHA, None, &stacks, &PlanState::Planned).wrap(
            &comment::plan_comment(SHA, &stacks, &[], &PlanState::Planned),
        );
        assert!(body.len() <= 65_536, "{} chars", body.len());
        let marker = crate::marker::Marker::parse(&body).expect("the first line is the marker");
        assert_eq!(marker.plan().map(|m| m.stacks.len()), Some(20));
    }

    #[test]
    fn apply_comment_success_and_failure() {
        let ok = comment::apply_comment(
            SHA,
            &[
                StackApply::Applied {
                    plan: Box::new(full_plan()),
                    results: results(false),
                    seconds: 42.5,
                },
                StackApply::NoChanges {
                    stack: "db".into(),
                    region: "us-east-1".into(),
                },
            ],
        );
        assert_rendered!("apply_ok", ok);
        let failed = comment::apply_comment(
            SHA,
            &[
                StackApply::Applied {
                    plan: Box::new(full_plan()),
                    results: results(true),
                    seconds: 12.0,
                },
                StackApply::NotApplied {
                    stack: "db".into(),
                    refusal: Refusal::ChangedSinceReview {
                        reviewed: "aaaa".into(),
                        now: "bbbb".into(),
                        moved: None,
                        unreviewed: Some(crate::plan::review::Unreviewed::NewField {
                            resource: crate::model::ResourceId::new(
                                crate::model::Kind::Instance,
                                "db",
                            ),
                            field: "type".into(),
                        }),
                    },
                },
            ],
        );
        assert_rendered!("apply_failed", failed);
    }

    #[test]
    fn replies() {
        assert_rendered!("not_allowed", comment::not_allowed("octocat", "read"));
        assert_rendered!("help", comment::help("/", None));
        assert_rendered!("unknown_command", comment::help("/", Some("destroy")));
        assert_rendered!(
            "apply_not_allowed",
            comment::apply_not_allowed(comment::apply_setting_refusal(
                crate::outcome::ApplyNotAllowed::OnlyOnMerge
            ))
        );
    }

    #[test]
    fn drift_issue_and_its_resolution() {
        let stacks = [
            StackPlan::Planned(full_plan()),
            StackPlan::Planned(empty_plan()),
            StackPlan::Invalid {
                file: "infra/cache.yaml".into(),
                errors: "error: unknown key".into(),
                at: vec![],
            },
        ];
        assert_rendered!("drift_issue", comment::drift_issue(SHA, &stacks));
        assert_rendered!("drift_resolved", comment::drift_resolved(SHA, 3));
    }
}

pub(crate) mod gfm;
mod hostile;

// --------------------------------------------------- count groups, order ---

/// `count: 300` created, `node-7` with a tag of its own and `node-300`
/// blocked: what a reviewer must see apart from the rest.
fn count_group_plan(n: usize) -> Plan {
    let changes = (1..=n)
        .map(|i| {
            let mut c = change(
                id(Kind::Instance, &format!("node-{i}")),
                Action::Create,
                None,
            );
            c.fields = vec![
                field(
                    "image",
                    Value::None,
                    text_value("ami-0aaaaaaaaaaaaaaaa"),
                    Effect::InPlace,
                    "set at creation",
                ),
                field(
                    "type",
                    Value::None,
                    text_value("t3.micro"),
                    Effect::InPlace,
                    "set at creation",
                ),
                field(
                    "security_groups",
                    Value::None,
                    list(&["web"]),
                    Effect::InPlace,
                    "set at creation",
                ),
            ];
            if i == 7 {
                c.fields.push(field(
                    "tags",
                    Value::None,
                    list(&["canary=true"]),
                    Effect::InPlace,
                    "set at creation",
                ));
            }
            c
        })
        .collect();
    plan(changes, vec![], vec![])
}

#[test]
fn a_count_group_is_one_entry_with_its_shared_diff_and_what_differs() {
    let p = count_group_plan(300);
    let md = markdown::plan(&p, COMMENT_LIMIT);
    let problems = crate::render::tests::gfm::problems(&md);
    assert!(problems.is_empty(), "{problems:#?}\n{md}");
    assert!(
        md.contains("**+ `instance.node-1` … `node-300`** (300 instances) — create"),
        "{md}"
    );
    // The shared diff once, node-7's own tag once, no per-member header.
    assert_eq!(md.matches("+ type: t3.micro").count(), 1, "{md}");
    assert_eq!(md.matches("canary=true").count(), 1, "{md}");
    assert!(md.contains("For `node-7` only:"), "{md}");
    assert!(!md.contains("`instance.node-2`"), "{md}");
    assert!(md.len() < 2_000, "{} bytes", md.len());
    insta::assert_snapshot!(md);
    // The terminal shows it alike; the job summary lists every member.
    let txt = text::plan(&p, false);
    assert!(
        txt.contains("  + instance.node-1 … node-300 (300 instances)  create"),
        "{txt}"
    );
    assert_eq!(txt.matches("+ type: t3.micro").count(), 1, "{txt}");
    assert!(txt.contains("      for node-7 only:\n"), "{txt}");
    let every = markdown::plan_as(&p, 1_000_000, markdown::Listing::Every);
    assert_eq!(every.matches("**+ `instance.node-").count(), 300);
}

#[test]
fn a_group_of_updates_shows_each_members_id_and_a_blocked_member() {
    let changes: Vec<Change> = (1..=12)
        .map(|i| {
            let mut c = change(
                id(Kind::Instance, &format!("web-{i}")),
                Action::UpdateWithRestart,
                Some(&format!("i-0{i:016x}")),
            );
            c.fields = vec![field(
                "type",
                text_value("t3.micro"),
                text_value("t3.large"),
                Effect::Restart,
                "EC2 changes the instance type only while the instance is stopped",
            )];
            if i == 12 {
                c.blocked = Some("protected".into());
            }
            c
        })
        .collect();
    let p = plan(changes, vec![], vec![]);
    let md = markdown::plan(&p, COMMENT_LIMIT);
    let problems = crate::render::tests::gfm::problems(&md);
    assert!(problems.is_empty(), "{problems:#?}\n{md}");
    assert!(md.contains("<details><summary>12 ids</summary>"), "{md}");
    assert!(md.contains("`web-10` `i-0000000000000000a`"), "{md}");
    assert!(
        md.contains("For `web-12` `i-0000000000000000c` only **(blocked: protected)**"),
        "{md}"
    );
    assert!(
        md.contains("> - `instance.web-1` … `web-12` (12 instances) — because of `type` **(1 blocked: protected)**"),
        "{md}"
    );
    insta::assert_snapshot!(md);
}

#[test]
fn plans_list_names_in_natural_order() {
    // The planner sorts (plan::order); the renderers keep its order.
    let mut changes: Vec<Change> = ["web-10", "web-2", "web-1", "db"]
        .iter()
        .map(|n| change(id(Kind::Instance, n), Action::Update, Some("i-1")))
        .collect();
    changes.push(change(id(Kind::KeyPair, "deploy"), Action::Create, None));
    crate::plan::order::sort(&mut changes);
    let names: Vec<String> = changes.iter().map(|c| c.resource.to_string()).collect();
    assert_eq!(
        names,
        [
            "key_pair.deploy",
            "instance.db",
            "instance.web-1",
            "instance.web-2",
            "instance.web-10"
        ]
    );
    let p = plan(changes, vec![], vec![]);
    let at = |s: &str, what: &str| s.find(what).unwrap_or_else(|| panic!("{what} in {s}"));
    let md = markdown::plan_as(&p, COMMENT_LIMIT, markdown::Listing::Every);
    assert!(at(&md, "`instance.web-2`") < at(&md, "`instance.web-10`"));
    assert!(at(&md, "`key_pair.deploy`") < at(&md, "`instance.db`"));
    let txt = text::plan(&p, false);
    assert!(
        at(&txt, "instance.db") < at(&txt, "instance.web-1, web-2, web-10"),
        "{txt}"
    );
}

// ----------------------------------------------------------------- picture ---

/// A stack with every kind of resource and every change, and its graph.
fn picture_plan() -> Plan {
    let nodes = [
        (Kind::KeyPair, "deploy"),
        (Kind::SecurityGroup, "admin"),
        (Kind::SecurityGroup, "db"),
        (Kind::SecurityGroup, "web"),
        (Kind::Instance, "db"),
        (Kind::Instance, "web-1"),
        (Kind::Instance, "web-2"),
        (Kind::Instance, "web-3"),
        (Kind::Instance, "worker"),
        (Kind::Instance, "old"),
        (Kind::Volume, "db/data"),
        (Kind::ElasticIp, "web-ip"),
    ];
    let at = |kind: Kind, name: &str| {
        nodes
            .iter()
            .position(|(k, n)| *k == kind && *n == name)
            .unwrap()
    };
    let (i, g) = (
        |n: &str| at(Kind::Instance, n),
        |n: &str| at(Kind::SecurityGroup, n),
    );
    let mut edges = vec![
        (g("web"), g("admin")),
        (g("db"), g("web")),
        (i("db"), g("db")),
        (i("db"), at(Kind::KeyPair, "deploy")),
        (i("db"), at(Kind::Volume, "db/data")),
        (i("web-1"), at(Kind::ElasticIp, "web-ip")),
        (i("worker"), g("web")),
    ];
    for n in ["web-1", "web-2", "web-3"] {
        edges.push((i(n), g("web")));
        edges.push((i(n), at(Kind::KeyPair, "deploy")));
    }
    let mut changes = vec![
        change(
            id(Kind::SecurityGroup, "admin"),
            Action::Update,
            Some("sg-0admin"),
        ),
        change(id(Kind::SecurityGroup, "db"), Action::Create, None),
        change(
            id(Kind::Instance, "worker"),
            Action::Replace,
            Some("i-0worker"),
        ),
        change(id(Kind::Volume, "db/data"), Action::Create, None),
        change(
            id(Kind::ElasticIp, "web-ip"),
            Action::Update,
            Some("eipalloc-0a"),
        ),
        change(id(Kind::Instance, "old"), Action::Destroy, Some("i-0old")),
    ];
    let mut db = change(id(Kind::Instance, "db"), Action::Replace, Some("i-0db"));
    db.blocked = Some("protected".into());
    changes.push(db);
    for i in 1..=3 {
        changes.push(change(
            id(Kind::Instance, &format!("web-{i}")),
            Action::UpdateWithRestart,
            Some(&format!("i-0web{i}")),
        ));
    }
    let mut p = plan(changes, vec![], vec![]);
    p.graph = crate::plan::graph::Graph {
        nodes: nodes.iter().map(|(k, n)| id(*k, n)).collect(),
        edges,
    };
    p
}

#[test]
fn the_plan_as_a_picture() {
    let p = picture_plan();
    let d = crate::render::mermaid::diagram(&p).expect("a diagram");
    // The three web servers restart alike: one node.
    assert!(
        d.contains("[\"instance.web-1 … web-3 (3) · update-with-restart\"]"),
        "{d}"
    );
    assert!(d.contains("[\"instance.db · replace (blocked)\"]"), "{d}");
    insta::assert_snapshot!("mermaid", d);
    let md = markdown::plan(&p, COMMENT_LIMIT);
    assert!(
        md.contains("<details><summary>The plan as a picture (12 resources)</summary>\n\n```mermaid\nflowchart LR\n"),
        "{md}"
    );
    let problems = crate::render::tests::gfm::problems(&md);
    assert!(problems.is_empty(), "{problems:#?}\n{md}");
    // A plan read from a file has no graph, and no picture.
    let mut read = p.clone();
    read.graph = Default::default();
    assert!(!markdown::plan(&read, COMMENT_LIMIT).contains("mermaid"));
}

#[test]
fn a_picture_of_300_resources_draws_the_changed_ones_and_their_neighbours() {
    let mut nodes = vec![
        id(Kind::SecurityGroup, "web"),
        id(Kind::SecurityGroup, "lonely"),
    ];
    let mut edges = Vec::new();
    for i in 0..300 {
        // Names that are not count members: each its own node.
        nodes.push(id(Kind::Instance, &format!("app-{i}-x")));
        edges.push((nodes.len() - 1, 0));
    }
    let changes = vec![change(
        id(Kind::Instance, "app-7-x"),
        Action::Update,
        Some("i-07"),
    )];
    let mut p = plan(changes, vec![], vec![]);
    p.graph = crate::plan::graph::Graph { nodes, edges };
    let d = crate::render::mermaid::diagram(&p).expect("a diagram");
    let drawn = d
        .lines()
        .filter(|l| l.trim_start().starts_with('n') && l.contains("[\""))
        .count();
    assert_eq!(drawn, 2, "the changed instance and its group:\n{d}");
    assert!(d.contains("instance.app-7-x · update"), "{d}");
    assert!(d.contains("security_group.web\"]"), "{d}");
    assert!(d.contains("\"300 more unchanged resources\""), "{d}");
    assert!(!d.contains("lonely"), "{d}");
}

#[test]
fn a_hostile_name_stays_inside_its_label() {
    let name = "x\"]\n  evil[\"@team <img src=x>\n%%{init: {\"theme\": \"dark\"}}%%\n```";
    let mut p = plan(
        vec![change(
            id(Kind::Instance, name),
            Action::Destroy,
            Some("i-1"),
        )],
        vec![],
        vec![],
    );
    p.graph = crate::plan::graph::Graph {
        nodes: vec![id(Kind::Instance, name)],
        edges: vec![],
    };
    let d = crate::render::mermaid::diagram(&p).expect("a diagram");
    let lines: Vec<&str> = d.lines().collect();
    assert_eq!(lines.len(), 4, "one node, its class and style:\n{d}");
    assert!(!d.contains(['<', '>', '@', '`', '{']), "{d}");
    assert_eq!(d.matches('"').count(), 2, "{d}");
}
