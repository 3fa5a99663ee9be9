//! Security groups and their rules.

use super::*;

impl<'a> Run<'a> {
    /// Authorizes and revokes the rules of one group.
    /// A `SetRules` step: revokes, authorizes, then describes.
    pub(super) async fn apply_rules(&self, op: &Op) -> Result<String, Ec2Error> {
        let Op::SetRules {
            group,
            authorize_ingress,
            revoke_ingress,
            authorize_egress,
            revoke_egress,
            describe_ingress,
            describe_egress,
        } = op
        else {
            unreachable!("apply_rules runs SetRules steps")
        };
        let group_id = self.resolve(group)?;
        self.set_rules(
            &group_id,
            authorize_ingress,
            revoke_ingress,
            authorize_egress,
            revoke_egress,
        )
        .await?;
        let c = &self.ec2.client;
        self.rule_call(
            "UpdateSecurityGroupRuleDescriptionsIngress",
            describe_ingress,
            |p| {
                c.update_security_group_rule_descriptions_ingress()
                    .group_id(&group_id)
                    .set_ip_permissions(Some(p))
                    .send()
            },
        )
        .await?;
        self.rule_call(
            "UpdateSecurityGroupRuleDescriptionsEgress",
            describe_egress,
            |p| {
                c.update_security_group_rule_descriptions_egress()
                    .group_id(&group_id)
                    .set_ip_permissions(Some(p))
                    .send()
            },
        )
        .await?;
        let described = describe_ingress.len() + describe_egress.len();
        Ok(format!(
            "{group_id}: {} rule(s) authorized, {} revoked{}",
            authorize_ingress.len() + authorize_egress.len(),
            revoke_ingress.len() + revoke_egress.len(),
            if described > 0 {
                format!(", {described} described")
            } else {
                String::new()
            }
        ))
    }

    /// Creates a security group; one of that name owned by the stack (an interrupted run) is adopted, anyone else's refused.
    pub(super) async fn create_group(
        &self,
        step: &Step,
        group_name: &str,
        description: &str,
        vpc_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let res = ec2
            .call("CreateSecurityGroup", false, || {
                c.create_security_group()
                    .group_name(group_name)
                    .description(description)
                    .vpc_id(vpc_id)
                    .tag_specifications(tag_spec(ResourceType::SecurityGroup, tags))
                    .send()
            })
            .await;
        let id = match res {
            Ok(out) => out.group_id().unwrap_or_default().to_string(),
            Err(e) if e.code == "InvalidGroup.Duplicate" => {
                let out = ec2
                    .call("DescribeSecurityGroups", false, || {
                        c.describe_security_groups()
                            .filters(filter("group-name", [group_name]))
                            .filters(filter("vpc-id", [vpc_id]))
                            .filters(filter(
                                &format!("tag:{}", model::STACK_TAG),
                                [self.stack.as_str()],
                            ))
                            .send()
                    })
                    .await?;
                match out.security_groups().first().and_then(|g| g.group_id()) {
                    Some(id) => id.to_string(),
                    None => {
                        return Err(Ec2Error {
                            message: format!(
                                "a security group named {group_name} exists in {vpc_id} and is not owned by stack {}",
                                self.stack
                            ),
                            ..e
                        });
                    }
                }
            }
            Err(e) => return Err(e),
        };
        self.record(&step.resource, &id);
        Ok(format!("created security group {group_name} ({id})"))
    }

    /// Deletes a security group, waiting out the ENIs of just-terminated instances.
    pub(super) async fn delete_group(&self, group_id: &str) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        // ENIs of just-terminated instances keep a group in use for a
        // while: DependencyViolation is retried for a bounded time.
        let mut delay = Duration::from_secs(1);
        let start = Instant::now();
        loop {
            match ec2
                .call("DeleteSecurityGroup", true, || {
                    c.delete_security_group().group_id(group_id).send()
                })
                .await
            {
                Ok(_) => break,
                Err(e) if e.is_not_found() => break,
                Err(e)
                    if e.code == "DependencyViolation"
                        && start.elapsed() < Duration::from_secs(120) =>
                {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(15));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(format!("deleted security group {group_id}"))
    }

    pub(super) async fn set_rules(
        &self,
        group_id: &str,
        authorize_ingress: &[RuleRef],
        revoke_ingress: &[RuleRef],
        authorize_egress: &[RuleRef],
        revoke_egress: &[RuleRef],
    ) -> Result<(), Ec2Error> {
        let c = &self.ec2.client;
        // Revoke first: an egress allow-all replaced by narrower rules must
        // not be authorized twice, and nothing is ever opened wider in between
        // than either the old or the new set.
        self.rule_call("RevokeSecurityGroupIngress", revoke_ingress, |p| {
            c.revoke_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(p))
                .send()
        })
        .await?;
        self.rule_call("RevokeSecurityGroupEgress", revoke_egress, |p| {
            c.revoke_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(p))
                .send()
        })
        .await?;
        self.rule_call("AuthorizeSecurityGroupIngress", authorize_ingress, |p| {
            c.authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(p))
                .send()
        })
        .await?;
        self.rule_call("AuthorizeSecurityGroupEgress", authorize_egress, |p| {
            c.authorize_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(p))
                .send()
        })
        .await
    }

    /// One authorize or revoke call for `rules` (none when empty). A rule
    /// already there (or already gone) is what an interrupted run leaves: fine.
    pub(super) async fn rule_call<T, E, R, F, Fut>(
        &self,
        action: &'static str,
        rules: &[RuleRef],
        send: F,
    ) -> Result<(), Ec2Error>
    where
        F: Fn(Vec<IpPermission>) -> Fut,
        Fut: std::future::Future<Output = Result<T, aws_sdk_ec2::error::SdkError<E, R>>>,
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        if rules.is_empty() {
            return Ok(());
        }
        let perms: Vec<IpPermission> = rules
            .iter()
            .map(|r| self.permission(r))
            .collect::<Result<_, _>>()?;
        match self.ec2.call(action, true, || send(perms.clone())).await {
            Err(e)
                if e.code != "InvalidPermission.NotFound"
                    && e.code != "InvalidPermission.Duplicate" =>
            {
                Err(e)
            }
            _ => Ok(()),
        }
    }

    pub(super) fn permission(&self, r: &RuleRef) -> Result<IpPermission, Ec2Error> {
        let rule = &r.rule;
        let mut p = IpPermission::builder().ip_protocol(rule.protocol.ec2_name());
        if rule.protocol != model::Protocol::All {
            p = p.from_port(rule.from_port).to_port(rule.to_port);
        }
        // None: no description (an update without one removes it).
        let d = r.description.clone();
        p = match (&r.group, &rule.peer) {
            (Some(g), _) => p.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(self.resolve(g)?)
                    .set_description(d)
                    .build(),
            ),
            (None, Peer::Cidr4(c)) => {
                p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d).build())
            }
            (None, Peer::Cidr6(c)) => {
                p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d).build())
            }
            (None, Peer::Group(g) | Peer::GroupId(g)) => p.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(g)
                    .set_description(d)
                    .build(),
            ),
            (None, Peer::PrefixList(l)) => p.prefix_list_ids(
                aws_sdk_ec2::types::PrefixListId::builder()
                    .prefix_list_id(l)
                    .set_description(d)
                    .build(),
            ),
        };
        Ok(p.build())
    }
}
