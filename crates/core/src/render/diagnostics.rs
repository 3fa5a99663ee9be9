//! Validation errors for people (terminal text, like rustc) and for GitHub
//! (workflow-command annotations shown on the pull request's diff).

use std::fmt::Write;

use super::escape::{log_lines, terminal as t, workflow_data, workflow_property};
use crate::config::Diagnostic;

/// Renders diagnostics like rustc, followed by a count line. Messages,
/// paths and source lines have their controls shown escaped, and no line is
/// a workflow command.
pub fn text(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let _ = writeln!(out, "error: {}", t(&d.message));
        let line_no = d.at.line.to_string();
        let gutter = " ".repeat(line_no.len());
        let _ = writeln!(out, "{gutter}--> {}", t(&d.at.to_string()));
        if let Some(src) = &d.source_line {
            // Tabs stay in the source and the caret line so the caret lines
            // up under what it points at, escapes included.
            let col = d.at.column.saturating_sub(1);
            let show = |s: &str| -> String {
                s.split('\t')
                    .map(|p| t(p).into_owned())
                    .collect::<Vec<_>>()
                    .join("\t")
            };
            let before: String = src.chars().take(col).collect();
            let pad: String = show(&before)
                .chars()
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{line_no} | {}", show(src));
            let _ = writeln!(out, "{gutter} | {pad}{}", "^".repeat(d.width.max(1)));
        }
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "{gutter} = hint: {}", t(hint));
        }
        out.push('\n');
    }
    out.push_str(&summary(diags));
    out.push('\n');
    log_lines(&out)
}

/// `2 errors in web.yaml` (files in order of first appearance).
fn summary(diags: &[Diagnostic]) -> String {
    let mut files: Vec<&str> = Vec::new();
    for d in diags {
        if !files.contains(&d.at.file.as_str()) {
            files.push(&d.at.file);
        }
    }
    let n = diags.len();
    let noun = if n == 1 { "error" } else { "errors" };
    if files.is_empty() {
        format!("{n} {noun}")
    } else {
        let files: Vec<String> = files.iter().map(|f| t(f).into_owned()).collect();
        format!("{n} {noun} in {}", files.join(", "))
    }
}

/// One `::error file=…,line=…,col=…,title=ec2-gitops::message (hint: …)` line
/// per diagnostic.
pub fn github_annotations(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let message = match &d.hint {
            Some(h) => format!("{} (hint: {h})", d.message),
            None => d.message.clone(),
        };
        let _ = writeln!(
            out,
            "::error file={},line={},col={},title={}::{}",
            workflow_property(&d.at.file),
            d.at.line,
            d.at.column,
            workflow_property("ec2-gitops"),
            workflow_data(&message)
        );
    }
    out
}

/// An invalid stack file as a plan comment shows it: its errors as text,
/// and each as an annotation at its file and line.
pub fn invalid_stack(file: &str, diags: &[Diagnostic]) -> crate::outcome::StackPlan {
    crate::outcome::StackPlan::Invalid {
        file: file.to_string(),
        errors: text(diags),
        at: diags
            .iter()
            .map(|d| crate::outcome::Annotation {
                path: d.at.file.clone(),
                line: d.at.line.max(1) as u32,
                level: "failure",
                message: match &d.hint {
                    Some(h) => format!("{} (hint: {h})", d.message),
                    None => d.message.clone(),
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Location;

    fn diag(file: &str, line: usize, column: usize, message: &str) -> Diagnostic {
        Diagnostic::new(
            Location {
                file: file.into(),
                line,
                column,
            },
            message,
        )
    }

    #[test]
    fn text_without_source_line() {
        let d = diag("infra/web.yaml", 1, 1, "cannot read the file").with_hint("check permissions");
        insta::assert_snapshot!(text(&[d]), @r"
        error: cannot read the file
         --> infra/web.yaml:1:1
          = hint: check permissions

        1 error in infra/web.yaml
        ");
    }

    #[test]
    fn annotations_escape_data_and_properties() {
        let d = diag("infra/a,b:c.yaml", 3, 5, "100% wrong\nreally").with_hint("fix: it, now");
        assert_eq!(
            github_annotations(&[d]),
            "::error file=infra/a%2Cb%3Ac.yaml,line=3,col=5,title=ec2-gitops::100%25 wrong%0Areally (hint: fix: it, now)\n"
        );
    }
}
