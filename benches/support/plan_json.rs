//! What a plan that should have been empty says, from its JSON
//! (`plan --format json`): for a benchmark's failure message.

use std::fmt::Write as _;

use super::process;

/// The plan's summary, errors and first `shown` changes, field by field.
pub fn differences(stdout: &str, shown: usize) -> String {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(stdout) else {
        return format!("stdout (not JSON):\n{}", process::tail(stdout, 40));
    };
    let mut out = String::new();
    for plan in json["plans"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "summary: {}", plan["summary"]);
        for e in plan["errors"].as_array().into_iter().flatten() {
            let _ = writeln!(out, "error: {} {}", e["resource"], e["message"]);
        }
        let changes = plan["changes"].as_array().cloned().unwrap_or_default();
        for c in changes.iter().take(shown) {
            let _ = writeln!(
                out,
                "{} {}/{} ({})",
                c["action"].as_str().unwrap_or("?"),
                c["resource"]["kind"].as_str().unwrap_or("?"),
                c["resource"]["name"].as_str().unwrap_or("?"),
                c["live_id"]
            );
            for f in c["fields"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "    {}: {} -> {}",
                    f["field"].as_str().unwrap_or("?"),
                    f["before"],
                    f["after"]
                );
            }
        }
        if changes.len() > shown {
            let _ = writeln!(out, "… and {} more changes", changes.len() - shown);
        }
    }
    out
}
