//! The order a reviewer reads a plan in: creations, updates and replacements
//! first, destroys last; within each, key pairs, groups, instances, volumes,
//! then addresses; and names in natural order (`web-2` before `web-10`).

use std::cmp::Ordering;

use super::{Action, Change};

/// Compares two names as a person does: runs of digits by their value, the
/// rest character by character. Names that only differ in leading zeros
/// (`web-01`, `web-1`) fall back to plain order, so only equal names are
/// equal.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return a.cmp(b),
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let dx = digits(x);
        let dy = digits(y);
        let step = if dx > 0 && dy > 0 {
            let (nx, ny) = (
                x[..dx].trim_start_matches('0'),
                y[..dy].trim_start_matches('0'),
            );
            nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny))
        } else {
            let cx = x.chars().next().expect("not empty");
            let cy = y.chars().next().expect("not empty");
            cx.cmp(&cy)
        };
        if step != Ordering::Equal {
            return step;
        }
        let (sx, sy) = if dx > 0 && dy > 0 {
            (dx, dy)
        } else {
            (
                x.chars().next().map_or(0, char::len_utf8),
                y.chars().next().map_or(0, char::len_utf8),
            )
        };
        x = &x[sx..];
        y = &y[sy..];
    }
}

/// The distinct values of a list (rules, say) in natural order: `tcp 80`
/// before `tcp 443`.
pub fn natural_list(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = values.into_iter().collect();
    v.sort_by(|a, b| natural_cmp(a, b));
    v.dedup();
    v
}

/// The length in bytes of the run of ASCII digits `s` starts with.
fn digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// Sorts a plan's changes in the reviewer's order (see the module).
pub fn sort(changes: &mut [Change]) {
    changes.sort_by(|a, b| {
        (a.action == Action::Destroy)
            .cmp(&(b.action == Action::Destroy))
            .then_with(|| a.resource.kind.cmp(&b.resource.kind))
            .then_with(|| natural_cmp(&a.resource.name, &b.resource.name))
            .then_with(|| a.live_id.cmp(&b.live_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_names_compare_by_value() {
        let mut names = vec![
            "node-100",
            "node-11",
            "node-2",
            "node-1",
            "node-10",
            "db",
            "node-1/data",
            "node-01",
            "a10b2",
            "a10b10",
            "a9",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "a9",
                "a10b2",
                "a10b10",
                "db",
                "node-01",
                "node-1",
                "node-1/data",
                "node-2",
                "node-10",
                "node-11",
                "node-100"
            ]
        );
    }

    #[test]
    fn rules_list_ports_by_value() {
        let rules = [
            "tcp 443 ::/0",
            "tcp 80 0.0.0.0/0",
            "tcp 22 group admin",
            "tcp 80 0.0.0.0/0",
        ];
        assert_eq!(
            natural_list(rules.map(String::from)),
            ["tcp 22 group admin", "tcp 80 0.0.0.0/0", "tcp 443 ::/0"]
        );
    }

    #[test]
    fn only_equal_names_are_equal() {
        assert_eq!(natural_cmp("web-1", "web-1"), Ordering::Equal);
        assert_ne!(natural_cmp("web-01", "web-1"), Ordering::Equal);
        assert_eq!(
            natural_cmp("web-01", "web-1"),
            natural_cmp("web-1", "web-01").reverse()
        );
        assert_eq!(natural_cmp("", "a"), Ordering::Less);
        assert_eq!(natural_cmp("é2", "é10"), Ordering::Less);
    }
}
