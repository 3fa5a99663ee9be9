//! Count groups: one entry with its shared diff, what differs, natural order.

use super::*;

/// `count: 300` created, `node-7` with a tag of its own and `node-300`
/// blocked: what a reviewer must see apart from the rest.
pub(super) fn count_group_plan(n: usize) -> Plan {
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
