//! The action's outputs as JSON (`result-json`) and the plan status's
//! one-line description: per stack its summary and fingerprint, and after an
//! apply every step.

use crate::outcome::{Outcome, StackApply, StackPlan};
use crate::render;

pub fn plan_description(stacks: &[StackPlan]) -> String {
    let bad = stacks.iter().filter(|s| !s.is_ok()).count();
    if bad > 0 {
        return format!("{bad} of {} stack(s) could not be planned", stacks.len());
    }
    let mut total = crate::plan::Summary::default();
    for s in stacks {
        if let StackPlan::Planned(p) = s {
            total.create += p.summary.create;
            total.update += p.summary.update;
            total.restart += p.summary.restart;
            total.replace += p.summary.replace;
            total.destroy += p.summary.destroy;
            total.blocked += p.summary.blocked;
        }
    }
    render::summary_line(&total)
}

/// `result-json` of a plan run: per stack its summary and fingerprint.
pub fn plans_json(stacks: &[StackPlan]) -> String {
    let v: Vec<serde_json::Value> = stacks
        .iter()
        .map(|s| match s {
            StackPlan::Planned(p) => serde_json::json!({
                "stack": p.stack, "region": p.region, "file": p.file,
                "result": if p.errors.is_empty() { "planned" } else { "plan-errors" },
                "fingerprint": p.fingerprint, "summary": p.summary,
            }),
            StackPlan::Invalid { file, errors, .. } => {
                serde_json::json!({ "file": file, "result": "invalid", "error": errors })
            }
            StackPlan::Failed { file, error } => {
                serde_json::json!({ "file": file, "result": "failed", "error": error })
            }
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_default()
}

pub fn results_json(results: &[StackApply]) -> String {
    let v: Vec<serde_json::Value> = results
        .iter()
        .map(|r| match r {
            StackApply::Applied {
                plan,
                results,
                seconds,
            } => {
                let t = render::report::tally(results);
                let steps: Vec<serde_json::Value> = results
                    .iter()
                    .map(|r| {
                        let (outcome, detail) = match &r.outcome {
                            Outcome::Done(t) => ("done", t.clone()),
                            Outcome::Failed(e) => ("failed", e.to_string()),
                            Outcome::Skipped(w) => ("skipped", w.clone()),
                        };
                        serde_json::json!({
                            "resource": r.step.resource.to_string(),
                            "outcome": outcome,
                            "detail": detail,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "stack": plan.stack, "region": plan.region,
                    "result": if t.failed == 0 { "applied" } else { "failed" },
                    "fingerprint": plan.fingerprint, "summary": plan.summary,
                    "done": t.done, "failed": t.failed, "skipped": t.skipped,
                    "seconds": seconds, "steps": steps,
                })
            }
            StackApply::NoChanges { stack, region } => {
                serde_json::json!({ "stack": stack, "region": region, "result": "no-changes" })
            }
            StackApply::NotApplied { stack, refusal } => {
                let reason = render::comment::refusal_text(refusal);
                serde_json::json!({ "stack": stack, "result": "not-applied", "reason": reason })
            }
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_default()
}

/// A stack's deployment status after an apply: its state and description.
pub fn deployment(r: &StackApply) -> (&'static str, String) {
    match r {
        StackApply::Applied { plan, .. } => (
            if r.is_ok() { "success" } else { "failure" },
            render::summary_line(&plan.summary),
        ),
        StackApply::NoChanges { .. } => ("success", "no changes".to_string()),
        StackApply::NotApplied { .. } => ("failure", "not applied".to_string()),
    }
}
