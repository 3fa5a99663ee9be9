//! Before/after values as a unified line diff (`similar`).

use similar::{ChangeTag, TextDiff};

use crate::plan::FieldChange;

/// Diff lines (`- …`, `+ …`, `  …`) of one field change.
pub fn field_lines(f: &FieldChange) -> Vec<String> {
    let before = f.before.lines();
    let after = f.after.lines();
    if before.len() <= 1 && after.len() <= 1 {
        let mut out = Vec::new();
        if let Some(b) = before.first() {
            out.push(format!("- {}: {b}", f.field));
        }
        if let Some(a) = after.first() {
            out.push(format!("+ {}: {a}", f.field));
        }
        return out;
    }
    let text = |lines: &[String]| {
        if lines.is_empty() {
            String::new()
        } else {
            lines.join("\n") + "\n"
        }
    };
    let (old, new) = (text(&before), text(&after));
    let diff = TextDiff::from_lines(&old, &new);
    let mut out = vec![format!("  {}:", f.field)];
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        out.push(format!(
            "{sign}   {}",
            change.value().trim_end_matches('\n')
        ));
    }
    out
}
