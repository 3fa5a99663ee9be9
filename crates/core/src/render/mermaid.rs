//! The plan as a picture: a Mermaid flowchart (GitHub draws ```` ```mermaid
//! ```` blocks in comments) with one node per resource of the stack, an edge
//! for each reference, and nodes coloured by their change. Pure.
//!
//! The members of a `count` group with the same change are one node. Past
//! [`MAX_NODES`] nodes only the changed ones and their neighbours are drawn,
//! and the diagram says how many it leaves out.
//!
//! Labels are names from YAML or from EC2 tags: every character but ASCII
//! letters, digits and `._/-` is written as a Mermaid entity (`#35;`), so
//! no value can end a label, add a node or an edge, or a directive.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use super::groups::stem;
use crate::model::ResourceId;
use crate::plan::{Action, Change, Plan};

/// Nodes drawn before only the changed resources and their neighbours are.
pub const MAX_NODES: usize = 150;

/// What a node's resource goes through; its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Unchanged,
    Create,
    Update,
    Restart,
    Replace,
    Destroy,
    Blocked,
}

impl Class {
    fn of(c: Option<&Change>) -> Class {
        match c {
            None => Class::Unchanged,
            Some(c) if c.blocked.is_some() => Class::Blocked,
            Some(c) => match c.action {
                Action::Create => Class::Create,
                Action::Update => Class::Update,
                Action::UpdateWithRestart => Class::Restart,
                Action::Replace => Class::Replace,
                Action::Destroy => Class::Destroy,
                Action::NoOp => Class::Unchanged,
            },
        }
    }

    fn name(self) -> &'static str {
        match self {
            Class::Unchanged => "unchanged",
            Class::Create => "create",
            Class::Update => "update",
            Class::Restart => "restart",
            Class::Replace => "replace",
            Class::Destroy => "destroy",
            Class::Blocked => "blocked",
        }
    }

    /// Fill and stroke: GitHub's own colours for added, changed, removed.
    fn style(self) -> &'static str {
        match self {
            Class::Unchanged => "fill:#f6f8fa,stroke:#d1d9e0,color:#59636e",
            Class::Create => "fill:#dafbe1,stroke:#1a7f37,color:#1f2328",
            Class::Update => "fill:#fff8c5,stroke:#9a6700,color:#1f2328",
            Class::Restart => "fill:#fff1e5,stroke:#bc4c00,color:#1f2328",
            Class::Replace => "fill:#fbefff,stroke:#8250df,color:#1f2328",
            Class::Destroy => "fill:#ffebe9,stroke:#cf222e,color:#1f2328",
            Class::Blocked => "fill:#cf222e,stroke:#82071e,color:#ffffff,stroke-width:3px",
        }
    }
}

/// One drawn node: a resource, or the members of a group.
struct Node {
    label: String,
    class: Class,
    /// The change in words (`update-with-restart`, `replace (blocked)`).
    word: String,
}

/// A change in words for its node.
fn word(c: Option<&Change>) -> String {
    match c {
        None => String::new(),
        Some(c) if c.blocked.is_some() => format!("{} (blocked)", c.action.as_str()),
        Some(c) => c.action.as_str().to_string(),
    }
}

/// The diagram of `p` (Mermaid source, without a fence), or `None` when the
/// plan has no graph (it has errors, or was read from a file). Over 120
/// lines, read top to bottom: classes, grouped nodes, kept neighbours, then
/// the text, each stage using the tables of the one before.
pub fn diagram(p: &Plan) -> Option<String> {
    let g = &p.graph;
    if g.nodes.is_empty() || !p.errors.is_empty() {
        return None;
    }
    let changes: HashMap<&ResourceId, &Change> =
        p.changes.iter().map(|c| (&c.resource, c)).collect();
    let class: Vec<Class> = g
        .nodes
        .iter()
        .map(|n| Class::of(changes.get(n).copied()))
        .collect();
    let words: Vec<String> = g
        .nodes
        .iter()
        .map(|n| word(changes.get(n).copied()))
        .collect();

    // Members of one group with one class share a node.
    let mut drawn: Vec<Node> = Vec::new();
    let mut node_of: Vec<usize> = vec![0; g.nodes.len()];
    let mut groups: BTreeMap<(crate::model::Kind, &str, &str, &str), Vec<usize>> = BTreeMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if let Some(s) = stem(&n.name) {
            groups
                .entry((n.kind, s.prefix, s.suffix, words[i].as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut grouped: HashMap<usize, usize> = HashMap::new();
    let mut members_of: HashMap<usize, &Vec<usize>> = HashMap::new();
    for members in groups.values().filter(|m| m.len() > 1) {
        members_of.insert(members[0], members);
        for &m in members {
            grouped.insert(m, members[0]);
        }
    }
    let mut first_node: HashMap<usize, usize> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if let Some(&lead) = grouped.get(&i) {
            if let Some(&d) = first_node.get(&lead) {
                node_of[i] = d;
                continue;
            }
            let members = members_of[&lead];
            let (first, last) = (
                *members.iter().min().expect("a group has members"),
                *members.iter().max().expect("a group has members"),
            );
            let label = format!(
                "{} … {} ({})",
                g.nodes[first],
                g.nodes[last].name,
                members.len()
            );
            first_node.insert(lead, drawn.len());
            node_of[i] = drawn.len();
            drawn.push(Node {
                label,
                class: class[i],
                word: words[i].clone(),
            });
        } else {
            node_of[i] = drawn.len();
            drawn.push(Node {
                label: n.to_string(),
                class: class[i],
                word: words[i].clone(),
            });
        }
    }
    let edges: BTreeSet<(usize, usize)> = g
        .edges
        .iter()
        .map(|&(a, b)| (node_of[a], node_of[b]))
        .filter(|(a, b)| a != b)
        .collect();

    // Too many: the changed nodes and their neighbours.
    let mut shown: Vec<bool> = vec![true; drawn.len()];
    if drawn.len() > MAX_NODES {
        let changed: Vec<bool> = drawn.iter().map(|n| n.class != Class::Unchanged).collect();
        shown = changed.clone();
        for &(a, b) in &edges {
            if changed[a] || changed[b] {
                shown[a] = true;
                shown[b] = true;
            }
        }
    }
    let hidden = shown.iter().filter(|s| !**s).count();

    let mut out = String::from("flowchart LR\n");
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  %% {hidden} unchanged resources without a changed neighbour are not drawn"
        );
    }
    for (i, n) in drawn.iter().enumerate().filter(|(i, _)| shown[*i]) {
        let word = if n.word.is_empty() {
            String::new()
        } else {
            format!(" · {}", n.word)
        };
        let _ = writeln!(out, "  n{i}[\"{}\"]", label(&format!("{}{word}", n.label)));
    }
    for &(a, b) in edges.iter().filter(|(a, b)| shown[*a] && shown[*b]) {
        let _ = writeln!(out, "  n{a} --> n{b}");
    }
    let mut by_class: BTreeMap<Class, Vec<String>> = BTreeMap::new();
    for (i, n) in drawn.iter().enumerate().filter(|(i, _)| shown[*i]) {
        by_class.entry(n.class).or_default().push(format!("n{i}"));
    }
    for (c, ids) in &by_class {
        let _ = writeln!(out, "  classDef {} {}", c.name(), c.style());
        let _ = writeln!(out, "  class {} {}", ids.join(","), c.name());
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  hidden[\"{} more unchanged resources\"]:::unchanged",
            hidden
        );
        if !by_class.contains_key(&Class::Unchanged) {
            let _ = writeln!(out, "  classDef unchanged {}", Class::Unchanged.style());
        }
    }
    Some(out)
}

/// `plan --format mermaid`: each stack's diagram after a `%%` line naming
/// it (one diagram per stack: paste one at a time into a Mermaid editor).
pub fn document(plans: &[Plan]) -> String {
    let mut out = String::new();
    for (i, p) in plans.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "%% stack {} ({})", label(&p.stack), label(&p.region));
        match diagram(p) {
            Some(d) => out.push_str(&d),
            None => out.push_str("%% no diagram: the plan has errors\n"),
        }
    }
    out
}

/// A label's text: ASCII letters, digits, space and `._/-·…()` as they are,
/// any other character as a Mermaid entity code.
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || " ._/-·…()".contains(c) {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", c as u32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_names_and_encode_everything_else() {
        assert_eq!(label("instance.web-1/data"), "instance.web-1/data");
        assert_eq!(
            label("x\"] --> evil[\"y\n%%{init}"),
            "x#34;#93; --#62; evil#91;#34;y#10;#37;#37;#123;init#125;"
        );
        assert!(!label("a`b<script>").contains(['`', '<', '>']));
    }
}
