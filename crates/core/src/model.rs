//! The two sides of a plan: the desired stack (from YAML, defaults merged and
//! `count` expanded) and the live stack (what EC2 returns for the stack's tag).
//!
//! Pure data: no I/O. `config` builds [`Desired`], `ec2::read` builds [`Live`],
//! `plan` compares them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

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

// ---------------------------------------------------------------- desired ---

/// A validated stack, ready to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Stack name: the value of the `ec2-gitops:stack` tag.
    pub stack: String,
    /// AWS region.
    pub region: String,
    /// The file it came from.
    pub file: String,
    /// Other files it is built from (`user_data_file`s), as paths joined to
    /// the stack file's directory: a change to one changes the stack.
    pub sources: Vec<String>,
    /// Key pairs by logical name.
    pub key_pairs: BTreeMap<String, KeyPairSpec>,
    /// Security groups by logical name.
    pub security_groups: BTreeMap<String, GroupSpec>,
    /// Instances by expanded name (`web-1`).
    pub instances: BTreeMap<String, InstanceSpec>,
    /// Data volumes by `<instance>/<volume>`.
    pub volumes: BTreeMap<String, VolumeSpec>,
    /// Elastic IPs by logical name.
    pub elastic_ips: BTreeMap<String, AddressSpec>,
    /// `environment`: the GitHub environment it is deployed to (`None`: the
    /// stack's name).
    pub environment: Option<String>,
    /// `after`: stacks it is applied after, each with where it is written.
    pub after: Vec<(String, Location)>,
    /// `preview`: pull requests may get a copy of the stack (`/preview`).
    pub preview: Option<Preview>,
    /// The pull request this stack is the preview of (`<stack>-pr<N>`): its
    /// resources carry `ec2-gitops:preview=<N>` from creation. `None` for a
    /// stack of the repository.
    pub preview_of: Option<u64>,
}

/// `preview:` on a stack: what a pull request's preview may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preview {
    /// The most instances a preview may have.
    pub max_instances: usize,
    /// How long a preview lives (the scheduled run destroys it after).
    pub ttl_secs: u64,
}

impl Desired {
    /// The GitHub environment the stack is deployed to.
    pub fn environment(&self) -> &str {
        self.environment.as_deref().unwrap_or(&self.stack)
    }
}

/// A key pair to import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyPairSpec {
    /// `renamed_from`: the name it had before.
    pub renamed_from: Option<String>,
    /// The OpenSSH public key line.
    pub public_key: String,
    /// Where it was declared.
    pub at: Location,
}

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupSpec {
    /// `renamed_from`: the name it had before.
    pub renamed_from: Option<String>,
    /// Group description (replace-only in EC2).
    pub description: String,
    /// VPC id, or `None` for the region's default VPC.
    pub vpc: Option<String>,
    /// Inbound rules, one entry per source.
    pub ingress: Vec<Rule>,
    /// Outbound rules; `None` keeps EC2's default allow-all.
    pub egress: Option<Vec<Rule>>,
    /// Where it was declared.
    pub at: Location,
}

/// One security-group permission with exactly one source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rule {
    /// `tcp`, `udp`, `icmp`, `icmpv6` or `all`.
    pub protocol: Protocol,
    /// First port (ICMP: type; -1 for all).
    pub from_port: i32,
    /// Last port (ICMP: code; -1 for all).
    pub to_port: i32,
    /// Where traffic comes from (ingress) or goes to (egress).
    pub peer: Peer,
}

/// A rule's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (IPv4).
    Icmp,
    /// ICMPv6.
    Icmpv6,
    /// Every protocol (`-1` in EC2).
    All,
}

impl Protocol {
    /// The `IpProtocol` value EC2 uses.
    pub fn ec2_name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Icmpv6 => "icmpv6",
            Protocol::All => "-1",
        }
    }

    /// Parses EC2's `IpProtocol` (names or numbers).
    pub fn from_ec2(s: &str) -> Option<Protocol> {
        Some(match s {
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            "icmp" | "1" => Protocol::Icmp,
            "icmpv6" | "58" => Protocol::Icmpv6,
            "-1" | "all" => Protocol::All,
            _ => return None,
        })
    }
}

/// The other end of a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// An IPv4 CIDR, normalised (`10.0.0.0/8`).
    Cidr4(String),
    /// An IPv6 CIDR, normalised.
    Cidr6(String),
    /// Another security group of this stack, by logical name.
    Group(String),
    /// A security group outside the stack, by id (only ever seen live).
    GroupId(String),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ports = match (self.protocol, self.from_port, self.to_port) {
            (Protocol::All, _, _) => "all".to_string(),
            (_, -1, _) => "all".to_string(),
            (_, a, b) if a == b => a.to_string(),
            (_, a, b) => format!("{a}-{b}"),
        };
        let peer = match &self.peer {
            Peer::Cidr4(c) | Peer::Cidr6(c) => c.clone(),
            Peer::Group(g) => format!("group {g}"),
            Peer::GroupId(g) => format!("group {g}"),
        };
        match self.protocol {
            Protocol::All => write!(f, "all traffic {peer}"),
            p => write!(f, "{} {ports} {peer}", p.ec2_name()),
        }
    }
}

/// An instance after defaults and `count` are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceSpec {
    /// AMI id.
    pub image: String,
    /// Instance type (`t3.micro`).
    pub instance_type: String,
    /// Subnet id, or `None` for a default subnet.
    pub subnet: Option<String>,
    /// Security groups of the stack, by logical name.
    pub security_groups: Vec<String>,
    /// Key pair of the stack, by logical name.
    pub key_pair: Option<String>,
    /// User data text (from `user_data` or `user_data_file`).
    pub user_data: Option<String>,
    /// Root volume settings; `None` keeps the AMI's.
    pub root_volume: Option<RootVolume>,
    /// User tags (the tool's own tags are added on top).
    pub tags: BTreeMap<String, String>,
    /// `protect: true`: never destroyed or replaced; termination protection on.
    pub protect: bool,
    /// The expanded name it had before (from the entry's `renamed_from`).
    pub renamed_from: Option<String>,
    /// The `instances:` entry it comes from (`web` for `web-1` … `web-3` of
    /// `count: 3`), and how many instances that entry makes. Not part of the
    /// configuration: client tokens ignore it.
    #[serde(skip)]
    pub entry: Entry,
    /// Where it was declared.
    pub at: Location,
}

/// An entry of `instances:`, which `count` expands to one or more instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// Its name, as written.
    pub name: String,
    /// How many instances it makes.
    pub count: u32,
    /// How its restarts and replacements go.
    pub rollout: Rollout,
}

/// How the restarts and replacements of an entry's instances go: in batches
/// of `max_unavailable`, each healthy within `timeout_secs` before the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// Instances changed at once.
    pub max_unavailable: Unavailable,
    /// When an instance is healthy.
    pub health: Health,
    /// How long a batch may take to become healthy, in seconds.
    pub timeout_secs: u64,
}

impl Default for Rollout {
    fn default() -> Self {
        Rollout {
            max_unavailable: Unavailable::Count(1),
            health: Health::StatusChecks,
            timeout_secs: 600,
        }
    }
}

impl Rollout {
    /// The batch size for an entry of `count` instances: at least 1.
    pub fn batch_size(&self, count: u32) -> usize {
        let n = match self.max_unavailable {
            Unavailable::Count(n) => n,
            Unavailable::Percent(p) => count.max(1) * p / 100,
        };
        n.max(1) as usize
    }
}

/// `max_unavailable`: a number of instances or a percentage of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// This many.
    Count(u32),
    /// This percentage of `count` (rounded down, at least 1).
    Percent(u32),
}

/// A rollout's health gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// EC2's instance and system status checks are both `ok`.
    StatusChecks,
    /// The instance's state is `running`.
    Running,
}

impl Health {
    /// As written in the YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::StatusChecks => "status-checks",
            Health::Running => "running",
        }
    }
}

/// What happens to a data volume's data when the volume is deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDestroy {
    /// A snapshot is taken (and waited for) first.
    #[default]
    Snapshot,
    /// The data is deleted.
    Delete,
}

/// Root volume settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RootVolume {
    /// Size in GiB.
    pub size_gb: i32,
    /// EBS type (`gp3`).
    pub volume_type: String,
}

/// A data volume, attached to one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeSpec {
    /// The instance's expanded name.
    pub instance: String,
    /// Device name (`/dev/sdf`).
    pub device: String,
    /// Size in GiB.
    pub size_gb: i32,
    /// EBS type.
    pub volume_type: String,
    /// Inherited from the instance.
    pub protect: bool,
    /// What happens to its data when it is deleted.
    pub on_destroy: OnDestroy,
    /// The volume name (without the instance) it had before.
    pub renamed_from: Option<String>,
    /// Where it was declared.
    pub at: Location,
}

/// An elastic IP associated with an instance of the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressSpec {
    /// `renamed_from`: the name it had before.
    pub renamed_from: Option<String>,
    /// The instance's expanded name.
    pub instance: String,
    /// Where it was declared.
    pub at: Location,
}

// ------------------------------------------------------------------- live ---

/// What EC2 holds for one stack (tagged resources only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    /// Key pairs tagged for the stack.
    pub key_pairs: Vec<LiveKeyPair>,
    /// Security groups tagged for the stack.
    pub security_groups: Vec<LiveGroup>,
    /// Instances tagged for the stack, terminated ones excluded.
    pub instances: Vec<LiveInstance>,
    /// Volumes tagged for the stack (root volumes included).
    pub volumes: Vec<LiveVolume>,
    /// Elastic IPs tagged for the stack.
    pub addresses: Vec<LiveAddress>,
    /// Ids of terminated instances per logical name: they change the client
    /// token of a new instance of that name, so a re-creation is never answered
    /// with the terminated one.
    pub terminated: BTreeMap<String, Vec<String>>,
    /// Resources carrying the stack tag whose `ec2-gitops:name` tag is
    /// missing or malformed: not the stack's, never touched; the plan warns.
    #[serde(default)]
    pub unclaimed: Vec<Unclaimed>,
    /// Instances a batch launch made that were never named (the run stopped
    /// between the launch and the naming): the apply of that batch adopts
    /// them; nothing else touches them.
    #[serde(default)]
    pub launched: Vec<Launched>,
}

/// An instance of the stack's that a batch launch made and nobody named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launched {
    /// `i-…`.
    pub id: String,
    /// Its `ec2-gitops:launch` tag: the batch.
    pub launch: String,
    /// EC2's `AmiLaunchIndex`: its place in the batch, from 0.
    pub index: u32,
    /// `pending`, `running`, `stopped`, …
    pub state: String,
}

/// A live resource tagged for a stack that no name of the stack can own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unclaimed {
    /// What EC2 says it is.
    pub kind: Kind,
    /// Its EC2 id (`i-…`, `sg-…`, `vol-…`, `eipalloc-…`, `key-…`).
    pub id: String,
    /// What is wrong with its `ec2-gitops:name` tag.
    pub problem: NameTagProblem,
}

/// Why an `ec2-gitops:name` tag names nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameTagProblem {
    /// There is no such tag.
    Missing,
    /// The tag is empty.
    Empty,
    /// It is not `<kind>/<name>` with a known kind.
    NotKindAndName,
    /// It names another kind than the resource is (`volume/x` on an instance).
    OtherKind(Kind),
    /// The name breaks the name rules (lowercase letters, digits, `-`).
    InvalidName,
    /// It holds control, invisible or text-direction characters.
    ControlCharacters,
    /// It carries the tag of a preview this stack is not.
    OfAPreview,
}

/// A live key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveKeyPair {
    /// Logical name from the tag.
    pub name: String,
    /// EC2 key pair id.
    pub id: String,
    /// EC2 key name.
    pub key_name: String,
    /// Public key as EC2 returns it (may be absent).
    pub public_key: Option<String>,
    /// All tags.
    pub tags: BTreeMap<String, String>,
}

/// A live security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveGroup {
    /// Logical name from the tag.
    pub name: String,
    /// `sg-…`.
    pub id: String,
    /// EC2 group name.
    pub group_name: String,
    /// Description.
    pub description: String,
    /// VPC id.
    pub vpc_id: String,
    /// Inbound rules, one per source, references mapped to logical names.
    pub ingress: Vec<Rule>,
    /// Outbound rules, likewise.
    pub egress: Vec<Rule>,
    /// All tags.
    pub tags: BTreeMap<String, String>,
}

/// A live instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveInstance {
    /// Logical name from the tag.
    pub name: String,
    /// `i-…`.
    pub id: String,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`.
    pub state: String,
    /// AMI id.
    pub image: String,
    /// Instance type.
    pub instance_type: String,
    /// Subnet id.
    pub subnet: Option<String>,
    /// VPC id.
    pub vpc: Option<String>,
    /// Availability zone.
    pub availability_zone: Option<String>,
    /// EC2 key name.
    pub key_name: Option<String>,
    /// Security group ids.
    pub security_group_ids: Vec<String>,
    /// Root device name (`/dev/xvda`).
    pub root_device: Option<String>,
    /// Attached EBS volumes: device → volume id.
    pub block_devices: BTreeMap<String, String>,
    /// The ids of its volumes that EC2 keeps when it is terminated
    /// (`DeleteOnTermination` false).
    #[serde(default)]
    pub kept_volumes: BTreeSet<String>,
    /// Public IPv4 address.
    pub public_ip: Option<String>,
    /// Private IPv4 address.
    pub private_ip: Option<String>,
    /// Public DNS name, when it has one.
    pub public_dns: Option<String>,
    /// All tags.
    pub tags: BTreeMap<String, String>,
}

/// A live EBS volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveVolume {
    /// Logical name from the tag (`web-1/data`, `web-1/root`), if tagged.
    pub name: String,
    /// `vol-…`.
    pub id: String,
    /// Size in GiB.
    pub size_gb: i32,
    /// EBS type.
    pub volume_type: String,
    /// Availability zone.
    pub availability_zone: String,
    /// Attachment: instance id and device.
    pub attachment: Option<(String, String)>,
    /// Whether its attachment keeps it when the instance is terminated
    /// (EC2's `DeleteOnTermination` is false), so it outlives the instance.
    #[serde(default)]
    pub kept_on_termination: bool,
    /// All tags.
    pub tags: BTreeMap<String, String>,
}

/// A live elastic IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveAddress {
    /// Logical name from the tag.
    pub name: String,
    /// `eipalloc-…`.
    pub allocation_id: String,
    /// The address.
    pub public_ip: String,
    /// Associated instance id.
    pub instance_id: Option<String>,
    /// `eipassoc-…`.
    pub association_id: Option<String>,
    /// All tags.
    pub tags: BTreeMap<String, String>,
}

/// Facts about the region that the plan needs and that are not owned by any
/// stack: referenced images, subnets and VPCs (one batched call each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Known images: id → root device name.
    pub images: BTreeMap<String, String>,
    /// Known subnets: id → (vpc id, availability zone).
    pub subnets: BTreeMap<String, (String, String)>,
    /// Known VPC ids.
    pub vpcs: Vec<String>,
    /// The default VPC, if the region has one.
    pub default_vpc: Option<String>,
    /// Of the instance types the stack names, those the region offers
    /// (`None`: not checked).
    #[serde(default)]
    pub instance_types: Option<std::collections::BTreeSet<String>>,
    /// Elastic IP quota of the account in the region and how many are
    /// allocated (`None`: not checked).
    #[serde(default)]
    pub address_quota: Option<(usize, usize)>,
}

/// The tags every resource of `desired`'s stack carries: its identity, and
/// a preview's tag.
pub fn owner_tags(desired: &Desired, id: &ResourceId) -> BTreeMap<String, String> {
    let mut tags = identity_tags(&desired.stack, id);
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
