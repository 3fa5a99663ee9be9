//! Everything a person reads: plans (terminal text, Markdown, JSON), apply
//! reports and validation errors. Pure: values in, strings out.

#[cfg(test)]
pub(crate) mod check;
pub mod comment;
pub mod diagnostics;
mod diff;
pub mod escape;
pub mod markdown;
pub mod report;
pub mod text;

use crate::plan::{Plan, Summary};

/// The summary line (`Plan: 2 to create, 1 to update (1 restart), …`).
pub fn summary_line(s: &Summary) -> String {
    let mut line = format!(
        "Plan: {} to create, {} to update{}, {} to replace, {} to destroy",
        s.create,
        s.update,
        if s.restart > 0 {
            format!(" ({} restart)", s.restart)
        } else {
            String::new()
        },
        s.replace,
        s.destroy
    );
    if s.blocked > 0 {
        line.push_str(&format!(", {} blocked", s.blocked));
    }
    line
}

/// The plan as JSON (`--format json`, `--out`): stable field names, see the
/// README's "JSON output".
pub fn json(plans: &[Plan]) -> String {
    let s = serde_json::to_string_pretty(&serde_json::json!({ "plans": plans }))
        .expect("plans serialize");
    let mut s = escape::json(&s);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests;
