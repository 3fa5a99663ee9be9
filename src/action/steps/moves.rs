//! Stacks that a change moves between accounts: the base version of each
//! touched stack (its changed files read at the base commit through the
//! contents API, over the checkout), and what the old account still holds
//! of it. Asked only when the input `accounts` maps some: without it no
//! stack names an account.

use crate::action::moves::{AccountMove, account_of, moved_from};
use crate::action::services::Services;
use crate::app;
use crate::config::normalize;
use crate::ec2::Ec2;
use crate::model::{Desired, Live};
use crate::outcome::StackPlan;
use crate::render::notes;
use crate::workspace::{Loaded, Overlay};

/// The moves among `touched`, a change of `changed` made onto `base`.
pub async fn account_moves(
    s: &Services<'_>,
    base: &str,
    changed: &[String],
    touched: &[&Desired],
) -> Result<Vec<AccountMove>, String> {
    // A push that made the branch has no base version (zeros).
    let no_base = !crate::marker::is_sha(base) || base.bytes().all(|b| b == b'0');
    if s.inputs().accounts.0.is_empty() || touched.is_empty() || no_base {
        return Ok(Vec::new());
    }
    let changed: Vec<String> = changed.iter().map(|c| normalize(c)).collect();
    let mut wanted: Vec<String> = touched
        .iter()
        .flat_map(|d| std::iter::once(&d.file).chain(&d.sources))
        .map(|f| normalize(f))
        .filter(|f| changed.contains(f))
        .collect();
    wanted.sort();
    wanted.dedup();
    let mut overlay = Overlay::within(s.root.clone());
    for f in &wanted {
        match s.gh.file_at(f, base).await.map_err(|e| e.to_string())? {
            Some(bytes) => overlay.put(f, bytes),
            None => overlay.remove(f),
        }
    }
    let before = s.load_via(&overlay);
    let mut out = Vec::new();
    for d in touched {
        let Some(old) = moved_from(&before.valid, d) else {
            continue;
        };
        let ec2 = Ec2::for_stack(old).await.map_err(|e| e.to_string())?;
        let (_, live, _) = app::plan(&ec2, old)
            .await
            .map_err(|e| format!("cannot read the stack in its old account: {e:#}"))?;
        out.push(AccountMove {
            stack: d.stack.clone(),
            from: account_of(old),
            to: account_of(d),
            left: held(&live),
        });
    }
    Ok(out)
}

/// How many resources of a stack EC2 holds: a server with the volumes
/// attached to it counts once.
fn held(live: &Live) -> usize {
    let servers: Vec<&str> = live.instances.iter().map(|i| i.id.as_str()).collect();
    let loose = live
        .volumes
        .iter()
        .filter(|v| {
            !v.attachment
                .as_ref()
                .is_some_and(|(id, _)| servers.contains(&id.as_str()))
        })
        .count();
    live.instances.len()
        + loose
        + live.security_groups.len()
        + live.addresses.len()
        + live.key_pairs.len()
        + live.target_groups.len()
        + live.load_balancers.len()
}

/// Marks the plans of the stacks a change moves between accounts: a move
/// the old account still holds some of is not planned (the plan says how
/// to move), a finished one gets a warning. When that cannot be told, no
/// stack of the change is planned: a move must not pass unseen.
pub async fn mark_moves(
    s: &Services<'_>,
    base: &str,
    changed: &[String],
    loaded: &Loaded,
    plans: &mut [StackPlan],
) {
    let touched: Vec<&Desired> = plans
        .iter()
        .filter_map(|p| match p {
            StackPlan::Planned(p) => loaded
                .valid
                .iter()
                .find(|d| d.stack == p.stack && d.region == p.region),
            _ => None,
        })
        .collect();
    let moves = account_moves(s, base, changed, &touched).await;
    for p in plans.iter_mut() {
        let StackPlan::Planned(plan) = p else {
            continue;
        };
        let error = match &moves {
            Err(e) => Some(notes::account_move_unknown(e)),
            Ok(moves) => match moves.iter().find(|m| m.stack == plan.stack) {
                Some(m) if m.blocks() => Some(m.refusal()),
                Some(m) => {
                    m.mark(plan);
                    None
                }
                None => None,
            },
        };
        if let Some(error) = error {
            *p = StackPlan::Failed {
                file: plan.file.clone(),
                error,
            };
        }
    }
}

/// The stacks among `touched` that may be applied (a change of `changed`
/// onto `base`), and why each of the others may not: a move between
/// accounts that the old account still holds some of, or one that cannot
/// be told.
pub async fn refuse_moves<'a>(
    s: &Services<'_>,
    base: &str,
    changed: &[String],
    touched: Vec<&'a Desired>,
) -> (Vec<&'a Desired>, Vec<(String, String)>) {
    match account_moves(s, base, changed, &touched).await {
        Err(e) => {
            let why = notes::account_move_unknown(&e);
            let refused = touched
                .iter()
                .map(|d| (d.stack.clone(), why.clone()))
                .collect();
            (Vec::new(), refused)
        }
        Ok(moves) => {
            let blocked: Vec<&AccountMove> = moves.iter().filter(|m| m.blocks()).collect();
            let refused = blocked
                .iter()
                .map(|m| (m.stack.clone(), m.refusal()))
                .collect();
            let kept = touched
                .into_iter()
                .filter(|d| blocked.iter().all(|m| m.stack != d.stack))
                .collect();
            (kept, refused)
        }
    }
}
