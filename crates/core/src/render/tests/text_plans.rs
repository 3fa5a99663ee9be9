//! The plan as terminal text: summary line, rollouts, errors, colour.

use super::*;

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
pub(super) fn rollout_plan(batches: usize, size: usize) -> Plan {
    let mut p = full_plan();
    p.rollouts = vec![crate::plan::RolloutPlan {
        entry: "web".into(),
        health: crate::model::Health::StatusChecks,
        timeout_secs: 600,
        target_groups: vec![],
        servers: 0,
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
