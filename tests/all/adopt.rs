//! Safe to adopt: the gate that keeps AWS credentials from commenters who
//! may not push, and a direct push that no reviewed pull request explains.

use crate::action::{HEAD, MERGE, REPO, World};
use crate::support::webhooks;

/// `user` comments `/plan` on pull request 9, in the gate job
/// (`check-commenter: true`).
fn gate(w: &World, user: &str) -> crate::action::Run {
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let ev = w.comment_event(9, "/plan", user);
    w.run_with(
        "issue_comment",
        ev,
        HEAD,
        &[("INPUT_CHECK-COMMENTER", "true")],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gate_allows_a_writer_and_runs_nothing_else() {
    let w = World::new("gate1");
    let r = gate(&w, "writer");
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("allowed=true"), "{}", r.text());
    assert_eq!(w.proxy.total(), 0, "no EC2 call in the gate");
    assert!(w.bot_comments(9).is_empty(), "nothing written");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gate_refuses_a_reader_politely_and_says_so() {
    let w = World::new("gate2");
    let r = gate(&w, "reader");
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert!(r.outputs.contains("allowed=false"), "{}", r.text());
    assert_eq!(w.proxy.total(), 0);
    let replies = w.bot_comments(9);
    assert_eq!(replies.len(), 1, "one polite reply");
    assert!(replies[0].body.contains("@reader"), "{}", replies[0].body);
}

/// A push to main of `sha` that no pull request explains.
fn direct_push(w: &World, env: &[(&str, &str)]) -> crate::action::Run {
    let ev = w.push_event(MERGE, &[("infra/web.yaml", "modified")]);
    w.run_with("push", ev, MERGE, env)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_direct_push_is_not_applied_and_its_plan_goes_to_the_drift_issue_whose_apply_applies_it()
{
    let w = World::new("direct");
    let r = direct_push(&w, &[]);
    assert_eq!(r.code(), Some(1), "{}", r.text());
    assert!(
        w.mutating_ec2_calls().is_empty(),
        "nothing applied: {:?}",
        w.mutating_ec2_calls()
    );
    assert!(
        r.summary.contains("apply-unreviewed-pushes"),
        "{}",
        r.text()
    );
    let check =
        w.gh.check_runs(MERGE)
            .into_iter()
            .rfind(|c| c.name == "ec2-gitops/apply")
            .expect("the apply check");
    assert_eq!(check.conclusion.as_deref(), Some("failure"), "{check:?}");
    let issues = w.gh.issues();
    assert_eq!(issues.len(), 1, "the drift issue: {issues:?}");
    let body = issues[0].body.clone().unwrap_or_default();
    assert!(body.contains("direct"), "{body}");

    // A writer plans and applies it from the drift issue.
    let n = issues[0].number;
    let say = |body: &str| {
        let mut ev = webhooks::issue_comment_on_issue(n, &["ec2-gitops-drift"], body, "writer");
        webhooks::set_repo(&mut ev, "octo", "infra");
        let id = w.gh.add_comment(REPO, n, "writer", body);
        webhooks::set_comment_id(&mut ev, id);
        w.run("issue_comment", ev, MERGE)
    };
    let r = say("/plan direct");
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let r = say("/apply direct");
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let made = crate::engine::instances_by_name(&w.direct, "direct").await;
    assert_eq!(made.len(), 3, "{made:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_unreviewed_pushes_true_applies_a_direct_push() {
    let w = World::new("direct2");
    let r = direct_push(&w, &[("INPUT_APPLY-UNREVIEWED-PUSHES", "true")]);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    let made = crate::engine::instances_by_name(&w.direct, "direct2").await;
    assert_eq!(made.len(), 3, "{made:?}");
}
