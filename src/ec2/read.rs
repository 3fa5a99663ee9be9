//! Reading a stack's live state: one paginated, tag-filtered `Describe*` per
//! kind, all at once; never a call per resource.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aws_sdk_ec2::types::{Filter, IpPermission, Tag};

use super::limits::Call;
use super::{Ec2, Ec2Error, trace};
use crate::config::is_name;
use crate::model::{
    self, Kind, Launched, Live, LiveAddress, LiveGroup, LiveInstance, LiveKeyPair, LiveVolume,
    NameTagProblem, Peer, Protocol, Region, ResourceId, Rule, Unclaimed,
};

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

/// A stack's instances as read: the live ones, the ids of terminated ones
/// by name, and those a batch launch made that nobody named.
pub(super) struct Instances {
    pub live: Vec<LiveInstance>,
    pub terminated: BTreeMap<String, Vec<String>>,
    pub launched: Vec<Launched>,
}

/// Names the volumes of batch launches (`roots`: the stack's and launch
/// tags, no name tag) after their instance: a launch makes no volume but
/// the root one, so the volume of a launch attached to a named instance of
/// the same launch is `<instance>/root` (by launch tag, not by device name:
/// moto reports a root device its mapping does not use); one of an instance
/// still unnamed goes with it (its batch's apply adopts both); any other is
/// unclaimed, like every stack-tagged volume without a name.
fn claim_root_volumes(
    instances: &[LiveInstance],
    launched: &[Launched],
    roots: Vec<LiveVolume>,
    volumes: &mut Vec<LiveVolume>,
    unclaimed: &Mutex<Vec<Unclaimed>>,
) {
    if roots.is_empty() {
        return;
    }
    // Named instances by id, with their launch tag.
    let named: std::collections::HashMap<&str, (&str, Option<&String>)> = instances
        .iter()
        .map(|i| {
            (
                i.id.as_str(),
                (i.name.as_str(), i.tags.get(model::LAUNCH_TAG)),
            )
        })
        .collect();
    let unnamed: BTreeSet<&str> = launched.iter().map(|l| l.id.as_str()).collect();
    for mut v in roots {
        let of_its_launch = v.attachment.as_ref().and_then(|(i, _)| {
            let (name, launch) = named.get(i.as_str())?;
            (*launch == v.tags.get(model::LAUNCH_TAG)).then_some(*name)
        });
        if let Some(instance) = of_its_launch {
            v.name = format!("{instance}/root");
            volumes.push(v);
        } else if !v
            .attachment
            .as_ref()
            .is_some_and(|(i, _)| unnamed.contains(i.as_str()))
        {
            unclaimed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Unclaimed {
                    kind: Kind::Volume,
                    id: v.id,
                    problem: NameTagProblem::Missing,
                });
        }
    }
    volumes.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
}

/// Takes out of `live` what carries a preview's tag that is not `preview`'s
/// (for a stack that is not a preview: any preview's), as unclaimed.
fn not_this_previews(live: &mut Live, preview: Option<u64>) -> Vec<Unclaimed> {
    let expected = preview.map(|pr| pr.to_string());
    // A preview made before previews were tagged has no tag: still its own.
    let foreign = |tags: &BTreeMap<String, String>| match (tags.get(model::PREVIEW_TAG), &expected)
    {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(v), Some(e)) => v != e,
    };
    let mut out = Vec::new();
    let mut drop = |kind: Kind, id: &str, tags: &BTreeMap<String, String>| {
        let f = foreign(tags);
        if f {
            out.push(Unclaimed {
                kind,
                id: id.to_string(),
                problem: NameTagProblem::OfAPreview,
            });
        }
        !f
    };
    live.key_pairs
        .retain(|k| drop(Kind::KeyPair, &k.id, &k.tags));
    live.security_groups
        .retain(|g| drop(Kind::SecurityGroup, &g.id, &g.tags));
    live.instances
        .retain(|i| drop(Kind::Instance, &i.id, &i.tags));
    live.volumes.retain(|v| drop(Kind::Volume, &v.id, &v.tags));
    live.addresses
        .retain(|a| drop(Kind::ElasticIp, &a.allocation_id, &a.tags));
    out
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

fn rules(perms: &[IpPermission]) -> Vec<Rule> {
    let mut out = Vec::new();
    for p in perms {
        let Some(protocol) = p.ip_protocol().and_then(Protocol::from_ec2) else {
            continue;
        };
        let (from_port, to_port) = match protocol {
            Protocol::All => (-1, -1),
            _ => (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1)),
        };
        let rule = |peer| Rule {
            protocol,
            from_port,
            to_port,
            peer,
        };
        out.extend(
            p.ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip())
                .map(|c| rule(Peer::Cidr4(c.to_string()))),
        );
        out.extend(
            p.ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6())
                .map(|c| rule(Peer::Cidr6(c.to_string()))),
        );
        out.extend(
            p.user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id())
                .map(|g| rule(Peer::GroupId(g.to_string()))),
        );
    }
    out.sort();
    out
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

    /// Reads every resource tagged for `stack`. Five calls for a small stack;
    /// one more per 1,000 instances or groups and per 500 volumes. `preview`:
    /// the pull request `stack` is the preview of; a stack that is not one
    /// never claims what carries a preview's tag (anyone with the preview
    /// role could have tagged it with this stack's name).
    pub async fn read_live(&self, stack: &str, preview: Option<u64>) -> Result<Live, Ec2Error> {
        let f = [stack_filter(stack)];
        let unclaimed = Mutex::new(Vec::new());
        let u = &unclaimed;
        let (instances, groups, volumes, addresses, key_pairs) = tokio::try_join!(
            trace::branch(self.read_instances(&f, Some((Kind::Instance, u)))),
            trace::branch(self.read_groups(&f, Some((Kind::SecurityGroup, u)))),
            trace::branch(self.read_volumes(&f, Some((Kind::Volume, u)))),
            trace::branch(self.read_addresses(&f, Some((Kind::ElasticIp, u)))),
            trace::branch(self.read_key_pairs(&f, Some((Kind::KeyPair, u)))),
        )?;
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
            terminated,
            unclaimed: Vec::new(),
            launched,
        };
        unclaimed.extend(not_this_previews(&mut live, preview));
        unclaimed.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        live.unclaimed = unclaimed;
        Ok(live)
    }

    /// The preview stacks of `stack` that have something in EC2 (instances
    /// or security groups tagged `<stack>-pr*`), each with the launch time
    /// of its oldest instance (seconds since the epoch). Two paged calls.
    pub async fn preview_stacks(
        &self,
        stack: &str,
    ) -> Result<BTreeMap<String, Option<u64>>, Ec2Error> {
        let pattern = format!("{stack}-pr*");
        let f = [filter(
            &format!("tag:{}", model::STACK_TAG),
            [pattern.as_str()],
        )];
        let of = |tags: &[Tag]| {
            tags.iter()
                .find(|t| t.key() == Some(model::STACK_TAG))
                .and_then(|t| t.value())
                .map(str::to_string)
        };
        let (instances, groups) = tokio::try_join!(
            trace::branch(self.pages(
                "DescribeInstances",
                |token| {
                    self.client
                        .describe_instances()
                        .set_filters(Some(f.to_vec()))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )),
            trace::branch(self.pages(
                "DescribeSecurityGroups",
                |token| {
                    self.client
                        .describe_security_groups()
                        .set_filters(Some(f.to_vec()))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )),
        )?;
        let mut out: BTreeMap<String, Option<u64>> = BTreeMap::new();
        for i in instances
            .iter()
            .flat_map(|p| p.reservations())
            .flat_map(|r| r.instances())
        {
            let gone = matches!(
                i.state().and_then(|s| s.name()).map(|s| s.as_str()),
                Some("terminated" | "shutting-down")
            );
            let Some(name) = of(i.tags()).filter(|_| !gone) else {
                continue;
            };
            let launched = i.launch_time().map(|t| t.secs().max(0) as u64);
            let oldest = out.entry(name).or_insert(None);
            *oldest = match (*oldest, launched) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for g in groups.iter().flat_map(|p| p.security_groups()) {
            if let Some(name) = of(g.tags()) {
                out.entry(name).or_insert(None);
            }
        }
        Ok(out)
    }

    /// The stack's snapshots that did not fail, by the volume they are of:
    /// (name tag, snapshot id). One paged `DescribeSnapshots` for every
    /// volume an apply deletes (a snapshot an interrupted run took is found,
    /// not taken twice).
    pub(super) async fn snapshots_by_volume(
        &self,
        stack: &str,
    ) -> Result<SnapshotsByVolume, Ec2Error> {
        let pages = self
            .pages(
                "DescribeSnapshots",
                |token| {
                    self.client
                        .describe_snapshots()
                        .owner_ids("self")
                        .filters(stack_filter(stack))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )
            .await?;
        let mut out = SnapshotsByVolume::new();
        for s in pages.iter().flat_map(|p| p.snapshots()) {
            if matches!(s.state(), Some(aws_sdk_ec2::types::SnapshotState::Error)) {
                continue;
            }
            let (Some(volume), Some(id)) = (s.volume_id(), s.snapshot_id()) else {
                continue;
            };
            let name = tag_map(s.tags())
                .remove(model::NAME_TAG)
                .unwrap_or_default();
            out.entry(volume.to_string())
                .or_default()
                .push((name, id.to_string()));
        }
        Ok(out)
    }

    pub(super) async fn read_instances(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<Instances, Ec2Error> {
        let mut out = Vec::new();
        let mut terminated: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut launched = Vec::new();
        let pages = self
            .pages(
                "DescribeInstances",
                |token| {
                    self.client
                        .describe_instances()
                        .set_filters(Some(filters.to_vec()))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )
            .await?;
        for page in &pages {
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let tags = tag_map(i.tags());
                let id = i.instance_id().unwrap_or_default().to_string();
                let state = i
                    .state()
                    .and_then(|s| s.name())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                if state == "terminated" || state == "shutting-down" {
                    // Gone: its name matters only to client tokens, and a
                    // bad one is no news.
                    if let Some((kind, _)) = claim
                        && let Ok(name) = logical_name(&tags, kind)
                    {
                        terminated.entry(name).or_default().push(id);
                    }
                    continue;
                }
                // Launched in a batch by a run that stopped before naming
                // it: the apply of that batch adopts it.
                if claim.is_some()
                    && !tags.contains_key(model::NAME_TAG)
                    && let (Some(launch), Some(index)) = (
                        tags.get(model::LAUNCH_TAG),
                        i.ami_launch_index().and_then(|x| u32::try_from(x).ok()),
                    )
                {
                    launched.push(Launched {
                        id,
                        launch: launch.clone(),
                        index,
                        state,
                    });
                    continue;
                }
                let Some(name) = name_for(&tags, claim, &id) else {
                    continue;
                };
                out.push(LiveInstance {
                    name,
                    id,
                    state,
                    image: i.image_id().unwrap_or_default().to_string(),
                    instance_type: i
                        .instance_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    subnet: i.subnet_id().map(str::to_string),
                    vpc: i.vpc_id().map(str::to_string),
                    availability_zone: i
                        .placement()
                        .and_then(|p| p.availability_zone())
                        .map(str::to_string),
                    key_name: i.key_name().map(str::to_string),
                    security_group_ids: i
                        .security_groups()
                        .iter()
                        .filter_map(|g| g.group_id())
                        .map(str::to_string)
                        .collect(),
                    root_device: i.root_device_name().map(str::to_string),
                    block_devices: i
                        .block_device_mappings()
                        .iter()
                        .filter_map(|b| {
                            Some((
                                b.device_name()?.to_string(),
                                b.ebs()?.volume_id()?.to_string(),
                            ))
                        })
                        .collect(),
                    kept_volumes: i
                        .block_device_mappings()
                        .iter()
                        .filter_map(|b| b.ebs())
                        .filter(|e| e.delete_on_termination() == Some(false))
                        .filter_map(|e| e.volume_id())
                        .map(str::to_string)
                        .collect(),
                    public_ip: i.public_ip_address().map(str::to_string),
                    private_ip: i.private_ip_address().map(str::to_string),
                    public_dns: i
                        .public_dns_name()
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                    tags,
                });
            }
        }
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        launched.sort_by(|a, b| (&a.launch, a.index, &a.id).cmp(&(&b.launch, b.index, &b.id)));
        Ok(Instances {
            live: out,
            terminated,
            launched,
        })
    }

    pub(super) async fn read_groups(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<Vec<LiveGroup>, Ec2Error> {
        let mut out = Vec::new();
        let pages = self
            .pages(
                "DescribeSecurityGroups",
                |token| {
                    self.client
                        .describe_security_groups()
                        .set_filters(Some(filters.to_vec()))
                        .max_results(1000)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )
            .await?;
        for page in &pages {
            for g in page.security_groups() {
                let tags = tag_map(g.tags());
                let Some(name) = name_for(&tags, claim, g.group_id().unwrap_or_default()) else {
                    continue;
                };
                out.push(LiveGroup {
                    name,
                    id: g.group_id().unwrap_or_default().to_string(),
                    group_name: g.group_name().unwrap_or_default().to_string(),
                    description: g.description().unwrap_or_default().to_string(),
                    vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                    ingress: rules(g.ip_permissions()),
                    egress: rules(g.ip_permissions_egress()),
                    tags,
                });
            }
        }
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }

    /// The volumes, and (when reading a stack) those of a batch launch that
    /// carry no name yet: root volumes, named after their instance once the
    /// instances are read.
    pub(super) async fn read_volumes(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<(Vec<LiveVolume>, Vec<LiveVolume>), Ec2Error> {
        let mut out = Vec::new();
        let mut roots = Vec::new();
        let pages = self
            .pages(
                "DescribeVolumes",
                |token| {
                    self.client
                        .describe_volumes()
                        .set_filters(Some(filters.to_vec()))
                        .max_results(500)
                        .set_next_token(token)
                        .send()
                },
                |p| p.next_token(),
            )
            .await?;
        for page in &pages {
            for v in page.volumes() {
                let state = v.state().map(|s| s.as_str()).unwrap_or_default();
                if state == "deleting" || state == "deleted" {
                    continue;
                }
                let tags = tag_map(v.tags());
                let unnamed_root = claim.is_some()
                    && !tags.contains_key(model::NAME_TAG)
                    && tags.contains_key(model::LAUNCH_TAG);
                let name = if unnamed_root {
                    String::new()
                } else {
                    let Some(name) = name_for(&tags, claim, v.volume_id().unwrap_or_default())
                    else {
                        continue;
                    };
                    name
                };
                let attached = v.attachments().iter().find(|a| {
                    a.state()
                        .is_none_or(|s| matches!(s.as_str(), "attached" | "attaching"))
                });
                let attachment = attached
                    .and_then(|a| Some((a.instance_id()?.to_string(), a.device()?.to_string())));
                let kept_on_termination =
                    attached.is_some_and(|a| a.delete_on_termination() == Some(false));
                let found = if unnamed_root { &mut roots } else { &mut out };
                found.push(LiveVolume {
                    name,
                    id: v.volume_id().unwrap_or_default().to_string(),
                    size_gb: v.size().unwrap_or_default(),
                    volume_type: v
                        .volume_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    availability_zone: v.availability_zone().unwrap_or_default().to_string(),
                    attachment,
                    kept_on_termination,
                    tags,
                });
            }
        }
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok((out, roots))
    }

    pub(super) async fn read_addresses(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<Vec<LiveAddress>, Ec2Error> {
        // DescribeAddresses is not paginated: one call returns them all.
        let page = self
            .call(describe("DescribeAddresses", filters), false, || {
                self.client
                    .describe_addresses()
                    .set_filters(Some(filters.to_vec()))
                    .send()
            })
            .await?;
        let mut out: Vec<LiveAddress> = page
            .addresses()
            .iter()
            .filter_map(|a| {
                let tags = tag_map(a.tags());
                Some(LiveAddress {
                    name: name_for(&tags, claim, a.allocation_id().unwrap_or_default())?,
                    allocation_id: a.allocation_id()?.to_string(),
                    public_ip: a.public_ip().unwrap_or_default().to_string(),
                    instance_id: a
                        .instance_id()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                    association_id: a.association_id().map(str::to_string),
                    tags,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.name, &a.allocation_id).cmp(&(&b.name, &b.allocation_id)));
        Ok(out)
    }

    pub(super) async fn read_key_pairs(
        &self,
        filters: &[Filter],
        claim: Claim<'_>,
    ) -> Result<Vec<LiveKeyPair>, Ec2Error> {
        // DescribeKeyPairs is not paginated either.
        let page = self
            .call(describe("DescribeKeyPairs", filters), false, || {
                self.client
                    .describe_key_pairs()
                    .set_filters(Some(filters.to_vec()))
                    .include_public_key(true)
                    .send()
            })
            .await?;
        let mut out: Vec<LiveKeyPair> = page
            .key_pairs()
            .iter()
            .filter_map(|k| {
                let tags = tag_map(k.tags());
                Some(LiveKeyPair {
                    name: name_for(&tags, claim, k.key_pair_id().unwrap_or_default())?,
                    id: k.key_pair_id()?.to_string(),
                    key_name: k.key_name().unwrap_or_default().to_string(),
                    public_key: k.public_key().map(|p| p.trim().to_string()),
                    tags,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }

    /// Checks, in one call per kind, that the images, subnets and VPCs the
    /// stack names exist, and finds the default VPC.
    pub async fn read_region(
        &self,
        images: Vec<String>,
        subnets: Vec<String>,
        types: Vec<String>,
        addresses_wanted: bool,
    ) -> Result<Region, Ec2Error> {
        let (images, subnets, (vpcs, default_vpc), instance_types, address_quota) = tokio::try_join!(
            trace::branch(self.read_images(&images)),
            trace::branch(self.read_subnets(&subnets)),
            trace::branch(self.read_vpcs()),
            trace::branch(self.read_offered_types(&types)),
            trace::branch(self.read_address_quota(addresses_wanted)),
        )?;
        Ok(Region {
            images,
            subnets,
            vpcs,
            default_vpc,
            instance_types,
            address_quota,
        })
    }

    /// Which of `images` exist: image id → root device name. No call for
    /// no images.
    async fn read_images(&self, images: &[String]) -> Result<BTreeMap<String, String>, Ec2Error> {
        if images.is_empty() {
            return Ok(BTreeMap::new());
        }
        // A filter, not ImageIds: an unknown id must not fail the call.
        let out = self
            .call("DescribeImages", false, || {
                self.client
                    .describe_images()
                    .filters(filter("image-id", images.to_vec()))
                    .send()
            })
            .await?;
        Ok(out
            .images()
            .iter()
            .filter_map(|i| {
                Some((
                    i.image_id()?.to_string(),
                    i.root_device_name().unwrap_or("/dev/xvda").to_string(),
                ))
            })
            .collect())
    }

    /// Which of `subnets` exist: subnet id → (VPC id, availability zone).
    /// No call for no subnets.
    async fn read_subnets(
        &self,
        subnets: &[String],
    ) -> Result<BTreeMap<String, (String, String)>, Ec2Error> {
        if subnets.is_empty() {
            return Ok(BTreeMap::new());
        }
        let out = self
            .call("DescribeSubnets", false, || {
                self.client
                    .describe_subnets()
                    .filters(filter("subnet-id", subnets.to_vec()))
                    .send()
            })
            .await?;
        Ok(out
            .subnets()
            .iter()
            .filter_map(|s| {
                Some((
                    s.subnet_id()?.to_string(),
                    (
                        s.vpc_id().unwrap_or_default().to_string(),
                        s.availability_zone().unwrap_or_default().to_string(),
                    ),
                ))
            })
            .collect())
    }

    /// The ids of the region's VPCs, and of its default VPC if it has one.
    async fn read_vpcs(&self) -> Result<(Vec<String>, Option<String>), Ec2Error> {
        let out = self
            .call(Call::unfiltered("DescribeVpcs"), false, || {
                self.client.describe_vpcs().send()
            })
            .await?;
        let default = out
            .vpcs()
            .iter()
            .find(|v| v.is_default() == Some(true))
            .and_then(|v| v.vpc_id())
            .map(str::to_string);
        let all = out
            .vpcs()
            .iter()
            .filter_map(|v| v.vpc_id())
            .map(str::to_string)
            .collect();
        Ok((all, default))
    }

    /// Which of the instance `types` the region offers; `None` (and no call)
    /// for no types.
    async fn read_offered_types(
        &self,
        types: &[String],
    ) -> Result<Option<BTreeSet<String>>, Ec2Error> {
        if types.is_empty() {
            return Ok(None);
        }
        let out = self
            .call("DescribeInstanceTypeOfferings", false, || {
                self.client
                    .describe_instance_type_offerings()
                    .location_type(aws_sdk_ec2::types::LocationType::Region)
                    .filters(filter("instance-type", types.to_vec()))
                    .send()
            })
            .await?;
        Ok(Some(
            out.instance_type_offerings()
                .iter()
                .filter_map(|o| o.instance_type().map(|t| t.as_str().to_string()))
                .collect(),
        ))
    }

    /// The account's elastic IP quota in the region and how many addresses
    /// it has allocated; `None` (and no call) unless `wanted`. The quota
    /// matters only to stacks with elastic IPs: two calls, not one per
    /// address.
    async fn read_address_quota(&self, wanted: bool) -> Result<Option<(usize, usize)>, Ec2Error> {
        if !wanted {
            return Ok(None);
        }
        let (attrs, all) = tokio::try_join!(
            trace::branch(
                self.call(Call::unfiltered("DescribeAccountAttributes"), false, || {
                    self.client
                        .describe_account_attributes()
                        .attribute_names(aws_sdk_ec2::types::AccountAttributeName::from(
                            "vpc-max-elastic-ips",
                        ))
                        .send()
                })
            ),
            trace::branch(self.call(Call::unfiltered("DescribeAddresses"), false, || {
                self.client.describe_addresses().send()
            })),
        )?;
        let max = attrs
            .account_attributes()
            .iter()
            .flat_map(|a| a.attribute_values())
            .find_map(|v| v.attribute_value()?.parse::<usize>().ok());
        Ok(max.map(|m| (m, all.addresses().len())))
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
