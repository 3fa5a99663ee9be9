//! What an apply did: every step done, failed or skipped.

use std::fmt::Write as _;

use super::escape::{log_lines, terminal as t};
use crate::outcome::{Outcome, StepResult};

/// Counts of an apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Steps done.
    pub done: usize,
    /// Steps that failed.
    pub failed: usize,
    /// Steps skipped because something they need failed.
    pub skipped: usize,
}

/// Counts the outcomes.
pub fn tally(results: &[StepResult]) -> Tally {
    let mut t = Tally::default();
    for r in results {
        match r.outcome {
            Outcome::Done(_) => t.done += 1,
            Outcome::Failed(_) => t.failed += 1,
            Outcome::Skipped(_) => t.skipped += 1,
        }
    }
    t
}

/// One line per step, as the terminal shows it when the step ends; what
/// EC2 said is shown with its controls escaped.
pub fn step_line(r: &StepResult) -> String {
    let resource = r.step.resource.to_string();
    let resource = t(&resource);
    let line = match &r.outcome {
        Outcome::Done(text) => format!(
            "  done     {resource}: {} ({:.1}s)",
            t(text),
            r.elapsed.as_secs_f64()
        ),
        Outcome::Failed(e) => format!("  FAILED   {resource}: {}", t(&e.to_string())),
        Outcome::Skipped(why) => format!("  skipped  {resource}: {}", t(why)),
    };
    log_lines(&line)
}

/// The apply report for a terminal (and a CI log: no line of it is a
/// workflow command).
pub fn text(stack: &str, results: &[StepResult], seconds: f64) -> String {
    log_lines(&render_text(&t(stack), results, seconds))
}

fn render_text(stack: &str, results: &[StepResult], seconds: f64) -> String {
    let t = tally(results);
    let mut out = String::new();
    if t.failed == 0 {
        let _ = writeln!(
            out,
            "Apply of stack {stack} complete: {} step(s) done in {seconds:.1}s.",
            t.done
        );
        out.push_str(&kept_text(results));
        return out;
    }
    let _ = writeln!(
        out,
        "Apply of stack {stack} FAILED: {} done, {} failed, {} skipped ({seconds:.1}s).",
        t.done, t.failed, t.skipped
    );
    let _ = writeln!(out, "\nFailed:");
    for r in results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
    {
        let _ = writeln!(out, "{}", step_line(r));
    }
    if t.skipped > 0 {
        let _ = writeln!(out, "\nNot attempted:");
        for r in results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        {
            let _ = writeln!(out, "{}", step_line(r));
        }
    }
    if t.done > 0 {
        let _ = writeln!(out, "\nDone:");
        for r in results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Done(_)))
        {
            let _ = writeln!(out, "{}", step_line(r));
        }
    }
    out.push_str(&kept_text(results));
    let _ = writeln!(
        out,
        "\nWhat was done stays done. Fix the cause and run apply again: it re-plans from EC2 and does only what is left."
    );
    out
}

/// The snapshots taken of deleted data volumes, one line each; empty when
/// none was.
fn kept_text(results: &[StepResult]) -> String {
    let kept: Vec<String> = results
        .iter()
        .filter_map(|r| Some(format!("  {}: {}", r.step.resource, r.kept.as_ref()?)))
        .collect();
    if kept.is_empty() {
        return String::new();
    }
    format!(
        "Snapshots of deleted data volumes (ec2-gitops never deletes them):\n{}\n",
        kept.join("\n")
    )
}
