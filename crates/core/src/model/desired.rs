//! The desired side: a validated stack, defaults merged and `count`
//! expanded, as `config` builds it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Location;
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
    /// Target groups by logical name.
    pub target_groups: BTreeMap<String, super::TargetGroupSpec>,
    /// Load balancers by logical name.
    pub load_balancers: BTreeMap<String, super::LoadBalancerSpec>,
    /// `tags:` of the stack: on every resource it makes (an instance's own
    /// tags win over them).
    pub tags: BTreeMap<String, String>,
    /// `account`: the AWS account it lives in, by name, with where it is
    /// written (`None`: the job's own credentials).
    pub account: Option<(String, Location)>,
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
    /// The rules' `description`s.
    pub descriptions: RuleDescriptions,
    /// Where it was declared.
    pub at: Location,
}

/// The descriptions of a group's rules, by direction and rule (a rule
/// without one is not in them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDescriptions {
    /// Of inbound rules.
    pub ingress: BTreeMap<Rule, String>,
    /// Of outbound rules.
    pub egress: BTreeMap<Rule, String>,
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
    /// A security group outside the stack, by id (`group: sg-…`, never
    /// changed by the stack), or one of the stack's as EC2 names it.
    GroupId(String),
    /// A managed prefix list, by id (`prefix_list: pl-…`).
    PrefixList(String),
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
            Peer::PrefixList(p) => format!("prefix list {p}"),
        };
        match self.protocol {
            Protocol::All => write!(f, "all traffic {peer}"),
            p => write!(f, "{} {ports} {peer}", p.ec2_name()),
        }
    }
}

/// An image named by reference instead of by id, resolved at plan time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageRef {
    /// An SSM parameter holding an AMI id (`/aws/service/…`).
    Ssm(String),
    /// The newest image whose name matches `pattern` (`*` and `?`), owned by
    /// `owner` (`self`, `amazon`, an account id).
    Name {
        /// The name pattern.
        pattern: String,
        /// Who owns it.
        owner: String,
    },
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Ssm(p) => write!(f, "ssm {p}"),
            ImageRef::Name { pattern, owner } => write!(f, "newest {pattern} of {owner}"),
        }
    }
}

/// An instance after defaults and `count` are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceSpec {
    /// AMI id (for an image by reference: the id it resolved to, once the
    /// plan has resolved it; empty before).
    pub image: String,
    /// The reference the image is named by, when it is.
    pub image_ref: Option<ImageRef>,
    /// Instance type (`t3.micro`).
    pub instance_type: String,
    /// Subnet id, or `None` for a default subnet (or the zone's).
    pub subnet: Option<String>,
    /// The availability zone whose default subnet it is in (`subnets:`
    /// naming `{ zone: … }`); `None` when `subnet` says where, or nothing.
    pub zone: Option<String>,
    /// Security groups of the stack, by logical name.
    pub security_groups: Vec<String>,
    /// Key pair of the stack, by logical name.
    pub key_pair: Option<String>,
    /// User data text (from `user_data` or `user_data_file`).
    pub user_data: Option<String>,
    /// Root volume settings; `None` keeps the AMI's.
    pub root_volume: Option<RootVolume>,
    /// IAM instance profile, by name.
    pub instance_profile: Option<String>,
    /// Instance metadata service options.
    pub metadata: Metadata,
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
    /// `subnets:`, which its members are spread over by index (empty: the
    /// entry has one `subnet`, or none).
    pub subnets: Vec<SubnetRef>,
    /// `target_groups:`, the stack's target groups its members serve in.
    pub target_groups: Vec<String>,
}

/// One place of an entry's `subnets:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubnetRef {
    /// A subnet, by id.
    Id(String),
    /// The default subnet of an availability zone.
    Zone(String),
}

impl SubnetRef {
    /// As the plan shows it: the id, or `zone us-east-1a`.
    pub fn label(&self) -> String {
        match self {
            SubnetRef::Id(id) => id.clone(),
            SubnetRef::Zone(z) => format!("zone {z}"),
        }
    }

    /// The place of the member at 1-based `index` of an entry spread over
    /// `subnets` (round-robin: index 1 → the first).
    pub fn of_member(subnets: &[SubnetRef], index: u32) -> Option<&SubnetRef> {
        if subnets.is_empty() {
            return None;
        }
        subnets.get((index.max(1) as usize - 1) % subnets.len())
    }
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
    /// The instance is `healthy` in every target group of its entry (the
    /// load balancer's own health check).
    TargetGroup,
}

impl Health {
    /// As written in the YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::StatusChecks => "status-checks",
            Health::Running => "running",
            Health::TargetGroup => "target-group",
        }
    }
}

/// `metadata:` of an instance: how its instance metadata service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Metadata {
    /// Whether a request needs a session token (IMDSv2).
    pub tokens: Tokens,
    /// How many network hops the token's answer may travel (`None`: left as
    /// EC2 sets it).
    pub hop_limit: Option<u8>,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            tokens: Tokens::Required,
            hop_limit: None,
        }
    }
}

/// EC2's `HttpTokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tokens {
    /// IMDSv2 only: every request needs a session token.
    Required,
    /// IMDSv1 allowed too.
    Optional,
}

impl Tokens {
    /// As written in the YAML and in EC2.
    pub fn as_str(self) -> &'static str {
        match self {
            Tokens::Required => "required",
            Tokens::Optional => "optional",
        }
    }

    /// Parses EC2's value.
    pub fn parse(s: &str) -> Option<Tokens> {
        match s {
            "required" => Some(Tokens::Required),
            "optional" => Some(Tokens::Optional),
            _ => None,
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
    /// Encryption and performance.
    pub disk: Disk,
}

/// What a volume (root or data) says of its encryption and performance;
/// `None` leaves it to EC2 (the account's default encryption, the type's
/// baseline IOPS and throughput) and is not compared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Disk {
    /// `encrypted`.
    pub encrypted: Option<bool>,
    /// `kms_key`: a key id, alias or ARN (implies encrypted).
    pub kms_key: Option<String>,
    /// `iops` (gp3, io1, io2).
    pub iops: Option<i32>,
    /// `throughput` in MiB/s (gp3).
    pub throughput: Option<i32>,
}

impl Disk {
    /// Whether the volume is to be encrypted, if the YAML says.
    pub fn wants_encryption(&self) -> Option<bool> {
        if self.kms_key.is_some() {
            Some(true)
        } else {
            self.encrypted
        }
    }
}

/// What EC2 says of a volume's last modification (`DescribeVolumesModifications`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeModification {
    /// `modifying`, `optimizing`, `completed` or `failed`.
    pub state: String,
    /// When it started, in Unix seconds.
    pub started: u64,
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
    /// Encryption and performance.
    pub disk: Disk,
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
