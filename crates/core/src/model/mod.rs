//! The two sides of a plan: the desired stack (from YAML, defaults merged and
//! `count` expanded) and the live stack (what EC2 returns for the stack's tag).
//!
//! Pure data: no I/O. `config` builds [`Desired`], `ec2::read` builds [`Live`],
//! `plan` compares them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

mod balancers;
mod desired;
mod live;

pub use balancers::*;
pub use desired::*;
pub use live::*;

/// Tag key naming the stack that owns a resource.
pub const STACK_TAG: &str = "ec2-gitops:stack";
/// Tag key naming a resource inside its stack, as `<kind>/<name>`.
pub const NAME_TAG: &str = "ec2-gitops:name";
/// Tag key holding the SHA-256 of an instance's user data (EC2 does not return
/// user data in `DescribeInstances`, and one call per instance is not allowed).
pub const USER_DATA_TAG: &str = "ec2-gitops:user-data-sha256";
/// Tag key recording `protect: true` (termination protection is not returned by
/// `DescribeInstances` either).
pub const PROTECT_TAG: &str = "ec2-gitops:protect";
/// `delete` on a data volume written with `on_destroy: delete`: kept as a
/// tag so the choice holds once the volume is removed from the YAML (no tag:
/// a snapshot is taken before it is deleted).
pub const ON_DESTROY_TAG: &str = "ec2-gitops:on-destroy";
/// The day (`YYYY-MM-DD`, UTC) a snapshot of a deleted volume was taken.
pub const DATE_TAG: &str = "ec2-gitops:date";
/// Tag key naming the batch an instance (and its root volume) was launched
/// in, with others, by one `RunInstances`: set at the launch, before the
/// instance has its name, so that a run stopped in between is finished by
/// the next one (each instance is named from its batch and launch index).
pub const LAUNCH_TAG: &str = "ec2-gitops:launch";
/// Tag key listing the keys of the stack's `tags:` that a resource got from
/// it (comma-separated, sorted), so that a key removed from `tags:` is
/// removed from the resource, and tags the stack never set are never touched.
pub const TAGS_TAG: &str = "ec2-gitops:tags";

/// The tags a resource that is not an instance gets from the stack's
/// `tags:`: each of them, and [`TAGS_TAG`] naming their keys (none for no
/// tags).
pub fn stack_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = tags.clone();
    if !tags.is_empty() {
        let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
        out.insert(TAGS_TAG.to_string(), keys.join(","));
    }
    out
}

/// The keys [`TAGS_TAG`] says a live resource got from its stack's `tags:`.
pub fn stack_tag_keys(live: &BTreeMap<String, String>) -> Vec<String> {
    live.get(TAGS_TAG)
        .map(|v| {
            v.split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Tag key on every resource of a preview stack (`<stack>-pr<N>`): the pull
/// request's number. Set at creation; no stack's YAML can set it (every
/// `ec2-gitops:` tag is the tool's), and the preview role may change only
/// what carries it.
pub const PREVIEW_TAG: &str = "ec2-gitops:preview";

/// The tags of the snapshot taken of the volume `volume` of `stack` before
/// it is deleted (the date is added when it is taken).
pub fn snapshot_tags(stack: &str, volume: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (STACK_TAG.to_string(), stack.to_string()),
        (NAME_TAG.to_string(), format!("snapshot/{volume}")),
        ("Name".to_string(), format!("{stack}-{volume}")),
    ])
}

/// The civil date (`YYYY-MM-DD`, UTC) of a Unix time in seconds.
pub fn utc_date(unix_secs: u64) -> String {
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = (unix_secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The kinds of resource a stack owns, in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An EC2 key pair (imported public key).
    KeyPair,
    /// A security group with its rules.
    SecurityGroup,
    /// An EC2 instance.
    Instance,
    /// An EBS data volume attached to an instance.
    Volume,
    /// An elastic IP address.
    ElasticIp,
    /// An ELB target group: where a load balancer sends requests.
    TargetGroup,
    /// An Application Load Balancer with its listeners.
    LoadBalancer,
}

impl Kind {
    /// The name used in tags, plans and messages (`security_group`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::KeyPair => "key_pair",
            Kind::SecurityGroup => "security_group",
            Kind::Instance => "instance",
            Kind::Volume => "volume",
            Kind::ElasticIp => "elastic_ip",
            Kind::TargetGroup => "target_group",
            Kind::LoadBalancer => "load_balancer",
        }
    }

    /// Parses the kind part of a `ec2-gitops:name` tag.
    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::KeyPair,
            Kind::SecurityGroup,
            Kind::Instance,
            Kind::Volume,
            Kind::ElasticIp,
            Kind::TargetGroup,
            Kind::LoadBalancer,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource's identity inside its stack: kind plus logical name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceId {
    /// What kind of resource.
    pub kind: Kind,
    /// Its logical name (`web-1`, `web-1/data`).
    pub name: String,
}

impl ResourceId {
    /// Builds an id.
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }

    /// The value of the `ec2-gitops:name` tag (`instance/web-1`).
    pub fn tag_value(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// Parses a `ec2-gitops:name` tag value.
    pub fn from_tag_value(v: &str) -> Option<Self> {
        let (kind, name) = v.split_once('/')?;
        Some(Self::new(Kind::parse(kind)?, name))
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

/// Where something was written in a YAML file, for messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Location {
    /// The file, as given on the command line.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The tags every resource of `desired`'s stack carries: the stack's
/// `tags:`, its identity, and a preview's tag.
pub fn owner_tags(desired: &Desired, id: &ResourceId) -> BTreeMap<String, String> {
    let mut tags = stack_tags(&desired.tags);
    tags.extend(identity_tags(&desired.stack, id));
    if let Some(pr) = desired.preview_of {
        tags.insert(PREVIEW_TAG.to_string(), pr.to_string());
    }
    tags
}

/// The tags every resource of a stack carries.
pub fn identity_tags(stack: &str, id: &ResourceId) -> BTreeMap<String, String> {
    BTreeMap::from([
        (STACK_TAG.to_string(), stack.to_string()),
        (NAME_TAG.to_string(), id.tag_value()),
        ("Name".to_string(), format!("{stack}-{}", id.name)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_796_083_199), "2026-11-30");
        assert_eq!(utc_date(1_796_083_200), "2026-12-01");
        assert_eq!(utc_date(4_107_542_400), "2100-03-01");
    }

    #[test]
    fn tag_value_round_trips() {
        let id = ResourceId::new(Kind::Volume, "web-1/data");
        assert_eq!(id.tag_value(), "volume/web-1/data");
        assert_eq!(ResourceId::from_tag_value("volume/web-1/data"), Some(id));
        assert_eq!(ResourceId::from_tag_value("bucket/x"), None);
    }

    #[test]
    fn rule_display_reads_like_yaml() {
        let r = Rule {
            protocol: Protocol::Tcp,
            from_port: 8000,
            to_port: 8080,
            peer: Peer::Cidr4("10.0.0.0/8".into()),
        };
        assert_eq!(r.to_string(), "tcp 8000-8080 10.0.0.0/8");
    }
}
