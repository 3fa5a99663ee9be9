//! Load balancers and target groups (Elastic Load Balancing v2): both sides,
//! desired and live.
//!
//! A target group's members are the servers of the `instances:` entries
//! that name it; a load balancer forwards its listeners to target groups of
//! the same stack.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Location, SubnetRef};

/// `target_groups.<name>`: where a load balancer sends requests, and how it
/// tells a healthy server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroupSpec {
    /// The port the servers listen on.
    pub port: u16,
    /// `HTTP` or `HTTPS` (to the servers).
    pub protocol: ElbProtocol,
    /// VPC id, or `None` for the region's default VPC.
    pub vpc: Option<String>,
    /// The health check.
    pub health_check: HealthCheck,
    /// How long a deregistered server keeps its open connections, in
    /// seconds (ELB's `deregistration_delay.timeout_seconds`).
    pub deregistration_delay: u32,
    /// Where it was declared.
    pub at: Location,
}

/// A target group's health check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The path requested (`/healthz`).
    pub path: String,
    /// The HTTP codes that mean healthy (`200`, `200-399`, `200,204`).
    pub matcher: String,
    /// Seconds between checks.
    pub interval: u32,
    /// Seconds a check may take.
    pub timeout: u32,
    /// Successes in a row before a server is healthy.
    pub healthy_threshold: u32,
    /// Failures in a row before a server is unhealthy.
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            path: "/".into(),
            matcher: "200".into(),
            interval: 30,
            timeout: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
        }
    }
}

impl HealthCheck {
    /// As the plan shows it, one setting per line.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!("path={}", self.path),
            format!("matcher={}", self.matcher),
            format!("interval={}s", self.interval),
            format!("timeout={}s", self.timeout),
            format!("healthy_threshold={}", self.healthy_threshold),
            format!("unhealthy_threshold={}", self.unhealthy_threshold),
        ]
    }
}

/// A listener's or a target group's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ElbProtocol {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl ElbProtocol {
    /// As ELB and the YAML write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ElbProtocol::Http => "HTTP",
            ElbProtocol::Https => "HTTPS",
        }
    }

    /// Parses ELB's value.
    pub fn parse(s: &str) -> Option<ElbProtocol> {
        match s {
            "HTTP" => Some(ElbProtocol::Http),
            "HTTPS" => Some(ElbProtocol::Https),
            _ => None,
        }
    }
}

/// `internet-facing` or `internal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Reachable from the internet.
    InternetFacing,
    /// Reachable only inside the VPC.
    Internal,
}

impl Scheme {
    /// As ELB and the YAML write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::InternetFacing => "internet-facing",
            Scheme::Internal => "internal",
        }
    }

    /// Parses ELB's value.
    pub fn parse(s: &str) -> Option<Scheme> {
        match s {
            "internet-facing" => Some(Scheme::InternetFacing),
            "internal" => Some(Scheme::Internal),
            _ => None,
        }
    }
}

/// `load_balancers.<name>`: an Application Load Balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerSpec {
    /// Internet-facing or internal (replace-only in ELB).
    pub scheme: Scheme,
    /// Its subnets, one per availability zone (at least two zones).
    pub subnets: Vec<SubnetRef>,
    /// Security groups of the stack, by logical name.
    pub security_groups: Vec<String>,
    /// Its listeners, by port.
    pub listeners: BTreeMap<u16, ListenerSpec>,
    /// Where it was declared.
    pub at: Location,
}

/// One listener of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListenerSpec {
    /// `HTTP` or `HTTPS`.
    pub protocol: ElbProtocol,
    /// The certificate's ARN (HTTPS only).
    pub certificate: Option<String>,
    /// What it does with a request.
    pub action: ListenerAction,
}

/// A listener's default action.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerAction {
    /// Forward to a target group of the stack (by logical name; live: by
    /// the name the stack gave it, or its ARN when it is not the stack's).
    Forward(String),
    /// Redirect to HTTPS on this port, permanently (301).
    RedirectHttps(u16),
}

impl fmt::Display for ListenerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.protocol.as_str())?;
        match &self.action {
            ListenerAction::Forward(tg) => write!(f, " → target group {tg}")?,
            ListenerAction::RedirectHttps(port) => write!(f, " → redirect to https:{port}")?,
        }
        if let Some(cert) = &self.certificate {
            write!(f, " (certificate {cert})")?;
        }
        Ok(())
    }
}

/// A target group the stack owns, as ELB holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveTargetGroup {
    /// Logical name (from the name tag).
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its name in ELB.
    pub group_name: String,
    /// Port.
    pub port: u16,
    /// Protocol.
    pub protocol: Option<ElbProtocol>,
    /// VPC id.
    pub vpc_id: String,
    /// The health check.
    pub health_check: HealthCheck,
    /// `deregistration_delay.timeout_seconds`.
    pub deregistration_delay: u32,
    /// Registered targets (instance ids) and their state (`healthy`,
    /// `initial`, `draining`, …).
    pub targets: BTreeMap<String, String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// A load balancer the stack owns, as ELB holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveLoadBalancer {
    /// Logical name (from the name tag).
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its name in ELB.
    pub balancer_name: String,
    /// Its DNS name: where the site's DNS points.
    pub dns_name: String,
    /// `application`, `network`, … (only `application` is planned).
    pub balancer_type: String,
    /// Internet-facing or internal.
    pub scheme: Option<Scheme>,
    /// Its VPC.
    pub vpc_id: String,
    /// Subnet ids, sorted.
    pub subnets: Vec<String>,
    /// Security group ids, sorted.
    pub security_group_ids: Vec<String>,
    /// Its listeners by port (`ListenerAction::Forward` names the target
    /// group's ARN).
    pub listeners: BTreeMap<u16, LiveListener>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// A listener as ELB holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveListener {
    /// Its ARN.
    pub arn: String,
    /// What it does, when ec2-gitops can say it (`None`: a listener the
    /// format cannot write, left as it is unless the YAML names its port).
    pub spec: Option<ListenerSpec>,
}
