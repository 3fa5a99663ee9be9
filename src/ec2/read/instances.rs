//! Instances: one paged `DescribeInstances` (1,000 a page), the terminated
//! ones kept by name (a rerun must not launch twice), and the root volumes
//! of batch launches named after their instance.

use super::*;

/// A stack's instances as read: the live ones, the ids of terminated ones
/// by name, and those a batch launch made that nobody named.
pub(in crate::ec2) struct Instances {
    pub live: Vec<LiveInstance>,
    pub terminated: BTreeMap<String, Vec<String>>,
    pub launched: Vec<Launched>,
}

impl Ec2 {
    pub(in crate::ec2) async fn read_instances(
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
                out.push(live_instance(i, name, id, state, tags));
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
}

/// A live instance as `DescribeInstances` reports it, named `name`.
fn live_instance(
    i: &aws_sdk_ec2::types::Instance,
    name: String,
    id: String,
    state: String,
    tags: BTreeMap<String, String>,
) -> LiveInstance {
    LiveInstance {
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
        instance_profile: i
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .map(|arn| crate::plan::diff::profile_name(arn).to_string()),
        unexpressed: unexpressed(i),
        metadata: i.metadata_options().and_then(|m| {
            Some(model::LiveMetadata {
                tokens: m.http_tokens()?.as_str().to_string(),
                hop_limit: m.http_put_response_hop_limit(),
            })
        }),
        tags,
    }
}

/// What instance `i` has that the format cannot say, in words: a
/// replacement launched from the YAML would not have it.
fn unexpressed(i: &aws_sdk_ec2::types::Instance) -> Vec<String> {
    use aws_sdk_ec2::types::{InstanceLifecycleType, Tenancy};
    let mut out = Vec::new();
    if i.network_interfaces().len() > 1 {
        out.push(format!(
            "{} network interfaces",
            i.network_interfaces().len()
        ));
    }
    if let Some(p) = i.placement() {
        if let Some(g) = p.group_name().filter(|g| !g.is_empty()) {
            out.push(format!("placement group {g}"));
        }
        if let Some(t) = p.tenancy().filter(|t| **t != Tenancy::Default) {
            out.push(format!("{} tenancy", t.as_str()));
        }
    }
    match i.instance_lifecycle() {
        Some(InstanceLifecycleType::Spot) => out.push("a spot instance".into()),
        Some(InstanceLifecycleType::Scheduled) => out.push("a scheduled instance".into()),
        _ => {}
    }
    if i.hibernation_options()
        .and_then(|h| h.configured())
        .unwrap_or(false)
    {
        out.push("hibernation".into());
    }
    if i.source_dest_check() == Some(false) {
        out.push("source/destination check off".into());
    }
    if let Some(c) = i.capacity_reservation_id() {
        out.push(format!("capacity reservation {c}"));
    }
    out
}

/// Names the volumes of batch launches (`roots`: the stack's and launch
/// tags, no name tag) after their instance: a launch makes no volume but
/// the root one, so the volume of a launch attached to a named instance of
/// the same launch is `<instance>/root` (by launch tag, not by device name:
/// moto reports a root device its mapping does not use); one of an instance
/// still unnamed goes with it (its batch's apply adopts both); any other is
/// unclaimed, like every stack-tagged volume without a name.
pub(super) fn claim_root_volumes(
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
