//! The comments, issues and replies the action posts, each rendered whole.

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
        crate::marker::Marker::of_plans(SHA, None, &stacks, state.status())
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
    let body =
        crate::marker::Marker::of_plans(SHA, None, &stacks, PlanState::Planned.status()).wrap(
            &comment::plan_comment(SHA, &stacks, &[], &PlanState::Planned),
        );
    let marker = crate::marker::Marker::parse(&body).expect("the first line is the marker");
    let read = marker.plan().expect("a plan marker").reviewed();
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
    let body =
        crate::marker::Marker::of_plans(SHA, None, &stacks, PlanState::Planned.status()).wrap(
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
                        resource: crate::model::ResourceId::new(crate::model::Kind::Instance, "db"),
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

#[test]
fn merge_queue_checks() {
    use crate::action::queue::{Gate, GateOutcome};
    use crate::outcome::BaseMoved;
    let gate = |stack: &str, pulls: &[u64], outcome| Gate {
        stack: stack.into(),
        region: "us-east-1".into(),
        pulls: pulls.to_vec(),
        outcome,
    };
    let passing = [
        gate("web", &[11], GateOutcome::Passes { changes: true }),
        gate("db", &[12], GateOutcome::Passes { changes: false }),
    ];
    let out = crate::render::check_run::queue(SHA, &passing);
    assert_eq!(out.conclusion, "success");
    assert_eq!(out.title, "2 stacks of the merge group plan as reviewed");
    assert_rendered!("queue_passes", format!("{}\n{}", out.summary, out.text));
    let failing = [
        gate("web", &[11], GateOutcome::Passes { changes: true }),
        gate("db", &[11, 12, 13], GateOutcome::OneAtATime),
        gate(
            "cache",
            &[12],
            GateOutcome::Refused(Refusal::ChangedSinceReview {
                reviewed: "aaaa".into(),
                now: "bbbb".into(),
                moved: Some(BaseMoved {
                    reviewed_on: "1111111111111111111111111111111111111111".into(),
                    merged_onto: SHA.into(),
                }),
                unreviewed: None,
            }),
        ),
        gate("api", &[13], GateOutcome::Refused(Refusal::NotReviewed)),
        gate("batch", &[], GateOutcome::Unexplained),
        gate(
            "infra/bad.yaml",
            &[13],
            GateOutcome::Invalid("error: unknown key `tpye`\n  --> infra/bad.yaml:7:5".into()),
        ),
    ];
    let out = crate::render::check_run::queue(SHA, &failing);
    assert_eq!(out.conclusion, "failure");
    assert_eq!(
        out.title,
        "5 stacks stop the merge group; first, db: #11, #12 and #13 change it in one group: merge them one at a time"
    );
    assert_rendered!("queue_fails", format!("{}\n{}", out.summary, out.text));
    let none = crate::render::check_run::queue(SHA, &[]);
    assert_eq!(
        (none.conclusion, none.title.as_str()),
        ("success", "The merge group changes no stack")
    );
}
