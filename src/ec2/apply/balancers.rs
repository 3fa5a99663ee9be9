//! Target groups and load balancers: made, changed and deleted; servers
//! registered (once running) and deregistered (then drained); the health
//! gate of a batch behind a load balancer.
//!
//! ELB's creations are idempotent by name (the same name and settings
//! answer with the resource made before), so a retried or re-run creation
//! makes nothing twice; a deletion of what is already gone succeeds.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, Tag as ElbTag,
    TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};

use super::*;
use crate::ec2::read::DEREGISTRATION_DELAY;
use crate::plan::steps::{BalancerCreate, ListenerOp, TargetGroupCreate};

/// How much longer than its draining time a deregistration is waited for
/// before the step goes on (ELB ends draining at that time at the latest).
const DRAIN_GRACE: Duration = Duration::from_secs(60);

fn elb_tags(tags: &BTreeMap<String, String>) -> Vec<ElbTag> {
    tags.iter()
        .map(|(k, v)| ElbTag::builder().key(k).value(v).build())
        .collect()
}

fn targets(ids: &[String]) -> Vec<TargetDescription> {
    ids.iter()
        .map(|id| TargetDescription::builder().id(id).build())
        .collect()
}

/// Whether an ELB error says the thing is already gone.
fn gone(e: &Ec2Error) -> bool {
    matches!(
        e.code.as_str(),
        "TargetGroupNotFound" | "LoadBalancerNotFound" | "ListenerNotFound"
    )
}

impl Run<'_> {
    pub(super) async fn create_target_group(
        &self,
        step: &Step,
        create: &TargetGroupCreate,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        let h = &create.health_check;
        let out = ec2
            .call("CreateTargetGroup", false, || {
                elb.create_target_group()
                    .name(&create.group_name)
                    .protocol(ProtocolEnum::from(create.protocol.as_str()))
                    .port(i32::from(create.port))
                    .vpc_id(&create.vpc_id)
                    .target_type(TargetTypeEnum::Instance)
                    .health_check_path(&h.path)
                    .health_check_interval_seconds(h.interval as i32)
                    .health_check_timeout_seconds(h.timeout as i32)
                    .healthy_threshold_count(h.healthy_threshold as i32)
                    .unhealthy_threshold_count(h.unhealthy_threshold as i32)
                    .matcher(Matcher::builder().http_code(&h.matcher).build())
                    .set_tags(Some(elb_tags(&create.tags)))
                    .send()
            })
            .await?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .ok_or_else(|| missing("CreateTargetGroup", "a target group ARN"))?
            .to_string();
        self.record(&step.resource, &arn);
        self.set_deregistration_delay(&arn, create.deregistration_delay)
            .await?;
        Ok(format!("{arn} ({})", create.group_name))
    }

    async fn set_deregistration_delay(&self, arn: &str, secs: u32) -> Result<(), Ec2Error> {
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        ec2.call("ModifyTargetGroupAttributes", false, || {
            elb.modify_target_group_attributes()
                .target_group_arn(arn)
                .attributes(
                    TargetGroupAttribute::builder()
                        .key(DEREGISTRATION_DELAY)
                        .value(secs.to_string())
                        .build(),
                )
                .send()
        })
        .await?;
        Ok(())
    }

    pub(super) async fn modify_target_group(
        &self,
        arn: &str,
        health: Option<&model::HealthCheck>,
        delay: Option<u32>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        if let Some(h) = health {
            ec2.call("ModifyTargetGroup", false, || {
                elb.modify_target_group()
                    .target_group_arn(arn)
                    .health_check_path(&h.path)
                    .health_check_interval_seconds(h.interval as i32)
                    .health_check_timeout_seconds(h.timeout as i32)
                    .healthy_threshold_count(h.healthy_threshold as i32)
                    .unhealthy_threshold_count(h.unhealthy_threshold as i32)
                    .matcher(Matcher::builder().http_code(&h.matcher).build())
                    .send()
            })
            .await?;
        }
        if let Some(secs) = delay {
            self.set_deregistration_delay(arn, secs).await?;
        }
        Ok(format!("{arn} changed"))
    }

    pub(super) async fn delete_target_group(&self, arn: &str) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        let result = ec2
            .call("DeleteTargetGroup", false, || {
                elb.delete_target_group().target_group_arn(arn).send()
            })
            .await;
        deleted(arn, result)
    }

    /// Registers servers once each runs: one `RegisterTargets`.
    pub(super) async fn register_targets(
        &self,
        group: &Ref,
        instances: &[(String, Ref)],
    ) -> Result<String, Ec2Error> {
        let arn = self.resolve(group)?;
        let ids: Vec<String> = instances
            .iter()
            .map(|(_, r)| self.resolve(r))
            .collect::<Result<_, _>>()?;
        let waits = ids.iter().map(|id| self.ensure_running(id));
        for r in futures_util::future::join_all(waits).await {
            r?;
        }
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        ec2.call("RegisterTargets", false, || {
            elb.register_targets()
                .target_group_arn(&arn)
                .set_targets(Some(targets(&ids)))
                .send()
        })
        .await?;
        let names: Vec<&str> = instances.iter().map(|(n, _)| n.as_str()).collect();
        Ok(format!("{} registered in {arn}", names.join(", ")))
    }

    /// Deregisters servers (one call), then waits until ELB has drained
    /// them: no longer `draining`, at most the group's draining time and a
    /// minute.
    pub(super) async fn deregister_targets(
        &self,
        arn: &str,
        instances: &[(String, String)],
        drain_secs: u32,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        let ids: Vec<String> = instances.iter().map(|(_, id)| id.clone()).collect();
        let names: Vec<&str> = instances.iter().map(|(n, _)| n.as_str()).collect();
        match ec2
            .call("DeregisterTargets", false, || {
                elb.deregister_targets()
                    .target_group_arn(arn)
                    .set_targets(Some(targets(&ids)))
                    .send()
            })
            .await
        {
            Ok(_) => {}
            // A re-run: already out (or the group is gone).
            Err(e) if e.code == "InvalidTarget" || gone(&e) => {}
            Err(e) => return Err(e),
        }
        let limit = Duration::from_secs(u64::from(drain_secs)) + DRAIN_GRACE;
        let start = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let states = match ec2.target_health(arn, &ids).await {
                Ok(s) => s,
                Err(e) if gone(&e) => break,
                Err(e) => return Err(e),
            };
            let draining = states.values().filter(|s| *s == "draining").count();
            if draining == 0 {
                break;
            }
            if start.elapsed() >= limit {
                // ELB ends draining at the delay: its answer is late.
                break;
            }
            self.progress.note(&format!(
                "draining {} from its target group ({}s of at most {drain_secs}s)",
                names.join(", "),
                start.elapsed().as_secs()
            ));
            tokio::time::sleep(delay.min(limit.saturating_sub(start.elapsed()))).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        Ok(format!(
            "{} out of rotation, drained in {}s",
            names.join(", "),
            start.elapsed().as_secs()
        ))
    }

    /// The gate of a batch behind a load balancer: every server `healthy`
    /// in every group within `timeout`; else the rollout stops there.
    pub(super) async fn target_group_gate(
        &self,
        instances: &[(String, Ref)],
        groups: &[Ref],
        timeout: Duration,
    ) -> Result<String, Ec2Error> {
        let ids: Vec<(String, String)> = instances
            .iter()
            .map(|(name, r)| Ok((name.clone(), self.resolve(r)?)))
            .collect::<Result<_, Ec2Error>>()?;
        let arns: Vec<String> = groups
            .iter()
            .map(|g| self.resolve(g))
            .collect::<Result<_, _>>()?;
        let just_ids: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
        let start = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            let mut waiting = Vec::new();
            for arn in &arns {
                let states = self.ec2.target_health(arn, &just_ids).await?;
                for (name, id) in &ids {
                    let state = states.get(id).map_or("unknown", String::as_str);
                    if state != "healthy" {
                        waiting.push(format!("instance.{name} ({id}): {state} in {arn}"));
                    }
                }
            }
            if waiting.is_empty() {
                let names: Vec<&str> = ids.iter().map(|(n, _)| n.as_str()).collect();
                return Ok(format!(
                    "healthy in its target groups: {}",
                    names.join(", ")
                ));
            }
            if start.elapsed() >= timeout {
                return Err(Ec2Error {
                    action: "DescribeTargetHealth",
                    code: "HealthGate".into(),
                    message: format!(
                        "not healthy in the load balancer's health check after {}s: {}. The rollout stopped: the later batches were left as they are and keep serving; fix the server (its health check path must answer) and run apply again",
                        timeout.as_secs(),
                        waiting.join("; ")
                    ),
                });
            }
            self.progress
                .waiting(waiting.len(), "healthy in target group", start.elapsed());
            tokio::time::sleep(delay.min(timeout.saturating_sub(start.elapsed()))).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    pub(super) async fn create_load_balancer(
        &self,
        step: &Step,
        create: &BalancerCreate,
    ) -> Result<String, Ec2Error> {
        let groups: Vec<String> = create
            .groups
            .iter()
            .map(|g| self.resolve(g))
            .collect::<Result<_, _>>()?;
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        let out = ec2
            .call("CreateLoadBalancer", false, || {
                elb.create_load_balancer()
                    .name(&create.balancer_name)
                    .r#type(LoadBalancerTypeEnum::Application)
                    .scheme(LoadBalancerSchemeEnum::from(create.scheme.as_str()))
                    .set_subnets(Some(create.subnets.clone()))
                    .set_security_groups((!groups.is_empty()).then(|| groups.clone()))
                    .set_tags(Some(elb_tags(&create.tags)))
                    .send()
            })
            .await?;
        let b = out
            .load_balancers()
            .first()
            .ok_or_else(|| missing("CreateLoadBalancer", "a load balancer"))?;
        let arn = b
            .load_balancer_arn()
            .ok_or_else(|| missing("CreateLoadBalancer", "a load balancer ARN"))?;
        self.record(&step.resource, arn);
        Ok(format!("{arn} at {}", b.dns_name().unwrap_or("?")))
    }

    pub(super) async fn modify_load_balancer(
        &self,
        arn: &str,
        subnets: Option<&Vec<String>>,
        groups: Option<&Vec<Ref>>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        if let Some(subnets) = subnets {
            ec2.call("SetSubnets", false, || {
                elb.set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(subnets.clone()))
                    .send()
            })
            .await?;
        }
        if let Some(groups) = groups {
            let ids: Vec<String> = groups
                .iter()
                .map(|g| self.resolve(g))
                .collect::<Result<_, _>>()?;
            ec2.call("SetSecurityGroups", false, || {
                elb.set_security_groups()
                    .load_balancer_arn(arn)
                    .set_security_groups(Some(ids.clone()))
                    .send()
            })
            .await?;
        }
        Ok(format!("{arn} changed"))
    }

    /// The default action of a listener.
    fn listener_action(&self, l: &ListenerOp) -> Result<Action, Ec2Error> {
        Ok(match (&l.forward, l.redirect_https) {
            (Some(group), _) => Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(self.resolve(group)?)
                .build(),
            (None, port) => Action::builder()
                .r#type(ActionTypeEnum::Redirect)
                .redirect_config(
                    RedirectActionConfig::builder()
                        .protocol("HTTPS")
                        .port(port.unwrap_or(443).to_string())
                        .status_code(RedirectActionStatusCodeEnum::Http301)
                        .build(),
                )
                .build(),
        })
    }

    pub(super) async fn set_listeners(
        &self,
        balancer: &Ref,
        create: &[ListenerOp],
        modify: &[(String, ListenerOp)],
        delete: &[String],
    ) -> Result<String, Ec2Error> {
        let arn = self.resolve(balancer)?;
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        let certificates = |l: &ListenerOp| {
            l.certificate
                .as_ref()
                .map(|c| vec![Certificate::builder().certificate_arn(c).build()])
        };
        for l in create {
            let action = self.listener_action(l)?;
            ec2.call("CreateListener", false, || {
                elb.create_listener()
                    .load_balancer_arn(&arn)
                    .port(i32::from(l.port))
                    .protocol(ProtocolEnum::from(l.protocol.as_str()))
                    .set_certificates(certificates(l))
                    .default_actions(action.clone())
                    .send()
            })
            .await?;
        }
        for (listener, l) in modify {
            let action = self.listener_action(l)?;
            ec2.call("ModifyListener", false, || {
                elb.modify_listener()
                    .listener_arn(listener)
                    .port(i32::from(l.port))
                    .protocol(ProtocolEnum::from(l.protocol.as_str()))
                    .set_certificates(certificates(l))
                    .default_actions(action.clone())
                    .send()
            })
            .await?;
        }
        for listener in delete {
            match ec2
                .call("DeleteListener", false, || {
                    elb.delete_listener().listener_arn(listener).send()
                })
                .await
            {
                Ok(_) => {}
                Err(e) if gone(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(format!(
            "listeners of {arn}: {} created, {} changed, {} deleted",
            create.len(),
            modify.len(),
            delete.len()
        ))
    }

    pub(super) async fn delete_load_balancer(&self, arn: &str) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        let result = ec2
            .call("DeleteLoadBalancer", false, || {
                elb.delete_load_balancer().load_balancer_arn(arn).send()
            })
            .await;
        deleted(arn, result)
    }

    /// Sets and removes tags of an ELB resource (by ARN).
    pub(super) async fn retag_elb(
        &self,
        arn: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let elb = &ec2.elb()?.elb;
        if !set.is_empty() {
            ec2.add_elb_tags(arn, set).await?;
        }
        if !remove.is_empty() {
            ec2.call("RemoveTags", false, || {
                elb.remove_tags()
                    .resource_arns(arn)
                    .set_tag_keys(Some(remove.to_vec()))
                    .send()
            })
            .await?;
        }
        Ok(format!(
            "tags of {arn}: {} set, {} removed",
            set.len(),
            remove.len()
        ))
    }
}

/// What a deletion of `arn` says: deleted, or already gone (a re-run).
fn deleted<T>(arn: &str, result: Result<T, Ec2Error>) -> Result<String, Ec2Error> {
    match result {
        Ok(_) => Ok(format!("{arn} deleted")),
        Err(e) if gone(&e) => Ok(format!("{arn} already gone")),
        Err(e) => Err(e),
    }
}

impl Ec2 {
    /// Sets tags on one ELB resource (one `AddTags`; setting a tag twice is
    /// harmless, so a retried call is too): the stack's tags, or an
    /// import's adoption.
    pub(in crate::ec2) async fn add_elb_tags(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), Ec2Error> {
        let elb = &self.elb()?.elb;
        self.call("AddTags", true, || {
            elb.add_tags()
                .resource_arns(arn)
                .set_tags(Some(elb_tags(tags)))
                .send()
        })
        .await?;
        Ok(())
    }
}

fn missing(action: &'static str, what: &str) -> Ec2Error {
    Ec2Error {
        action,
        code: "MissingField".into(),
        message: format!("ELB's answer holds no {what}"),
    }
}
