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
        crate::model::Health::TargetGroup => "healthy in its target groups",
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
    let rotation = if r.target_groups.is_empty() {
        String::new()
    } else {
        let groups: Vec<String> = r.target_groups.iter().map(|g| name(g)).collect();
        format!(
            " ({size} of {} servers out of rotation at once: each batch leaves {} and drains before it changes, and joins again after)",
            r.servers,
            groups.join(", ")
        )
    };
    format!(
        "Rollout of {}: {} batch{} of at most {size}{rotation}, each {gate} within {timeout} before the next: {}",
        name(&r.entry),
        r.batches.len(),
        if r.batches.len() == 1 { "" } else { "es" },
        batches.join(" → ")
    )
}

/// A load balancer in one line: `Load balancer front (internet-facing) at
/// front-….elb.amazonaws.com: 80 HTTP → redirect to https:443; 443 HTTPS →
/// target group web; web serves web-1, web-2`. `name` formats a name (or
/// any text from YAML or ELB) for the output (escaping it).
pub fn front_line(f: &crate::plan::fronts::Front, name: impl Fn(&str) -> String) -> String {
    let at = match (&f.dns_name, &f.replaces_dns) {
        (Some(dns), _) => format!("at {}", name(dns)),
        (None, Some(old)) => format!(
            "at a new DNS name, known after the apply (replaces {}: point the site's DNS at the new one)",
            name(old)
        ),
        (None, None) => "at a DNS name known after the apply".to_string(),
    };
    let listeners: Vec<String> = f
        .listeners
        .iter()
        .map(|(port, to)| format!("{port} {}", name(to)))
        .collect();
    let mut line = format!(
        "Load balancer {} ({}) {at}: {}",
        name(&f.name),
        f.scheme,
        listeners.join("; ")
    );
    for (group, servers) in &f.groups {
        let servers: Vec<String> = servers.iter().map(|s| name(s)).collect();
        let who = if servers.is_empty() {
            "no servers".to_string()
        } else {
            servers.join(", ")
        };
        line.push_str(&format!("; {} serves {who}", name(group)));
    }
    line
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
