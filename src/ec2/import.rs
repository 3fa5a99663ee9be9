//! Reading untagged resources for `ec2-gitops import`, and adopting them.

use aws_sdk_ec2::types::{Filter, InstanceAttributeName, Tag};
use base64::Engine as _;

use super::limits::Call;
use super::read::filter;
use super::{Ec2, Ec2Error, trace};
use crate::import::{self, Adoption, BalancerRef, Found, FoundInstance};
use crate::model;

impl Ec2 {
    /// Reads the instances matching `filters` (not already owned by a stack)
    /// and everything they use: a handful of batched calls, plus two
    /// `DescribeInstanceAttribute` per instance (user data and termination
    /// protection are not returned otherwise) — import runs once.
    pub async fn read_for_import(
        &self,
        filters: &[import::Filter],
        balancers: &[BalancerRef],
    ) -> Result<Found, Ec2Error> {
        let instances = self.read_unowned_instances(filters).await?;
        if instances.is_empty() {
            return Ok(Found::default());
        }
        let mut found = self.read_what_instances_use(&instances).await?;
        for i in instances {
            found.instances.push(self.read_found_instance(i).await?);
        }
        if !balancers.is_empty() {
            let (groups, lbs) = self.read_balancers_for_import(balancers).await?;
            found.target_groups = groups;
            found.load_balancers = lbs;
            // The load balancers' security groups are written with them.
            let known: std::collections::BTreeSet<String> =
                found.groups.iter().map(|g| g.id.clone()).collect();
            let mut missing: Vec<String> = (found.load_balancers.iter())
                .flat_map(|b| b.security_group_ids.iter().cloned())
                .filter(|g| !known.contains(g))
                .collect();
            missing.sort();
            missing.dedup();
            if !missing.is_empty() {
                found.groups.extend(
                    self.read_groups(&[filter("group-id", missing)], None)
                        .await?,
                );
            }
        }
        self.add_referenced_groups(&mut found.groups).await?;
        Ok(found)
    }

    /// The live instances matching `filters` that no stack owns yet.
    async fn read_unowned_instances(
        &self,
        filters: &[import::Filter],
    ) -> Result<Vec<model::LiveInstance>, Ec2Error> {
        let mut filters: Vec<Filter> = filters
            .iter()
            .map(|f| filter(&f.name, f.values.iter().cloned()))
            .collect();
        filters.push(filter(
            "instance-state-name",
            ["pending", "running", "stopping", "stopped"],
        ));
        let instances = self.read_instances(&filters, None).await?.live;
        Ok(instances
            .into_iter()
            .filter(|i| !i.tags.contains_key(model::STACK_TAG))
            .collect())
    }

    /// What `instances` use, read at once: their groups, volumes, addresses
    /// and key pairs, and the region's default VPC. The instances themselves
    /// are left out.
    async fn read_what_instances_use(
        &self,
        instances: &[model::LiveInstance],
    ) -> Result<Found, Ec2Error> {
        let ids: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
        let mut group_ids: Vec<String> = instances
            .iter()
            .flat_map(|i| i.security_group_ids.clone())
            .collect();
        group_ids.sort();
        group_ids.dedup();
        let mut key_names: Vec<String> = instances
            .iter()
            .filter_map(|i| i.key_name.clone())
            .collect();
        key_names.sort();
        key_names.dedup();
        let groups_f = [filter("group-id", group_ids)];
        let volumes_f = [filter("attachment.instance-id", ids.clone())];
        let addresses_f = [filter("instance-id", ids.clone())];
        let keys_f = [filter("key-name", key_names.clone())];
        let (groups, volumes, addresses, key_pairs, vpcs) = tokio::try_join!(
            trace::branch(self.read_groups(&groups_f, None)),
            trace::branch(async { Ok(self.read_volumes(&volumes_f, None).await?.0) }),
            trace::branch(self.read_addresses(&addresses_f, None)),
            trace::branch(async {
                if key_names.is_empty() {
                    Ok(vec![])
                } else {
                    self.read_key_pairs(&keys_f, None).await
                }
            }),
            trace::branch(self.call("DescribeVpcs", false, || {
                self.client
                    .describe_vpcs()
                    .filters(filter("is-default", ["true"]))
                    .send()
            })),
        )?;
        let default_vpc = vpcs
            .vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .map(str::to_string);
        Ok(Found {
            instances: Vec::new(),
            groups,
            volumes,
            key_pairs,
            addresses,
            target_groups: Vec::new(),
            load_balancers: Vec::new(),
            default_vpc,
        })
    }

    /// Instance `i` with its user data and termination protection, which
    /// take a `DescribeInstanceAttribute` each.
    async fn read_found_instance(&self, i: model::LiveInstance) -> Result<FoundInstance, Ec2Error> {
        let (ud, protect) = tokio::try_join!(
            trace::branch(
                self.call(Call::unfiltered("DescribeInstanceAttribute"), false, || {
                    self.client
                        .describe_instance_attribute()
                        .instance_id(&i.id)
                        .attribute(InstanceAttributeName::UserData)
                        .send()
                })
            ),
            trace::branch(
                self.call(Call::unfiltered("DescribeInstanceAttribute"), false, || {
                    self.client
                        .describe_instance_attribute()
                        .instance_id(&i.id)
                        .attribute(InstanceAttributeName::DisableApiTermination)
                        .send()
                })
            ),
        )?;
        let user_data = user_data_text(&i.id, ud.user_data().and_then(|u| u.value()))?;
        let protected = protect
            .disable_api_termination()
            .and_then(|b| b.value())
            .unwrap_or(false);
        Ok(FoundInstance {
            live: i,
            user_data,
            protected,
        })
    }

    /// Adds to `groups` the groups that their rules reference (a few
    /// rounds, one batched call each), so `from:` rules can name them.
    async fn add_referenced_groups(
        &self,
        groups: &mut Vec<model::LiveGroup>,
    ) -> Result<(), Ec2Error> {
        for _ in 0..5 {
            let known: std::collections::BTreeSet<String> =
                groups.iter().map(|g| g.id.clone()).collect();
            let mut missing: Vec<String> = groups
                .iter()
                .flat_map(|g| g.ingress.iter().chain(&g.egress))
                .filter_map(|r| match &r.peer {
                    model::Peer::GroupId(id) if !known.contains(id) => Some(id.clone()),
                    _ => None,
                })
                .collect();
            missing.sort();
            missing.dedup();
            if missing.is_empty() {
                break;
            }
            groups.extend(
                self.read_groups(&[filter("group-id", missing)], None)
                    .await?,
            );
        }
        Ok(())
    }

    /// Adds the ownership tags: one `CreateTags` per resource (each gets its
    /// own name tag).
    pub async fn adopt(&self, adoptions: &[Adoption]) -> Result<usize, Ec2Error> {
        for a in adoptions {
            if a.ec2_id.starts_with("arn:") {
                self.add_elb_tags(&a.ec2_id, &a.tags).await?;
                continue;
            }
            let tags: Vec<Tag> = a
                .tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            self.call("CreateTags", true, || {
                self.client
                    .create_tags()
                    .resources(&a.ec2_id)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        }
        Ok(adoptions.len())
    }
}

/// User data as `DescribeInstanceAttribute` returns it (base64) decoded to
/// text; `None` for none. Data that is not base64 or not UTF-8 is an error.
fn user_data_text(instance_id: &str, b64: Option<&str>) -> Result<Option<String>, Ec2Error> {
    match b64 {
        None | Some("") => Ok(None),
        Some(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| Ec2Error {
                    action: "DescribeInstanceAttribute",
                    code: "UserData".into(),
                    message: format!("user data of {instance_id} is not base64: {e}"),
                })?;
            Ok(Some(String::from_utf8(bytes).map_err(|_| Ec2Error {
                action: "DescribeInstanceAttribute",
                code: "UserData".into(),
                message: format!(
                    "user data of {instance_id} is not UTF-8 text; format v1 holds text only"
                ),
            })?))
        }
    }
}

impl Ec2 {
    /// The load balancers `refs` name, their listeners, and the target
    /// groups those forward to (with their targets); one that a stack owns
    /// already is refused. A few calls per load balancer: import runs once.
    async fn read_balancers_for_import(
        &self,
        refs: &[BalancerRef],
    ) -> Result<(Vec<model::LiveTargetGroup>, Vec<model::LiveLoadBalancer>), Ec2Error> {
        let elb = self.elb()?;
        let mut arns: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for r in refs {
            match r {
                BalancerRef::Arn(a) => arns.push(a.clone()),
                BalancerRef::Name(n) => names.push(n.clone()),
                BalancerRef::Tag { key, value } => {
                    arns.extend(self.balancers_tagged(key, value).await?);
                }
            }
        }
        if !names.is_empty() {
            let page = self
                .call("DescribeLoadBalancers", false, || {
                    elb.elb
                        .describe_load_balancers()
                        .set_names(Some(names.clone()))
                        .send()
                })
                .await?;
            arns.extend(
                page.load_balancers()
                    .iter()
                    .filter_map(|b| b.load_balancer_arn().map(str::to_string)),
            );
        }
        arns.sort();
        arns.dedup();
        if arns.is_empty() {
            return Err(Ec2Error {
                action: "DescribeLoadBalancers",
                code: "LoadBalancerNotFound".into(),
                message: "no load balancer matches --load-balancer".into(),
            });
        }
        let tags = self.elb_tags(&arns).await?;
        if let Some((arn, t)) = tags.iter().find(|(_, t)| t.contains_key(model::STACK_TAG)) {
            return Err(Ec2Error {
                action: "DescribeTags",
                code: "AlreadyOwned".into(),
                message: format!(
                    "{arn} belongs to stack {} already: it is not imported",
                    t[model::STACK_TAG]
                ),
            });
        }
        let empty = std::collections::BTreeMap::new();
        let named: Vec<(String, String, std::collections::BTreeMap<String, String>)> = arns
            .iter()
            .map(|a| {
                (
                    String::new(),
                    a.clone(),
                    tags.get(a).cloned().unwrap_or_default(),
                )
            })
            .collect();
        let balancers = self.describe_balancers(named, &empty).await?;
        let mut group_arns: Vec<String> = (balancers.iter())
            .flat_map(|b| b.listeners.values())
            .filter_map(|l| match &l.spec.as_ref()?.action {
                model::ListenerAction::Forward(arn) => Some(arn.clone()),
                model::ListenerAction::RedirectHttps(_) => None,
            })
            .collect();
        group_arns.sort();
        group_arns.dedup();
        let group_tags = self.elb_tags(&group_arns).await?;
        if let Some((arn, t)) = (group_tags.iter()).find(|(_, t)| t.contains_key(model::STACK_TAG))
        {
            return Err(Ec2Error {
                action: "DescribeTags",
                code: "AlreadyOwned".into(),
                message: format!(
                    "target group {arn} belongs to stack {} already: its load balancer is not imported",
                    t[model::STACK_TAG]
                ),
            });
        }
        let groups = self
            .describe_target_groups(
                group_arns
                    .iter()
                    .map(|a| {
                        (
                            String::new(),
                            a.clone(),
                            group_tags.get(a).cloned().unwrap_or_default(),
                        )
                    })
                    .collect(),
            )
            .await?;
        Ok((groups, balancers))
    }

    /// The ARNs of the application load balancers tagged `key=value`.
    async fn balancers_tagged(&self, key: &str, value: &str) -> Result<Vec<String>, Ec2Error> {
        let elb = self.elb()?;
        let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
            .key(key)
            .values(value)
            .build();
        let page = self
            .call("GetResources", false, || {
                elb.tagging
                    .get_resources()
                    .tag_filters(filter.clone())
                    .resource_type_filters("elasticloadbalancing:loadbalancer")
                    .resources_per_page(100)
                    .send()
            })
            .await?;
        Ok(page
            .resource_tag_mapping_list()
            .iter()
            .filter_map(|r| r.resource_arn())
            .filter(|a| a.contains(":loadbalancer/app/"))
            .map(str::to_string)
            .collect())
    }

    /// The tags of ELB resources, by ARN (one `DescribeTags` per 20).
    async fn elb_tags(
        &self,
        arns: &[String],
    ) -> Result<
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
        Ec2Error,
    > {
        let elb = self.elb()?;
        let mut out = std::collections::BTreeMap::new();
        for chunk in arns.chunks(20) {
            let page = self
                .call("DescribeTags", false, || {
                    elb.elb
                        .describe_tags()
                        .set_resource_arns(Some(chunk.to_vec()))
                        .send()
                })
                .await?;
            for d in page.tag_descriptions() {
                let Some(arn) = d.resource_arn() else {
                    continue;
                };
                let tags = d
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_string(),
                            t.value().unwrap_or_default().to_string(),
                        ))
                    })
                    .collect();
                out.insert(arn.to_string(), tags);
            }
        }
        Ok(out)
    }
}
