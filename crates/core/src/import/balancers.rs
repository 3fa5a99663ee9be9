//! Importing a load balancer, its listeners and the target groups they
//! forward to: written as the format says them, adopted by their tags, and
//! refused where the format cannot say them exactly (a plan after the
//! import must change nothing but tags).

use super::*;
use crate::model::{ListenerAction, LiveTargetGroup};

impl Import<'_> {
    /// Writes the `target_groups:` of an imported instance: the imported
    /// groups it is registered in.
    pub(super) fn instance_target_groups(&mut self, i: &LiveInstance) {
        let groups: Vec<String> = (self.found.target_groups.iter())
            .filter(|g| g.targets.get(&i.id).is_some_and(|s| s != "draining"))
            .map(|g| self.names.target_groups[&g.arn].clone())
            .collect();
        if !groups.is_empty() {
            let _ = writeln!(self.yaml, "    target_groups: [{}]", groups.join(", "));
        }
    }

    /// Writes and adopts the target groups.
    pub(super) fn target_groups(&mut self) -> Result<(), ImportError> {
        let found = self.found;
        if found.target_groups.is_empty() {
            return Ok(());
        }
        let _ = writeln!(self.yaml, "\ntarget_groups:");
        for g in &found.target_groups {
            self.target_group(g)?;
        }
        Ok(())
    }

    fn target_group(&mut self, g: &LiveTargetGroup) -> Result<(), ImportError> {
        let name = self.names.target_groups[&g.arn].clone();
        // Every server it holds is imported with it: the stack's servers
        // are its members.
        let strangers: Vec<&String> = (g.targets.iter())
            .filter(|(id, state)| *state != "draining" && !self.names.instances.contains_key(*id))
            .map(|(id, _)| id)
            .collect();
        if !strangers.is_empty() {
            let ids: Vec<&str> = strangers.iter().map(|s| s.as_str()).collect();
            return Err(ImportError(format!(
                "target group {} holds {}, which this import does not take: import them too (a `--filter` that matches them), or leave its load balancer out",
                g.group_name,
                ids.join(", ")
            )));
        }
        let Some(protocol) = g.protocol else {
            return Err(ImportError(format!(
                "target group {} is neither HTTP nor HTTPS; the format holds an Application Load Balancer's groups only",
                g.group_name
            )));
        };
        let h = &g.health_check;
        let _ = writeln!(
            self.yaml,
            "  {name}:\n    port: {}\n    protocol: {}",
            g.port,
            protocol.as_str()
        );
        if Some(&g.vpc_id) != self.found.default_vpc.as_ref() {
            let _ = writeln!(self.yaml, "    vpc: {}", g.vpc_id);
        }
        let _ = writeln!(
            self.yaml,
            "    health_check: {{ path: {}, matcher: {}, interval: {}, timeout: {}, healthy_threshold: {}, unhealthy_threshold: {} }}\n    deregistration_delay: {}",
            yaml_str(&h.path),
            yaml_str(&h.matcher),
            h.interval,
            h.timeout,
            h.healthy_threshold,
            h.unhealthy_threshold,
            g.deregistration_delay
        );
        let tags = self.adopt(Kind::TargetGroup, &name, &g.arn, &[]);
        let mut l = g.clone();
        l.name = name;
        l.tags.extend(tags);
        self.live.target_groups.push(l);
        Ok(())
    }

    /// Writes and adopts the load balancers; a listener the format cannot
    /// say is an error.
    pub(super) fn load_balancers(&mut self) -> Result<(), ImportError> {
        let found = self.found;
        if found.load_balancers.is_empty() {
            return Ok(());
        }
        let _ = writeln!(self.yaml, "\nload_balancers:");
        for b in &found.load_balancers {
            let name = self.names.load_balancers[&b.arn].clone();
            let (Some(scheme), "application") = (b.scheme, b.balancer_type.as_str()) else {
                return Err(ImportError(format!(
                    "load balancer {} is not an Application Load Balancer; the format holds only those",
                    b.balancer_name
                )));
            };
            let groups: Vec<String> = b
                .security_group_ids
                .iter()
                .map(|g| {
                    self.names.groups.get(g).cloned().ok_or_else(|| {
                        ImportError(format!(
                            "load balancer {} is in group {g}, which was not found",
                            b.balancer_name
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            let _ = writeln!(
                self.yaml,
                "  {name}:\n    scheme: {}\n    subnets: [{}]\n    security_groups: [{}]\n    listeners:",
                scheme.as_str(),
                b.subnets.join(", "),
                groups.join(", ")
            );
            let mut live = b.clone();
            for (port, l) in &b.listeners {
                let Some(spec) = &l.spec else {
                    return Err(ImportError(format!(
                        "the listener on port {port} of load balancer {} does more than forward to one group or redirect to HTTPS: the format cannot say it",
                        b.balancer_name
                    )));
                };
                let action = match &spec.action {
                    ListenerAction::Forward(arn) => {
                        let tg = self.names.target_groups.get(arn).cloned().ok_or_else(|| {
                            ImportError(format!(
                                "the listener on port {port} of {} forwards to {arn}, which was not read",
                                b.balancer_name
                            ))
                        })?;
                        if let Some(m) = live.listeners.get_mut(port).and_then(|l| l.spec.as_mut())
                        {
                            m.action = ListenerAction::Forward(tg.clone());
                        }
                        format!("forward: {tg}")
                    }
                    ListenerAction::RedirectHttps(443) => "redirect: https".to_string(),
                    ListenerAction::RedirectHttps(other) => {
                        return Err(ImportError(format!(
                            "the listener on port {port} of {} redirects to HTTPS on port {other}; the format redirects to 443 only",
                            b.balancer_name
                        )));
                    }
                };
                let certificate = spec
                    .certificate
                    .as_ref()
                    .map(|c| format!(", certificate: {}", yaml_str(c)))
                    .unwrap_or_default();
                let _ = writeln!(
                    self.yaml,
                    "      - {{ port: {port}, protocol: {}{certificate}, {action} }}",
                    spec.protocol.as_str()
                );
            }
            let tags = self.adopt(Kind::LoadBalancer, &name, &b.arn, &[]);
            live.name = name;
            live.tags.extend(tags);
            self.live.load_balancers.push(live);
        }
        Ok(())
    }
}

/// `import --load-balancer`: which load balancer an import takes, with its
/// listeners and the target groups they forward to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalancerRef {
    /// By ARN (`arn:aws:elasticloadbalancing:…:loadbalancer/app/…`).
    Arn(String),
    /// By name.
    Name(String),
    /// Every load balancer carrying this tag (`tag:KEY=VALUE`).
    Tag {
        /// The tag key.
        key: String,
        /// Its value.
        value: String,
    },
}

impl BalancerRef {
    /// Parses one `--load-balancer` argument.
    pub fn parse(arg: &str) -> Result<BalancerRef, ImportError> {
        let bad = || {
            ImportError(format!(
                "--load-balancer {arg:?}: write an ARN (arn:aws:elasticloadbalancing:…:loadbalancer/app/…), a name, or tag:KEY=VALUE"
            ))
        };
        if let Some(tag) = arg.strip_prefix("tag:") {
            let (key, value) = tag.split_once('=').ok_or_else(bad)?;
            if key.is_empty()
                || !crate::config::is_single_line(key)
                || !crate::config::is_single_line(value)
            {
                return Err(bad());
            }
            return Ok(BalancerRef::Tag {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        if arg.starts_with("arn:") {
            let ok = arg.contains(":elasticloadbalancing:")
                && arg.contains(":loadbalancer/app/")
                && arg.bytes().all(|b| b.is_ascii_graphic());
            return if ok {
                Ok(BalancerRef::Arn(arg.to_string()))
            } else {
                Err(bad())
            };
        }
        // ELB names: 1 to 32 letters, digits and hyphens.
        let ok = (1..=32).contains(&arg.len())
            && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !arg.starts_with('-')
            && !arg.ends_with('-');
        if ok {
            Ok(BalancerRef::Name(arg.to_string()))
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BalancerRef;

    #[test]
    fn a_load_balancer_is_named_by_arn_name_or_tag() {
        let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/front/50dc6c495c0c9188";
        assert_eq!(BalancerRef::parse(arn), Ok(BalancerRef::Arn(arn.into())));
        assert_eq!(
            BalancerRef::parse("front"),
            Ok(BalancerRef::Name("front".into()))
        );
        assert_eq!(
            BalancerRef::parse("tag:site=www"),
            Ok(BalancerRef::Tag {
                key: "site".into(),
                value: "www".into()
            })
        );
        for bad in [
            "",
            "-front",
            "front door",
            &"x".repeat(33),
            "tag:site",
            "tag:=www",
            "tag:site=a\nb",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
        ] {
            assert!(BalancerRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}
