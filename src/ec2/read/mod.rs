//! Reading a stack's live state: one paginated, tag-filtered `Describe*` per
//! kind, all at once; never a call per resource.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aws_sdk_ec2::types::{Filter, IpPermission, Tag};

mod addresses;
mod balancers;
pub(super) use balancers::DEREGISTRATION_DELAY;
mod groups;
mod images;
mod instances;
mod key_pairs;
mod previews;
mod region;
mod volumes;

use super::limits::Call;
use super::{Ec2, Ec2Error, trace};
use crate::config::is_name;
use crate::model::{
    self, Kind, Launched, Live, LiveAddress, LiveGroup, LiveInstance, LiveKeyPair, LiveVolume,
    NameTagProblem, Peer, Protocol, Region, ResourceId, Rule, Unclaimed,
};
use instances::{Instances, claim_root_volumes};
use previews::not_this_previews;

pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// Snapshots by the id of the volume they are of: (name tag, snapshot id).
pub(super) type SnapshotsByVolume = BTreeMap<String, Vec<(String, String)>>;

/// A `Describe*` call with `filters`: without any, EC2 counts it in its
/// smaller bucket of unfiltered, unpaginated calls.
fn describe(action: &'static str, filters: &[Filter]) -> Call {
    if filters.is_empty() {
        Call::unfiltered(action)
    } else {
        Call::new(action)
    }
}

fn stack_filter(stack: &str) -> Filter {
    filter(&format!("tag:{}", model::STACK_TAG), [stack])
}

pub(super) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// How a reader names what it reads: for a stack, the kind it reads and
/// where resources go that carry the stack tag but no valid name tag (they
/// are left out: not the stack's); `None` for an import (every resource,
/// unnamed).
pub(super) type Claim<'a> = Option<(Kind, &'a Mutex<Vec<Unclaimed>>)>;

/// The name of a read resource: its logical name from the tag when reading a
/// stack (a resource without a valid one is recorded as unclaimed and
/// skipped), or empty for an import.
fn name_for(tags: &BTreeMap<String, String>, claim: Claim<'_>, id: &str) -> Option<String> {
    let Some((kind, unclaimed)) = claim else {
        return Some(String::new());
    };
    match logical_name(tags, kind) {
        Ok(name) => Some(name),
        Err(problem) => {
            unclaimed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Unclaimed {
                    kind,
                    id: id.to_string(),
                    problem,
                });
            None
        }
    }
}

/// The logical name of a resource of `kind` from its tags, or why there is
/// none. A name follows the YAML's name rules (`<instance>/<volume>` for a
/// volume): anything else was not written by this tool.
fn logical_name(tags: &BTreeMap<String, String>, kind: Kind) -> Result<String, NameTagProblem> {
    let value = tags.get(model::NAME_TAG).ok_or(NameTagProblem::Missing)?;
    if value.is_empty() {
        return Err(NameTagProblem::Empty);
    }
    if !crate::config::is_single_line(value) {
        return Err(NameTagProblem::ControlCharacters);
    }
    let id = ResourceId::from_tag_value(value).ok_or(NameTagProblem::NotKindAndName)?;
    if id.kind != kind {
        return Err(NameTagProblem::OtherKind(id.kind));
    }
    let valid = match kind {
        Kind::Volume => id
            .name
            .split_once('/')
            .is_some_and(|(instance, volume)| is_name(instance) && is_name(volume)),
        _ => is_name(&id.name),
    };
    if valid {
        Ok(id.name)
    } else {
        Err(NameTagProblem::InvalidName)
    }
}

impl Ec2 {
    /// Every page of a paginated call, following `NextToken` (moto and EC2
    /// may page below the requested size: never assume one page).
    async fn pages<T, E, R, F, Fut>(
        &self,
        action: &'static str,
        send: F,
        next: impl Fn(&T) -> Option<&str>,
    ) -> Result<Vec<T>, Ec2Error>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: std::future::Future<Output = Result<T, aws_sdk_ec2::error::SdkError<E, R>>>,
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.call(action, false, || send(token.clone())).await?;
            token = next(&page).filter(|t| !t.is_empty()).map(str::to_string);
            out.push(page);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Reads every resource tagged for `stack`. Six calls for a small stack
    /// (five of EC2, one of the tagging API); one more per 1,000 instances or
    /// groups and per 500 volumes; for a stack with load balancers, the few
    /// ELB calls `read_balancers` says. `preview`:
    /// the pull request `stack` is the preview of; a stack that is not one
    /// never claims what carries a preview's tag (anyone with the preview
    /// role could have tagged it with this stack's name).
    pub async fn read_live(&self, stack: &str, preview: Option<u64>) -> Result<Live, Ec2Error> {
        let f = [stack_filter(stack)];
        let unclaimed = Mutex::new(Vec::new());
        let u = &unclaimed;
        // A preview never has a load balancer, and its role reaches none.
        let balancers = async {
            match preview {
                Some(_) => Ok((vec![], vec![])),
                None => self.read_balancers(stack, u).await,
            }
        };
        let (instances, groups, volumes, addresses, key_pairs, balancers) = tokio::try_join!(
            trace::branch(self.read_instances(&f, Some((Kind::Instance, u)))),
            trace::branch(self.read_groups(&f, Some((Kind::SecurityGroup, u)))),
            trace::branch(self.read_volumes(&f, Some((Kind::Volume, u)))),
            trace::branch(self.read_addresses(&f, Some((Kind::ElasticIp, u)))),
            trace::branch(self.read_key_pairs(&f, Some((Kind::KeyPair, u)))),
            trace::branch(balancers),
        )?;
        let (target_groups, load_balancers) = balancers;
        let Instances {
            live: instances,
            terminated,
            launched,
        } = instances;
        let (mut volumes, roots) = volumes;
        claim_root_volumes(&instances, &launched, roots, &mut volumes, u);
        // EC2 keeps DeleteOnTermination on the instance's mapping (a
        // volume's attachment only echoes it, and not everywhere).
        let kept: std::collections::HashSet<(&str, &str)> = instances
            .iter()
            .flat_map(|i| i.kept_volumes.iter().map(|v| (i.id.as_str(), v.as_str())))
            .collect();
        for v in &mut volumes {
            if let Some((iid, _)) = &v.attachment {
                v.kept_on_termination |= kept.contains(&(iid.as_str(), v.id.as_str()));
            }
        }
        let mut unclaimed = unclaimed
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut live = Live {
            key_pairs,
            security_groups: groups,
            instances,
            volumes,
            addresses,
            target_groups,
            load_balancers,
            terminated,
            unclaimed: Vec::new(),
            launched,
        };
        unclaimed.extend(not_this_previews(&mut live, preview));
        unclaimed.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        live.unclaimed = unclaimed;
        Ok(live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(name: Option<&str>) -> BTreeMap<String, String> {
        let mut t = BTreeMap::from([(model::STACK_TAG.to_string(), "web".to_string())]);
        if let Some(n) = name {
            t.insert(model::NAME_TAG.to_string(), n.to_string());
        }
        t
    }

    #[test]
    fn a_name_tag_names_a_resource_only_when_well_formed() {
        let name = |v: Option<&str>, kind| logical_name(&tags(v), kind);
        assert_eq!(
            name(Some("instance/web-1"), Kind::Instance),
            Ok("web-1".into())
        );
        assert_eq!(
            name(Some("volume/web-1/root"), Kind::Volume),
            Ok("web-1/root".into())
        );
        assert_eq!(name(None, Kind::Instance), Err(NameTagProblem::Missing));
        assert_eq!(name(Some(""), Kind::Instance), Err(NameTagProblem::Empty));
        assert_eq!(
            name(Some("server/web-1"), Kind::Instance),
            Err(NameTagProblem::NotKindAndName)
        );
        assert_eq!(
            name(Some("web-1"), Kind::Instance),
            Err(NameTagProblem::NotKindAndName)
        );
        assert_eq!(
            name(Some("volume/web-1/data"), Kind::Instance),
            Err(NameTagProblem::OtherKind(Kind::Volume))
        );
        assert_eq!(
            name(Some("instance/Web_1"), Kind::Instance),
            Err(NameTagProblem::InvalidName)
        );
        assert_eq!(
            name(Some("instance/a/b"), Kind::Instance),
            Err(NameTagProblem::InvalidName)
        );
        assert_eq!(
            name(Some("volume/web-1"), Kind::Volume),
            Err(NameTagProblem::InvalidName)
        );
        assert_eq!(
            name(Some("instance/web-1\u{1b}[2J"), Kind::Instance),
            Err(NameTagProblem::ControlCharacters)
        );
        assert_eq!(
            name(Some("instance/web\u{202e}1"), Kind::Instance),
            Err(NameTagProblem::ControlCharacters)
        );
    }

    #[test]
    fn an_unclaimed_resource_is_recorded_and_skipped() {
        let unclaimed = Mutex::new(Vec::new());
        let claim = Some((Kind::Instance, &unclaimed));
        assert_eq!(
            name_for(&tags(Some("instance/web-1")), claim, "i-1"),
            Some("web-1".into())
        );
        assert_eq!(name_for(&tags(Some("instance/")), claim, "i-2"), None);
        assert_eq!(
            unclaimed.into_inner().unwrap(),
            [Unclaimed {
                kind: Kind::Instance,
                id: "i-2".into(),
                problem: NameTagProblem::InvalidName,
            }]
        );
        // An import names nothing and records nothing.
        assert_eq!(name_for(&tags(None), None, "i-3"), Some(String::new()));
    }
}
