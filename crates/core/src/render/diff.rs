//! Before/after values as a unified line diff (`similar`).

use similar::{ChangeTag, TextDiff};

use super::escape::visible;
use crate::plan::FieldChange;

/// Diff lines (`- …`, `+ …`, `  …`) of one field change. Each line holds one
/// line of a value with its controls shown escaped: a value with a newline
/// cannot add a line (a forged `+ …`) to the diff.
pub fn field_lines(f: &FieldChange) -> Vec<String> {
    let one_line =
        |v: Vec<String>| -> Vec<String> { v.iter().map(|l| visible(l).into_owned()).collect() };
    let before = one_line(f.before.lines());
    let after = one_line(f.after.lines());
    let field = visible(f.field.name());
    if before.len() <= 1 && after.len() <= 1 {
        let mut out = Vec::new();
        if let Some(b) = before.first() {
            out.push(format!("- {field}: {b}"));
        }
        if let Some(a) = after.first() {
            out.push(format!("+ {field}: {a}"));
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
    let mut out = vec![format!("  {field}:")];
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
