//! The labels a pull request carries for its plan, and how to get there
//! from the ones it has. Pure.
//!
//! Exactly one of `ec2-gitops: no changes` / `ec2-gitops: changes` (none
//! while a stack could not be planned and none has changes: nothing is
//! known), and `ec2-gitops: destroy`, `… replace`, `… restart` when the plan
//! has them. Only these five names are ever added or removed: a label anyone
//! else made stays.

use crate::outcome::StackPlan;
use crate::plan::Action;

/// A label the tool manages: name, colour, description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Managed {
    /// Its name.
    pub name: &'static str,
    /// Its colour (hex, no `#`).
    pub color: &'static str,
    /// Its description (GitHub takes at most 100 characters).
    pub description: &'static str,
}

/// `ec2-gitops: no changes`.
pub const NO_CHANGES: Managed = Managed {
    name: "ec2-gitops: no changes",
    color: "0e8a16",
    description: "ec2-gitops: merging this changes nothing in EC2",
};
/// `ec2-gitops: changes`.
pub const CHANGES: Managed = Managed {
    name: "ec2-gitops: changes",
    color: "fbca04",
    description: "ec2-gitops: merging this changes EC2 (see the plan comment)",
};
/// `ec2-gitops: destroy`.
pub const DESTROY: Managed = Managed {
    name: "ec2-gitops: destroy",
    color: "b60205",
    description: "ec2-gitops: the plan destroys resources",
};
/// `ec2-gitops: replace`.
pub const REPLACE: Managed = Managed {
    name: "ec2-gitops: replace",
    color: "d93f0b",
    description: "ec2-gitops: the plan replaces resources (new ones, then the old ones destroyed)",
};
/// `ec2-gitops: restart`.
pub const RESTART: Managed = Managed {
    name: "ec2-gitops: restart",
    color: "e99695",
    description: "ec2-gitops: the plan restarts instances (downtime, in rollout batches)",
};

/// Every label the tool manages.
pub const ALL: [Managed; 5] = [NO_CHANGES, CHANGES, DESTROY, REPLACE, RESTART];

/// The labels the plans call for.
pub fn wanted(stacks: &[StackPlan]) -> Vec<Managed> {
    let plans: Vec<_> = stacks
        .iter()
        .filter_map(|s| match s {
            StackPlan::Planned(p) => Some(p),
            _ => None,
        })
        .collect();
    let has = |a: Action| {
        plans
            .iter()
            .any(|p| p.changes.iter().any(|c| c.action == a))
    };
    let changes = plans.iter().any(|p| !p.is_empty());
    let all_planned = stacks.iter().all(StackPlan::is_ok);
    let mut out = Vec::new();
    if changes {
        out.push(CHANGES);
    } else if all_planned {
        out.push(NO_CHANGES);
    }
    for (action, label) in [
        (Action::Destroy, DESTROY),
        (Action::Replace, REPLACE),
        (Action::UpdateWithRestart, RESTART),
    ] {
        if has(action) {
            out.push(label);
        }
    }
    out
}

/// What to add and what to remove so that a pull request carrying
/// `current` carries exactly the `wanted` ones of the managed labels.
pub fn changes(current: &[String], wanted: &[Managed]) -> (Vec<Managed>, Vec<Managed>) {
    let on = |m: &Managed| current.iter().any(|c| c == m.name);
    let add = wanted.iter().copied().filter(|m| !on(m)).collect();
    let remove = ALL
        .iter()
        .copied()
        .filter(|m| on(m) && !wanted.contains(m))
        .collect();
    (add, remove)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, ResourceId};
    use crate::plan::{Change, FORMAT_VERSION, Plan, Summary};

    fn plan(actions: &[Action]) -> StackPlan {
        let changes = actions
            .iter()
            .enumerate()
            .map(|(i, a)| Change {
                resource: ResourceId::new(Kind::Instance, format!("web-{i}")),
                action: *a,
                live_id: None,
                fields: vec![],
                reason: None,
                blocked: None,
            })
            .collect();
        StackPlan::Planned(Plan {
            format_version: FORMAT_VERSION,
            stack: "web".into(),
            region: "us-east-1".into(),
            account: None,
            file: "infra/web.yaml".into(),
            fingerprint: String::new(),
            summary: Summary::default(),
            changes,
            warnings: vec![],
            errors: vec![],
            rollouts: vec![],
            spreads: vec![],
            fronts: vec![],
            images: vec![],
            graph: Default::default(),
        })
    }

    fn names(labels: &[Managed]) -> Vec<&'static str> {
        labels.iter().map(|m| m.name).collect()
    }

    #[test]
    fn the_plan_picks_one_of_changes_or_no_changes_and_the_dangerous_kinds() {
        assert_eq!(names(&wanted(&[plan(&[])])), ["ec2-gitops: no changes"]);
        assert_eq!(
            names(&wanted(&[
                plan(&[Action::Update]),
                plan(&[Action::Destroy, Action::UpdateWithRestart])
            ])),
            [
                "ec2-gitops: changes",
                "ec2-gitops: destroy",
                "ec2-gitops: restart"
            ]
        );
        // A stack that could not be planned: neither "changes" nor "no changes".
        let failed = StackPlan::Failed {
            file: "infra/db.yaml".into(),
            error: "throttled".into(),
        };
        assert!(wanted(&[plan(&[]), failed.clone()]).is_empty());
        assert_eq!(
            names(&wanted(&[plan(&[Action::Replace]), failed])),
            ["ec2-gitops: changes", "ec2-gitops: replace"]
        );
    }

    #[test]
    fn only_the_managed_labels_are_added_or_removed() {
        let current = vec![
            "ec2-gitops: no changes".to_string(),
            "ec2-gitops: destroy".to_string(),
            "needs-review".to_string(),
            "ec2-gitops: mine".to_string(),
        ];
        let (add, remove) = changes(&current, &[CHANGES, DESTROY]);
        assert_eq!(names(&add), ["ec2-gitops: changes"]);
        assert_eq!(names(&remove), ["ec2-gitops: no changes"]);
        let (add, remove) = changes(&current, &[NO_CHANGES, DESTROY]);
        assert!(add.is_empty() && remove.is_empty());
    }

    #[test]
    fn descriptions_fit_githubs_limit() {
        for m in ALL {
            assert!(m.description.chars().count() <= 100, "{}", m.name);
            assert!(m.color.len() == 6 && m.color.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
}
