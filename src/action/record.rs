//! The job summary (`GITHUB_STEP_SUMMARY`) and outputs (`GITHUB_OUTPUT`):
//! the record of a run that does not depend on GitHub's API being reachable.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::env::ActionEnv;

/// Collects the summary and outputs of a run; written once at the end.
pub struct Record {
    summary_path: Option<PathBuf>,
    output_path: Option<PathBuf>,
    summary: String,
    outputs: Vec<(String, String)>,
}

impl Record {
    /// A record for the run described by `env`.
    pub fn new(env: &ActionEnv) -> Self {
        Self {
            summary_path: env.step_summary.clone(),
            output_path: env.output.clone(),
            summary: String::new(),
            outputs: Vec::new(),
        }
    }

    /// Adds Markdown to the job summary.
    pub fn summary(&mut self, markdown: &str) {
        self.summary.push_str(markdown);
        if !markdown.ends_with('\n') {
            self.summary.push('\n');
        }
    }

    /// Sets an output (the last value of a name wins).
    pub fn output(&mut self, name: &str, value: &str) {
        self.outputs.retain(|(n, _)| n != name);
        self.outputs.push((name.to_string(), value.to_string()));
    }

    /// Appends the summary and outputs to their files (or prints them when
    /// the runner gave none).
    pub fn finish(&self) -> Result<()> {
        if !self.summary.is_empty() {
            match &self.summary_path {
                Some(p) => append(p, &self.summary).context("cannot write the job summary")?,
                None => println!("{}", crate::render::escape::log_lines(&self.summary)),
            }
        }
        let mut text = String::new();
        for (name, value) in &self.outputs {
            text.push_str(&output_line(name, value));
        }
        if !text.is_empty() {
            match &self.output_path {
                Some(p) => append(p, &text).context("cannot write the outputs")?,
                None => print!("{}", crate::render::escape::log_lines(&text)),
            }
        }
        Ok(())
    }
}

/// One output in GitHub's file format; multi-line values use a delimiter
/// that cannot occur in the value.
fn output_line(name: &str, value: &str) -> String {
    if !value.contains('\n') {
        return format!("{name}={value}\n");
    }
    let mut delim = String::from("EC2_GITOPS_EOF");
    while value.contains(&delim) {
        delim.push('_');
    }
    format!("{name}<<{delim}\n{value}\n{delim}\n")
}

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_in_githubs_format() {
        assert_eq!(output_line("applied", "true"), "applied=true\n");
        assert_eq!(
            output_line("plan", "a\nb"),
            "plan<<EC2_GITOPS_EOF\na\nb\nEC2_GITOPS_EOF\n"
        );
        assert_eq!(
            output_line("x", "EC2_GITOPS_EOF\n"),
            "x<<EC2_GITOPS_EOF_\nEC2_GITOPS_EOF\n\nEC2_GITOPS_EOF_\n"
        );
    }
}
