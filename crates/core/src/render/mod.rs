//! Everything a person reads: plans (terminal text, Markdown, JSON), apply
//! reports, validation errors, comments and the action's log notes. Pure:
//! values in, strings out.

pub mod check_run;
pub mod comment;
pub mod diagnostics;
mod diff;
pub mod escape;
pub mod groups;
pub mod markdown;
pub mod mermaid;
pub mod notes;
pub mod outputs;
pub mod report;
#[cfg(test)]
pub(crate) mod structure;
pub mod text;

use crate::plan::{Plan, RolloutPlan, Summary};

/// Batches shown in a plan before the rest is counted.
const ROLLOUT_BATCHES_SHOWN: usize = 10;

/// The line saying how an entry's members are spread over its subnets:
/// `Spread of web over 3 subnets: zone us-east-1a ×2, … (balanced)`.
/// `name` formats a name for the output (escaping it).
pub fn spread_line(s: &crate::plan::spread::Spread, name: impl Fn(&str) -> String) -> String {
    let places: Vec<String> = s
        .places
        .iter()
        .map(|(p, n)| format!("{} ×{n}", name(p)))
        .collect();
    let mut line = format!(
        "Spread of {} over {} subnets: {} ({})",
        name(&s.entry),
        s.places.len(),
        places.join(", "),
        if s.balanced() {
            "balanced"
        } else {
            "unbalanced"
        }
    );
    if !s.removed.is_empty() {
        let removed: Vec<String> = s.removed.iter().map(|n| name(n)).collect();
        line.push_str(&format!(
            "; the scale-in removes {}, the highest indexes, so the spread stays {}",
            removed.join(", "),
            if s.balanced() {
                "balanced"
            } else {
                "as even as it can"
            }
        ));
    }
    line
}

/// A rollout in one line: `Rollout of web: 4 batches of at most 1, each
/// healthy (status checks) within 10m before the next: web-1 → web-2 → …`.
/// `name` formats a name for the output (escaping it).
pub fn rollout_line(r: &RolloutPlan, name: impl Fn(&str) -> String) -> String {
    let size = r.batches.iter().map(Vec::len).max().unwrap_or(1);
    let gate = match r.health {
        crate::model::Health::StatusChecks => "EC2 status checks ok",
        crate::model::Health::Running => "running",
    };
    let timeout = match r.timeout_secs {
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    };
    let mut batches: Vec<String> = r
        .batches
        .iter()
        .take(ROLLOUT_BATCHES_SHOWN)
        .map(|b| {
            let names: Vec<String> = b.iter().map(|n| name(n)).collect();
            if names.len() == 1 {
                names.concat()
            } else {
                format!("[{}]", names.join(", "))
            }
        })
        .collect();
    if r.batches.len() > ROLLOUT_BATCHES_SHOWN {
        batches.push(format!(
            "… ({} more)",
            r.batches.len() - ROLLOUT_BATCHES_SHOWN
        ));
    }
    format!(
        "Rollout of {}: {} batch{} of at most {size}, each {gate} within {timeout} before the next: {}",
        name(&r.entry),
        r.batches.len(),
        if r.batches.len() == 1 { "" } else { "es" },
        batches.join(" → ")
    )
}

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
