//! Load balancers and target groups: found by the stack tag with one paged
//! `GetResources` of the tagging API (ELB itself can only list all of an
//! account's), then described in batches. A stack without any costs that
//! one call; one with some costs one `DescribeTargetGroups` and one
//! `DescribeLoadBalancers` per 20, one `DescribeListeners` per load
//! balancer, and one `DescribeTargetGroupAttributes` and one
//! `DescribeTargetHealth` per target group (ELB has no batch form of
//! these): a number set by the YAML, whatever the number of servers.

use aws_sdk_elasticloadbalancingv2::types::{ActionTypeEnum, Listener, LoadBalancer, TargetGroup};
use aws_sdk_resourcegroupstagging::types::TagFilter;

use super::*;
use crate::model::{
    ElbProtocol, HealthCheck, ListenerAction, ListenerSpec, LiveListener, LiveLoadBalancer,
    LiveTargetGroup, Scheme,
};

/// ELB takes at most 20 ARNs per describe.
const ARNS_PER_CALL: usize = 20;

/// The ELB attribute holding a target group's draining time.
pub(in crate::ec2) const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

/// A stack's ELB resources, by ARN, with their tags.
type Tagged = Vec<(String, BTreeMap<String, String>)>;

impl Ec2 {
    /// The stack's target groups and load balancers (see the module).
    pub(in crate::ec2) async fn read_balancers(
        &self,
        stack: &str,
        unclaimed: &Mutex<Vec<Unclaimed>>,
    ) -> Result<(Vec<LiveTargetGroup>, Vec<LiveLoadBalancer>), Ec2Error> {
        let (groups, balancers) = self.tagged_balancers(stack).await?;
        let claim = |kind, arn: &str, tags: &BTreeMap<String, String>| {
            name_for(tags, Some((kind, unclaimed)), arn)
        };
        let groups: Vec<(String, String, BTreeMap<String, String>)> = groups
            .into_iter()
            .filter_map(|(arn, tags)| Some((claim(Kind::TargetGroup, &arn, &tags)?, arn, tags)))
            .collect();
        let balancers: Vec<(String, String, BTreeMap<String, String>)> = balancers
            .into_iter()
            .filter_map(|(arn, tags)| Some((claim(Kind::LoadBalancer, &arn, &tags)?, arn, tags)))
            .collect();
        let live_groups = self.describe_target_groups(groups).await?;
        let names: BTreeMap<&str, &str> = live_groups
            .iter()
            .map(|g| (g.arn.as_str(), g.name.as_str()))
            .collect();
        let live_balancers = self.describe_balancers(balancers, &names).await?;
        Ok((live_groups, live_balancers))
    }

    /// The ARNs and tags of the stack's target groups and load balancers.
    pub(in crate::ec2) async fn tagged_balancers(
        &self,
        stack: &str,
    ) -> Result<(Tagged, Tagged), Ec2Error> {
        let elb = self.elb()?;
        let filter = TagFilter::builder()
            .key(model::STACK_TAG)
            .values(stack)
            .build();
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .call("GetResources", false, || {
                    elb.tagging
                        .get_resources()
                        .tag_filters(filter.clone())
                        .resource_type_filters("elasticloadbalancing:loadbalancer")
                        .resource_type_filters("elasticloadbalancing:targetgroup")
                        .resources_per_page(100)
                        .set_pagination_token(token.clone())
                        .send()
                })
                .await?;
            token = page
                .pagination_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            pages.push(page);
            if token.is_none() {
                break;
            }
        }
        let (mut groups, mut balancers) = (Vec::new(), Vec::new());
        for r in pages.iter().flat_map(|p| p.resource_tag_mapping_list()) {
            let Some(arn) = r.resource_arn() else {
                continue;
            };
            let tags: BTreeMap<String, String> = r
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            // Only what carries the stack's tag with this value is its own.
            if tags.get(model::STACK_TAG).map(String::as_str) != Some(stack) {
                continue;
            }
            if arn.contains(":targetgroup/") {
                groups.push((arn.to_string(), tags));
            } else if arn.contains(":loadbalancer/app/") {
                balancers.push((arn.to_string(), tags));
            }
        }
        groups.sort();
        balancers.sort();
        Ok((groups, balancers))
    }

    pub(in crate::ec2) async fn describe_target_groups(
        &self,
        groups: Vec<(String, String, BTreeMap<String, String>)>,
    ) -> Result<Vec<LiveTargetGroup>, Ec2Error> {
        let mut described: BTreeMap<String, TargetGroup> = BTreeMap::new();
        for chunk in groups.chunks(ARNS_PER_CALL) {
            let arns: Vec<String> = chunk.iter().map(|(_, arn, _)| arn.clone()).collect();
            for g in self.target_groups_of(&arns).await? {
                if let Some(arn) = g.target_group_arn() {
                    described.insert(arn.to_string(), g.clone());
                }
            }
        }
        let mut out = Vec::new();
        for (name, arn, tags) in groups {
            // Deleted since it was found: not there.
            let Some(g) = described.get(&arn) else {
                continue;
            };
            let (delay, targets) = match tokio::try_join!(
                self.deregistration_delay(&arn),
                self.target_health(&arn, &[])
            ) {
                Ok(x) => x,
                Err(e) if e.code == "TargetGroupNotFound" => continue,
                Err(e) => return Err(e),
            };
            out.push(LiveTargetGroup {
                name,
                group_name: g.target_group_name().unwrap_or_default().to_string(),
                port: g.port().unwrap_or_default().try_into().unwrap_or_default(),
                protocol: g.protocol().and_then(|p| ElbProtocol::parse(p.as_str())),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                health_check: health_check(g),
                deregistration_delay: delay,
                targets,
                tags,
                arn,
            });
        }
        out.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
        Ok(out)
    }

    /// The target groups of `arns` (at most 20), the missing ones left out
    /// (see [`each_if_missing`]).
    async fn target_groups_of(&self, arns: &[String]) -> Result<Vec<TargetGroup>, Ec2Error> {
        let elb = self.elb()?;
        each_if_missing(arns, "TargetGroupNotFound", |arns| async move {
            let page = self
                .call("DescribeTargetGroups", false, || {
                    elb.elb
                        .describe_target_groups()
                        .set_target_group_arns(Some(arns.clone()))
                        .send()
                })
                .await?;
            Ok(page.target_groups().to_vec())
        })
        .await
    }

    /// The load balancers of `arns` (at most 20), the missing ones left out.
    async fn balancers_of(&self, arns: &[String]) -> Result<Vec<LoadBalancer>, Ec2Error> {
        let elb = self.elb()?;
        each_if_missing(arns, "LoadBalancerNotFound", |arns| async move {
            let page = self
                .call("DescribeLoadBalancers", false, || {
                    elb.elb
                        .describe_load_balancers()
                        .set_load_balancer_arns(Some(arns.clone()))
                        .send()
                })
                .await?;
            Ok(page.load_balancers().to_vec())
        })
        .await
    }

    /// A target group's draining time, in seconds.
    async fn deregistration_delay(&self, arn: &str) -> Result<u32, Ec2Error> {
        let elb = self.elb()?;
        let page = self
            .call("DescribeTargetGroupAttributes", false, || {
                elb.elb
                    .describe_target_group_attributes()
                    .target_group_arn(arn)
                    .send()
            })
            .await?;
        Ok(page
            .attributes()
            .iter()
            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
            .and_then(|a| a.value()?.parse().ok())
            .unwrap_or(300))
    }

    /// The state of each target of a group (`healthy`, `initial`,
    /// `draining`, …): of every registered one, or of the instances named.
    pub(in crate::ec2) async fn target_health(
        &self,
        arn: &str,
        instances: &[String],
    ) -> Result<BTreeMap<String, String>, Ec2Error> {
        let elb = self.elb()?;
        let targets: Vec<_> = instances
            .iter()
            .map(|id| {
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(id)
                    .build()
            })
            .collect();
        let page = self
            .call("DescribeTargetHealth", false, || {
                elb.elb
                    .describe_target_health()
                    .target_group_arn(arn)
                    .set_targets((!targets.is_empty()).then(|| targets.clone()))
                    .send()
            })
            .await?;
        Ok(page
            .target_health_descriptions()
            .iter()
            .filter_map(|d| {
                let id = d.target()?.id()?.to_string();
                let state = d
                    .target_health()
                    .and_then(|h| h.state())
                    .map_or("unknown", |s| s.as_str())
                    .to_string();
                Some((id, state))
            })
            .collect())
    }

    pub(in crate::ec2) async fn describe_balancers(
        &self,
        balancers: Vec<(String, String, BTreeMap<String, String>)>,
        group_names: &BTreeMap<&str, &str>,
    ) -> Result<Vec<LiveLoadBalancer>, Ec2Error> {
        let mut out = Vec::new();
        for chunk in balancers.chunks(ARNS_PER_CALL) {
            let arns: Vec<String> = chunk.iter().map(|(_, arn, _)| arn.clone()).collect();
            let described = self.balancers_of(&arns).await?;
            for (name, arn, tags) in chunk {
                let Some(b) = described
                    .iter()
                    .find(|b| b.load_balancer_arn() == Some(arn.as_str()))
                else {
                    continue;
                };
                let listeners = match self.listeners(arn, group_names).await {
                    Ok(l) => l,
                    // Deleted since it was described.
                    Err(e) if e.code == "LoadBalancerNotFound" => continue,
                    Err(e) => return Err(e),
                };
                let mut subnets: Vec<String> = b
                    .availability_zones()
                    .iter()
                    .filter_map(|z| z.subnet_id().map(str::to_string))
                    .collect();
                subnets.sort();
                let mut security_group_ids = b.security_groups().to_vec();
                security_group_ids.sort();
                out.push(LiveLoadBalancer {
                    name: name.clone(),
                    arn: arn.clone(),
                    balancer_name: b.load_balancer_name().unwrap_or_default().to_string(),
                    dns_name: b.dns_name().unwrap_or_default().to_string(),
                    balancer_type: b.r#type().map_or("application", |t| t.as_str()).to_string(),
                    scheme: b.scheme().and_then(|s| Scheme::parse(s.as_str())),
                    vpc_id: b.vpc_id().unwrap_or_default().to_string(),
                    subnets,
                    security_group_ids,
                    listeners,
                    tags: tags.clone(),
                });
            }
        }
        out.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
        Ok(out)
    }

    /// A load balancer's listeners by port; a forward names the stack's
    /// target group by its logical name (another group: by its ARN).
    async fn listeners(
        &self,
        arn: &str,
        group_names: &BTreeMap<&str, &str>,
    ) -> Result<BTreeMap<u16, LiveListener>, Ec2Error> {
        let elb = self.elb()?;
        let page = self
            .call("DescribeListeners", false, || {
                elb.elb.describe_listeners().load_balancer_arn(arn).send()
            })
            .await?;
        Ok(page
            .listeners()
            .iter()
            .filter_map(|l| {
                let port = u16::try_from(l.port()?).ok()?;
                Some((
                    port,
                    LiveListener {
                        arn: l.listener_arn()?.to_string(),
                        spec: listener_spec(l, group_names),
                    },
                ))
            })
            .collect())
    }
}

/// What `describe` says of `arns`. The tagging API lists a resource deleted
/// a moment ago for a while, and ELB refuses a whole call that names one
/// (`missing`): then each is asked alone, and the missing ones are left out.
async fn each_if_missing<T, F, Fut>(
    arns: &[String],
    missing: &str,
    describe: F,
) -> Result<Vec<T>, Ec2Error>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, Ec2Error>>,
{
    match describe(arns.to_vec()).await {
        Err(e) if e.code == missing && arns.len() > 1 => {
            let mut out = Vec::new();
            for arn in arns {
                match describe(vec![arn.clone()]).await {
                    Ok(found) => out.extend(found),
                    Err(e) if e.code == missing => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        Err(e) if e.code == missing => Ok(Vec::new()),
        result => result,
    }
}

/// A target group's health check as the format writes it.
fn health_check(g: &TargetGroup) -> HealthCheck {
    let d = HealthCheck::default();
    let secs =
        |v: Option<i32>, default: u32| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(default);
    HealthCheck {
        path: g.health_check_path().unwrap_or(&d.path).to_string(),
        matcher: g
            .matcher()
            .and_then(|m| m.http_code())
            .unwrap_or(&d.matcher)
            .to_string(),
        interval: secs(g.health_check_interval_seconds(), d.interval),
        timeout: secs(g.health_check_timeout_seconds(), d.timeout),
        healthy_threshold: secs(g.healthy_threshold_count(), d.healthy_threshold),
        unhealthy_threshold: secs(g.unhealthy_threshold_count(), d.unhealthy_threshold),
    }
}

/// A listener as the format writes it, when it can: one default action
/// that forwards to one group, or redirects to HTTPS with a 301.
fn listener_spec(l: &Listener, group_names: &BTreeMap<&str, &str>) -> Option<ListenerSpec> {
    let protocol = ElbProtocol::parse(l.protocol()?.as_str())?;
    let [action] = l.default_actions() else {
        return None;
    };
    let action = match action.r#type()? {
        ActionTypeEnum::Forward => {
            let arn = action.target_group_arn().or_else(|| {
                let groups = action.forward_config()?.target_groups();
                match groups {
                    [one] => one.target_group_arn(),
                    _ => None,
                }
            })?;
            let name = group_names.get(arn).copied().unwrap_or(arn);
            ListenerAction::Forward(name.to_string())
        }
        ActionTypeEnum::Redirect => {
            let r = action.redirect_config()?;
            let https = r.protocol() == Some("HTTPS");
            let permanent = r.status_code().map(|s| s.as_str()) == Some("HTTP_301");
            let plain = [r.host(), r.path(), r.query()]
                .iter()
                .all(|p| p.is_none() || matches!(*p, Some("#{host}" | "/#{path}" | "#{query}")));
            if !(https && permanent && plain) {
                return None;
            }
            ListenerAction::RedirectHttps(r.port().unwrap_or("443").parse().ok()?)
        }
        _ => return None,
    };
    let certificate = l
        .certificates()
        .first()
        .and_then(|c| c.certificate_arn())
        .map(str::to_string);
    Some(ListenerSpec {
        protocol,
        certificate,
        action,
    })
}
