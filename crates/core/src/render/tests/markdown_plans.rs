//! The plan as Markdown: what GitHub shows, the marker, and the comment limit at any size.

use super::*;

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
pub(super) fn big_plan(n: usize) -> Plan {
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

pub(super) fn assert_fits_with_callouts(p: &Plan) {
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
