//! Preview stacks: a pull request's own copy of a stack, `<stack>-pr<N>`,
//! made with `/preview` and destroyed when the pull request closes. Pure:
//! what the copy is, and why one may be refused.

use crate::model::Desired;

/// The name of pull request `pr`'s preview of `stack`.
pub fn name(stack: &str, pr: u64) -> String {
    format!("{stack}-pr{pr}")
}

/// The pull request number of `preview`, a preview stack of `stack`
/// (`web-pr7` of `web`: 7).
pub fn pr_of(preview: &str, stack: &str) -> Option<u64> {
    let n = preview.strip_prefix(stack)?.strip_prefix("-pr")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
        return None;
    }
    n.parse().ok()
}

/// Whether a preview whose oldest server was launched at `launched`
/// (seconds since the epoch; `None`: it has none) is past `ttl_secs` at
/// `now`. One without servers is not expired by age (its pull request's
/// state decides).
pub fn expired(launched: Option<u64>, ttl_secs: u64, now: u64) -> bool {
    launched.is_some_and(|t| now.saturating_sub(t) > ttl_secs)
}

/// Why a preview is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The stack has no `preview:`.
    NotEnabled,
    /// More instances than `max_instances`.
    TooLarge {
        /// Instances of the pull request's version.
        instances: usize,
        /// `max_instances`.
        max: usize,
    },
    /// `<stack>-pr<N>` is not a valid stack name (too long).
    NameTooLong(String),
    /// The stack lives in an account (`account:`): the role the job would
    /// assume there is the account's apply role, not a preview's.
    InAccount(String),
}

impl Refused {
    /// The words for a reply.
    pub fn words(&self, stack: &str) -> String {
        match self {
            Refused::NotEnabled => format!(
                "stack `{stack}` has no `preview:`; add `preview: {{ max_instances: 4 }}` to its file to allow previews"
            ),
            Refused::TooLarge { instances, max } => format!(
                "stack `{stack}` would have {instances} instances in this pull request; its previews are limited to {max} (`preview.max_instances`)"
            ),
            Refused::NameTooLong(n) => format!(
                "the preview's stack name `{n}` is longer than 63 characters; shorten the stack name"
            ),
            Refused::InAccount(a) => format!(
                "stack `{stack}` lives in account `{a}`: a preview there would run with that account's apply role, not a preview's, so previews of stacks with `account:` are refused"
            ),
        }
    }
}

/// Pull request `pr`'s preview of `d` (the pull request's version of the
/// stack): stack `<stack>-pr<N>` — its own tags and EC2 names — with no
/// `protect` (a preview is thrown away), no elastic IPs (they are scarce
/// and public addresses of the real site) and no load balancers or target
/// groups (a preview's servers are reached directly: a second public front
/// door per pull request costs by the hour and is never what is reviewed).
pub fn of(d: &Desired, pr: u64) -> Result<Desired, Refused> {
    let Some(preview) = d.preview else {
        return Err(Refused::NotEnabled);
    };
    if let Some((account, _)) = &d.account {
        return Err(Refused::InAccount(account.clone()));
    }
    if d.instances.len() > preview.max_instances {
        return Err(Refused::TooLarge {
            instances: d.instances.len(),
            max: preview.max_instances,
        });
    }
    let mut out = empty(d, pr)?;
    out.key_pairs = d.key_pairs.clone();
    out.security_groups = d.security_groups.clone();
    out.instances = d.instances.clone();
    for spec in out.instances.values_mut() {
        spec.protect = false;
        spec.entry.target_groups.clear();
        if spec.entry.rollout.health == crate::model::Health::TargetGroup {
            spec.entry.rollout.health = crate::model::Health::StatusChecks;
        }
    }
    out.volumes = d.volumes.clone();
    for v in out.volumes.values_mut() {
        v.protect = false;
        // A preview's data is the pull request's test data.
        v.on_destroy = crate::model::OnDestroy::Delete;
    }
    Ok(out)
}

/// The preview stack with nothing in it: applying it destroys the preview.
pub fn empty(d: &Desired, pr: u64) -> Result<Desired, Refused> {
    let stack = name(&d.stack, pr);
    if !crate::config::is_name(&stack) {
        return Err(Refused::NameTooLong(stack));
    }
    Ok(Desired {
        stack,
        region: d.region.clone(),
        file: d.file.clone(),
        sources: d.sources.clone(),
        key_pairs: Default::default(),
        security_groups: Default::default(),
        instances: Default::default(),
        volumes: Default::default(),
        elastic_ips: Default::default(),
        target_groups: Default::default(),
        load_balancers: Default::default(),
        tags: d.tags.clone(),
        // Previews live where the preview role reaches: the job's own
        // credentials (a stack with `account:` gets none).
        account: None,
        environment: None,
        after: vec![],
        preview: None,
        preview_of: Some(pr),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(yaml: &str) -> Desired {
        let none = |_: &str| Err("no files".into());
        let readers = crate::config::Readers {
            user_data: &none,
            base: &none,
        };
        crate::config::parse_stack(yaml, "infra/web.yaml", &readers).unwrap()
    }

    const WEB: &str = "version: 1\nstack: web\nregion: us-east-1\npreview: { max_instances: 3 }\ninstances:\n  web:\n    count: 2\n    image: ami-0123456789abcdef0\n    type: t3.micro\n    protect: true\n    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 5 }\nelastic_ips:\n  www: { instance: web-1 }\n";

    #[test]
    fn a_preview_is_its_own_stack_without_protect_or_elastic_ips() {
        let d = stack(WEB);
        let p = of(&d, 7).unwrap();
        assert_eq!(p.stack, "web-pr7");
        assert_eq!(p.instances.len(), 2);
        assert!(p.instances.values().all(|i| !i.protect));
        assert!(p.elastic_ips.is_empty());
        assert_eq!(p.volumes.len(), 2);
        assert!(
            p.volumes
                .values()
                .all(|v| v.on_destroy == crate::model::OnDestroy::Delete)
        );
        assert!(empty(&d, 7).unwrap().instances.is_empty());
    }

    #[test]
    fn a_preview_names_its_pull_request_and_expires_after_its_ttl() {
        assert_eq!(pr_of("web-pr7", "web"), Some(7));
        assert_eq!(pr_of("web-pr123", "web"), Some(123));
        assert_eq!(pr_of("web-db-pr7", "web"), None, "another stack's");
        assert_eq!(pr_of("web-pr", "web"), None);
        assert_eq!(pr_of("web-pr07", "web"), None);
        assert_eq!(pr_of("web-prx", "web"), None);
        let day = 86_400;
        assert!(!expired(Some(1_000), 3 * day, 1_000 + 3 * day));
        assert!(expired(Some(1_000), 3 * day, 1_001 + 3 * day));
        assert!(!expired(None, 3 * day, u64::MAX));
    }

    #[test]
    fn too_many_instances_or_no_preview_is_refused() {
        let d = stack(&WEB.replace("count: 2", "count: 4"));
        assert_eq!(
            of(&d, 7),
            Err(Refused::TooLarge {
                instances: 4,
                max: 3
            })
        );
        let d = stack(&WEB.replace("preview: { max_instances: 3 }\n", ""));
        assert_eq!(of(&d, 7), Err(Refused::NotEnabled));
        let long = stack(&WEB.replace("stack: web", &format!("stack: {}", "w".repeat(60))));
        assert!(matches!(of(&long, 12345), Err(Refused::NameTooLong(_))));
        let in_account = stack(&WEB.replace(
            "region: us-east-1\n",
            "region: us-east-1\naccount: production\n",
        ));
        let refused = of(&in_account, 7).expect_err("an account's stack");
        assert_eq!(refused, Refused::InAccount("production".into()));
        assert!(refused.words("web").contains("that account's apply role"));
    }
}
