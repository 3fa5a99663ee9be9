//! `after:` across stacks: the names must be stacks of the repository and
//! make no cycle; a merge applies the stacks it touches in that order.
//! Pure.

use std::collections::{BTreeMap, BTreeSet};

use super::Diagnostic;
use crate::model::Desired;

/// The problems of the `after` lists of `stacks`, each with the file it is
/// in: a stack naming itself, a cycle, and — when the repository's other
/// stacks are known (`others`: their names; `None` when they cannot be
/// told) — a name no stack has.
pub fn check(stacks: &[Desired], others: Option<&BTreeSet<String>>) -> Vec<Diagnostic> {
    let complete = others.is_some();
    let mut names: BTreeSet<&str> = stacks.iter().map(|s| s.stack.as_str()).collect();
    names.extend(others.into_iter().flatten().map(String::as_str));
    let mut out = Vec::new();
    for s in stacks {
        for (name, at) in &s.after {
            if *name == s.stack {
                out.push(
                    Diagnostic::new(
                        at.clone(),
                        format!("stack `{name}` cannot be applied after itself"),
                    )
                    .with_hint("name another stack in `after`, or remove it"),
                );
            } else if complete && !names.contains(name.as_str()) {
                let known: Vec<&str> = names.iter().copied().filter(|n| *n != s.stack).collect();
                let hint = match super::decode::did_you_mean(name, &known) {
                    Some(m) => format!(
                        "did you mean `{m}`? stacks of this repository: {}",
                        known.join(", ")
                    ),
                    None if known.is_empty() => {
                        "this is the only stack of the repository".to_string()
                    }
                    None => format!("stacks of this repository: {}", known.join(", ")),
                };
                out.push(
                    Diagnostic::new(
                        at.clone(),
                        format!("`after` names stack `{name}`, which no stack file declares"),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
    if let Some(cycle) = cycle(stacks) {
        let first = stacks.iter().find(|s| s.stack == cycle[0]);
        let at = first
            .and_then(|s| s.after.iter().find(|(n, _)| *n == cycle[1]))
            .map(|(_, at)| at.clone());
        if let Some(at) = at {
            out.push(
                Diagnostic::new(at, format!("`after` makes a cycle: {}", cycle.join(" → ")))
                    .with_hint(
                        "a stack cannot wait, directly or not, for a stack that waits for it",
                    ),
            );
        }
    }
    out
}

/// A cycle of `after` (names, the first repeated at the end), if any.
fn cycle(stacks: &[Desired]) -> Option<Vec<String>> {
    let edges: BTreeMap<&str, Vec<&str>> = stacks
        .iter()
        .map(|s| {
            let after = s
                .after
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| *n != s.stack);
            (s.stack.as_str(), after.collect())
        })
        .collect();
    // Depth-first search with colours: 1 on the path, 2 done.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    for &start in edges.keys() {
        if colour.contains_key(start) {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        colour.insert(start, 1);
        while let Some((node, next)) = path.last_mut() {
            let targets = edges.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if *next < targets.len() {
                let t = targets[*next];
                *next += 1;
                match colour.get(t) {
                    Some(1) => {
                        let from = path.iter().position(|(n, _)| *n == t).unwrap_or(0);
                        let mut names: Vec<String> =
                            path[from..].iter().map(|(n, _)| n.to_string()).collect();
                        names.push(t.to_string());
                        return Some(names);
                    }
                    Some(_) => {}
                    None if edges.contains_key(t) => {
                        colour.insert(t, 1);
                        path.push((t, 0));
                    }
                    None => {}
                }
            } else {
                colour.insert(node, 2);
                path.pop();
            }
        }
    }
    None
}

/// `stacks` in an order where each comes after the stacks of `stacks` it
/// names in `after`; otherwise as given. Stacks outside the set impose
/// nothing. (A cycle is a validation error; should one reach here, the
/// stacks in it keep their given order.)
pub fn apply_order<'a>(stacks: &[&'a Desired]) -> Vec<&'a Desired> {
    let present: BTreeSet<&str> = stacks.iter().map(|s| s.stack.as_str()).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out: Vec<&Desired> = Vec::with_capacity(stacks.len());
    while out.len() < stacks.len() {
        let ready = stacks.iter().find(|s| {
            !done.contains(s.stack.as_str())
                && s.after.iter().all(|(n, _)| {
                    !present.contains(n.as_str()) || done.contains(n.as_str()) || *n == s.stack
                })
        });
        // No stack ready: a cycle; take the first left.
        let next = ready
            .or_else(|| stacks.iter().find(|s| !done.contains(s.stack.as_str())))
            .copied()
            .expect("a stack is left");
        done.insert(next.stack.as_str());
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Location;

    fn stack(name: &str, after: &[&str]) -> Desired {
        Desired {
            stack: name.into(),
            region: "us-east-1".into(),
            file: format!("infra/{name}.yaml"),
            sources: vec![],
            key_pairs: Default::default(),
            security_groups: Default::default(),
            instances: Default::default(),
            volumes: Default::default(),
            elastic_ips: Default::default(),
            target_groups: Default::default(),
            load_balancers: Default::default(),
            tags: Default::default(),
            account: None,
            environment: None,
            after: after
                .iter()
                .map(|n| {
                    (
                        n.to_string(),
                        Location {
                            file: format!("infra/{name}.yaml"),
                            line: 4,
                            column: 9,
                        },
                    )
                })
                .collect(),
            preview: None,
            preview_of: None,
        }
    }

    fn names(v: &[&Desired]) -> Vec<String> {
        v.iter().map(|s| s.stack.clone()).collect()
    }

    #[test]
    fn stacks_are_applied_after_the_ones_they_name() {
        let prod = stack("production", &["staging"]);
        let staging = stack("staging", &["base-net"]);
        let other = stack("other", &[]);
        let order = apply_order(&[&prod, &other, &staging]);
        assert_eq!(names(&order), ["other", "staging", "production"]);
        // A stack outside the set (base-net) imposes nothing.
        assert_eq!(names(&apply_order(&[&prod])), ["production"]);
    }

    #[test]
    fn unknown_names_self_and_cycles_are_errors() {
        let stacks = vec![
            stack("production", &["stagign"]),
            stack("staging", &["staging"]),
            stack("a", &["b"]),
            stack("b", &["a"]),
        ];
        let d = check(&stacks, Some(&BTreeSet::new()));
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`after` names stack `stagign`, which no stack file declares",
                "stack `staging` cannot be applied after itself",
                "`after` makes a cycle: a → b → a",
            ]
        );
        assert_eq!(
            d[0].hint
                .as_deref()
                .map(|h| h.starts_with("did you mean `staging`?")),
            Some(true)
        );
        // Only part of the repository loaded: an unknown name is not known to be wrong.
        assert_eq!(check(&stacks[..1], None).len(), 0);
    }
}
