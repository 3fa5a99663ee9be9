//! The plan as a picture (Mermaid): changed resources and their neighbours, hostile names kept inside labels.

use super::*;

/// A stack with every kind of resource and every change, and its graph.
pub(super) fn picture_plan() -> Plan {
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
