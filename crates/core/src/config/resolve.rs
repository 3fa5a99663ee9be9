//! The resolved stack as YAML (what `ec2-gitops resolve` prints): the stack
//! file with its bases merged in, each value followed by a `# from
//! FILE:LINE` comment naming where it was written.

use super::yaml::{Node, NodeKind, Value};

/// Writes `root` as block YAML; `file_name(index)` names the file of a
/// position.
pub fn emit(root: &Node, file_name: &dyn Fn(u16) -> String) -> String {
    let mut out = Vec::new();
    match &root.kind {
        NodeKind::Scalar { .. } => out.push(scalar_line("", root, file_name)),
        _ => block(root, 0, file_name, &mut out),
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn origin(node: &Node, file_name: &dyn Fn(u16) -> String) -> String {
    let file = file_name(node.start.file);
    let file = if super::is_single_line(&file) {
        file
    } else {
        file.escape_debug().to_string()
    };
    format!("# from {file}:{}", node.start.line)
}

/// The lines of a collection at `indent`.
fn block(node: &Node, indent: usize, file_name: &dyn Fn(u16) -> String, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    match &node.kind {
        NodeKind::Map(items) => {
            for (k, v) in items {
                let key = format!("{pad}{}:", key_text(k));
                entry(key, v, indent, file_name, out);
            }
        }
        NodeKind::Seq(items) => {
            for v in items {
                match &v.kind {
                    // `- key: value`, the map's other keys under the first.
                    NodeKind::Map(m) if !m.is_empty() => {
                        let first = out.len();
                        block(v, indent + 2, file_name, out);
                        out[first].replace_range(..indent + 2, &format!("{pad}- "));
                    }
                    _ => entry(format!("{pad}-"), v, indent, file_name, out),
                }
            }
        }
        NodeKind::Scalar { .. } => out.push(scalar_line(&pad, node, file_name)),
    }
}

/// One `key:` or `-` and its value.
fn entry(
    lead: String,
    v: &Node,
    indent: usize,
    file_name: &dyn Fn(u16) -> String,
    out: &mut Vec<String>,
) {
    match &v.kind {
        NodeKind::Scalar { text, plain } => {
            if !*plain && text.contains('\n') && literal_ok(text) {
                let chomp = if text.ends_with("\n\n") {
                    "+"
                } else if text.ends_with('\n') {
                    ""
                } else {
                    "-"
                };
                out.push(format!("{lead} |{chomp}  {}", origin(v, file_name)));
                let pad = " ".repeat(indent + 2);
                for line in text.trim_end_matches('\n').split('\n') {
                    if line.is_empty() {
                        out.push(String::new());
                    } else {
                        out.push(format!("{pad}{line}"));
                    }
                }
                for _ in 1..text.len() - text.trim_end_matches('\n').len() {
                    out.push(String::new());
                }
            } else {
                out.push(format!("{lead} {}  {}", scalar(v), origin(v, file_name)));
            }
        }
        NodeKind::Map(items) if items.is_empty() => {
            out.push(format!("{lead} {{}}  {}", origin(v, file_name)));
        }
        NodeKind::Seq(items) if items.is_empty() => {
            out.push(format!("{lead} []  {}", origin(v, file_name)));
        }
        _ => {
            out.push(lead);
            block(v, indent + 2, file_name, out);
        }
    }
}

fn scalar_line(pad: &str, node: &Node, file_name: &dyn Fn(u16) -> String) -> String {
    format!("{pad}{}  {}", scalar(node), origin(node, file_name))
}

fn key_text(k: &Node) -> String {
    match &k.kind {
        NodeKind::Scalar { .. } => scalar(k),
        // A collection as a key: never valid in a stack file; shown quoted.
        _ => quoted(&k.describe()),
    }
}

/// A scalar as YAML that reads back as the same value.
fn scalar(node: &Node) -> String {
    let NodeKind::Scalar { text, plain } = &node.kind else {
        return quoted(&node.describe());
    };
    match node.value() {
        // Written plain and not a string: the same text means the same.
        Some(Value::Null) if *plain && text.is_empty() => "null".into(),
        Some(Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_)) if *plain => {
            text.clone()
        }
        Some(Value::Str(_))
            if super::yaml::resolve(text) == Value::Str(text) && safe_plain(text) =>
        {
            text.clone()
        }
        _ => quoted(text),
    }
}

/// Text that YAML reads as itself when written plain.
fn safe_plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/@+-=,()~ ".contains(c))
        && !"-?:,[]{}#&*!|>'\"%@` ~".contains(first)
        && !text.ends_with(' ')
        && !text.contains(" #")
        && !text.contains(": ")
}

/// Double-quoted YAML (JSON's escapes are YAML's).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A multi-line text a literal block shows as written: printable, no tab
/// or trailing space, first line not indented.
fn literal_ok(text: &str) -> bool {
    !text.starts_with([' ', '\n'])
        && text.split('\n').all(|l| {
            !l.ends_with(' ')
                && l.chars().all(|c| !c.is_control() || c == '\t')
                && !l.contains('\t')
        })
        && super::is_single_line(&text.replace('\n', ""))
}

/// Rewrites each `user_data_file` written in a base (relative to the base)
/// as a path relative to the stack file, so the printed YAML reads the
/// same files. `dirs[i]` is file i's folder relative to the stack file's.
pub fn paths_from_stack(node: &mut Node, dirs: &[&str]) {
    match &mut node.kind {
        NodeKind::Scalar { .. } => {}
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| paths_from_stack(n, dirs)),
        NodeKind::Map(items) => {
            for (k, v) in items {
                let dir = dirs.get(v.start.file as usize).copied().unwrap_or("");
                if k.text() == Some("user_data_file")
                    && !dir.is_empty()
                    && let NodeKind::Scalar { text, .. } = &mut v.kind
                {
                    *text = super::files::normalize(&format!("{dir}/{text}"));
                } else {
                    paths_from_stack(v, dirs);
                }
            }
        }
    }
}
