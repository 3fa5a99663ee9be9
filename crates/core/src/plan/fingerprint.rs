//! The plan's fingerprint: what a reviewer approved, in 16 hex digits.
//!
//! It hashes every change (before values are the live values the plan was
//! computed from, after values the desired ones, creations included) and the
//! errors (warnings follow from the changes) and, when there are any, the
//! rollout batches,
//! so a plan computed against moved live state gets another fingerprint.

use sha2::{Digest, Sha256};

use super::Plan;

/// Computes the fingerprint of a plan (its own `fingerprint` field ignored).
pub fn of(plan: &Plan) -> String {
    let mut h = Sha256::new();
    let mut canonical = serde_json::json!({
        "format_version": plan.format_version,
        "stack": plan.stack,
        "region": plan.region,
        "changes": plan.changes,
        "errors": plan.errors,
    });
    // How the changes are rolled out is part of what is approved (plans
    // without restarts or replaces keep the fingerprint they always had).
    if !plan.rollouts.is_empty() {
        canonical["rollouts"] = serde_json::json!(plan.rollouts);
    }
    // The account the changes go to is approved with them.
    if let Some(account) = &plan.account {
        canonical["account"] = serde_json::json!(account);
    }
    h.update(canonical.to_string().as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// Whether `plan`'s recorded fingerprint is the hash of its own changes: a
/// plan file edited after it was written (changes altered, fingerprint kept)
/// is not.
pub fn is_intact(plan: &Plan) -> bool {
    of(plan) == plan.fingerprint
}

/// Whether a reviewer who saw the fingerprint `reviewed` approved `plan`:
/// the one check every apply (a merge, `/apply`, `apply --plan`, a confirmed
/// apply under the lease) makes before it changes anything.
pub fn approves(reviewed: &str, plan: &Plan) -> bool {
    reviewed == plan.fingerprint
}
