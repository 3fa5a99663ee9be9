//! The apply report: done, failed and skipped steps, snapshots of deleted volumes.

use super::*;

pub(super) fn step(index: usize, resource: ResourceId, op: Op, needs: Vec<usize>) -> Step {
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

pub(super) fn results(failed: bool) -> Vec<StepResult> {
    let group = step(
        0,
        id(Kind::SecurityGroup, "web"),
        Op::SetRules {
            group: Ref::Existing("sg-0web".into()),
            authorize_ingress: vec![],
            revoke_ingress: vec![],
            authorize_egress: vec![],
            revoke_egress: vec![],
            describe_ingress: vec![],
            describe_egress: vec![],
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
            modify: Some(crate::plan::steps::Modify {
                size_gb: 200,
                volume_type: "gp3".into(),
                iops: None,
                throughput: None,
            }),
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
