//! `extends: PATH` — a stack file written on top of a base file: the stack
//! is the base deep-merged with the file. Maps merge key by key, lists and
//! scalars are replaced, and `null` removes a key. A base may extend
//! another; a cycle is an error. Every node keeps the file it was written
//! in, so a diagnostic points into the base or the overlay.
//!
//! Pure: the caller reads the files (inside the repository only).

use super::FileError;
use super::files::normalize;
use super::yaml::{self, Node, NodeKind, Pos, Value};

/// The top-level key that names the base file.
pub const KEY: &str = "extends";

/// Longest chain of bases (a stack on a base on a base …).
pub const MAX_DEPTH: usize = 8;

/// A file the stack extends, read and parsed.
pub struct Base {
    /// How it is shown: its path next to the stack file's (`infra/base/web.yaml`).
    pub shown: String,
    /// Its folder, relative to the stack file's folder (`../base`).
    pub dir: String,
    /// Its text.
    pub text: String,
    /// Its document (positions not yet stamped with its index).
    pub root: Option<Node>,
}

/// A problem found while following `extends`, in the file at `file`
/// (0: the stack file; i: the i-th base).
pub struct Problem {
    /// Where: the `extends` value, or where the base's YAML broke.
    pub start: Pos,
    /// End of the span underlined.
    pub end: Pos,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// The `extends` value of a document's top-level map, if any.
fn extends_of(root: Option<&Node>) -> Option<&Node> {
    match &root?.kind {
        NodeKind::Map(items) => items
            .iter()
            .find(|(k, _)| k.text() == Some(KEY))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn folder(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => path[..i].to_string(),
        None => String::new(),
    }
}

fn join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        normalize(path)
    } else {
        normalize(&format!("{dir}/{path}"))
    }
}

/// Follows the `extends` chain of the stack file `shown` (whose document is
/// `root`): the bases in order (the one it extends first), and the problems
/// met. `read(path relative to the stack file's folder)` reads a base.
pub fn chain(
    shown: &str,
    root: Option<&Node>,
    read: &dyn Fn(&str) -> Result<String, FileError>,
) -> (Vec<Base>, Vec<Problem>) {
    let mut bases: Vec<Base> = Vec::new();
    let mut problems = Vec::new();
    let mut visited = vec![normalize(shown)];
    let stack_dir = folder(shown);
    // The `extends` value being followed (cloned: the bases it points into
    // grow as the chain is read).
    let mut current: Option<Node> = extends_of(root).cloned();
    let mut from_dir = String::new();
    let mut at_file: u16 = 0;
    while let Some(value) = current.take() {
        let stamp = |mut p: Pos| {
            p.file = at_file;
            p
        };
        let fail = |message: String, hint: Option<String>| Problem {
            start: stamp(value.start),
            end: stamp(value.end),
            message,
            hint,
        };
        let Some(path) = value.text().filter(|_| value.value() != Some(Value::Null)) else {
            problems.push(fail(
                format!(
                    "expected the path of a base file, found {}",
                    value.describe()
                ),
                Some("write `extends: ../base/web.yaml`, relative to this file".into()),
            ));
            break;
        };
        if path.is_empty() || path.starts_with(['/', '\\']) || path.get(1..2) == Some(":") {
            problems.push(fail(
                format!("`extends` must be a path relative to this file, found {path:?}"),
                Some(
                    "a stack reads only files inside its repository: write e.g. `../base/web.yaml`"
                        .into(),
                ),
            ));
            break;
        }
        let relative = join(&from_dir, path);
        let shown_base = join(&stack_dir, &relative);
        if let Some(first) = visited.iter().position(|v| *v == shown_base) {
            let mut cycle: Vec<&str> = visited[first..].iter().map(String::as_str).collect();
            cycle.push(&shown_base);
            problems.push(fail(
                format!("`extends` makes a cycle: {}", cycle.join(" → ")),
                Some("a base must not extend, directly or not, a file that extends it".into()),
            ));
            break;
        }
        if bases.len() >= MAX_DEPTH {
            problems.push(fail(
                format!("`extends` goes more than {MAX_DEPTH} files deep"),
                Some("flatten the chain of base files".into()),
            ));
            break;
        }
        let text = match read(&relative) {
            Ok(text) => text,
            Err(e) => {
                let (message, hint) = e.base_file(path);
                problems.push(fail(message, Some(hint)));
                break;
            }
        };
        let index = (bases.len() + 1) as u16;
        let root = match yaml::parse(&text) {
            Ok(root) => root,
            Err(e) => {
                let mut at = e.at;
                at.file = index;
                problems.push(Problem {
                    start: at,
                    end: Pos {
                        col: at.col + 1,
                        ..at
                    },
                    message: e.message.clone(),
                    hint: e.hint.clone(),
                });
                None
            }
        };
        visited.push(shown_base.clone());
        from_dir = folder(&relative);
        bases.push(Base {
            shown: shown_base,
            dir: from_dir.clone(),
            text,
            root,
        });
        at_file = index;
        current = bases
            .last()
            .and_then(|b| extends_of(b.root.as_ref()))
            .cloned();
    }
    (bases, problems)
}

/// Sets the file index of every position of `node`.
pub fn stamp(node: &mut Node, file: u16) {
    node.start.file = file;
    node.end.file = file;
    match &mut node.kind {
        NodeKind::Scalar { .. } => {}
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| stamp(n, file)),
        NodeKind::Map(items) => {
            for (k, v) in items {
                stamp(k, file);
                stamp(v, file);
            }
        }
    }
}

/// Removes the top-level `extends` key of a document.
pub fn strip(root: &mut Node) {
    if let NodeKind::Map(items) = &mut root.kind {
        items.retain(|(k, _)| k.text() != Some(KEY));
    }
}

fn is_null(n: &Node) -> bool {
    matches!(n.kind, NodeKind::Scalar { .. }) && n.value() == Some(Value::Null)
}

/// `over` written on top of `base`: maps merge key by key (a key keeps its
/// place in the base; new keys follow), anything else is replaced, and a
/// `null` value removes the key. A key written twice in `over` is kept
/// twice, so the duplicate is reported as in any file.
pub fn merge(base: Node, over: Node) -> Node {
    match (base.kind, over.kind) {
        (NodeKind::Map(mut merged), NodeKind::Map(items)) => {
            let mut seen: Vec<String> = Vec::new();
            for (k, v) in items {
                let key = k.text().map(str::to_string);
                let first_time = key.as_ref().is_some_and(|key| !seen.contains(key));
                let found = key
                    .as_ref()
                    .filter(|_| first_time)
                    .and_then(|key| merged.iter().position(|(bk, _)| bk.text() == Some(key)));
                if let Some(key) = &key {
                    seen.push(key.clone());
                }
                match found {
                    Some(i) if is_null(&v) => {
                        merged.remove(i);
                    }
                    Some(i) => {
                        let (_, old) = merged.remove(i);
                        merged.insert(i, (k, merge(old, v)));
                    }
                    None if is_null(&v) && first_time => {}
                    None => merged.push((k, v)),
                }
            }
            Node {
                start: over.start,
                end: over.end,
                kind: NodeKind::Map(merged),
            }
        }
        (_, kind) => Node {
            start: over.start,
            end: over.end,
            kind,
        },
    }
}
