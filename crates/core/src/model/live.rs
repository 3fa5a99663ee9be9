//! The live side: what EC2 holds for a stack (tagged resources only), and
//! the region's facts a plan checks against.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ImageRef, Kind, Rule, RuleDescriptions, VolumeModification};
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
    /// Target groups tagged for the stack.
    #[serde(default)]
    pub target_groups: Vec<super::LiveTargetGroup>,
    /// Load balancers tagged for the stack.
    #[serde(default)]
    pub load_balancers: Vec<super::LiveLoadBalancer>,
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
    /// The rules' descriptions, as EC2 holds them (peers by id).
    #[serde(default)]
    pub descriptions: RuleDescriptions,
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
    /// The name of its IAM instance profile (the last part of the ARN).
    #[serde(default)]
    pub instance_profile: Option<String>,
    /// Its metadata options, when EC2 reports them.
    #[serde(default)]
    pub metadata: Option<LiveMetadata>,
    /// What it has that the format cannot say (a placement group, spot, a
    /// second network interface, …): kept while it runs, lost by a
    /// replacement.
    #[serde(default)]
    pub unexpressed: Vec<String>,
    /// All tags.
    pub tags: BTreeMap<String, String>,
}

/// An instance's metadata options as EC2 reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveMetadata {
    /// `HttpTokens`: `required` or `optional`.
    pub tokens: String,
    /// `HttpPutResponseHopLimit`.
    pub hop_limit: Option<i32>,
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
    /// Whether it is encrypted.
    #[serde(default)]
    pub encrypted: bool,
    /// The ARN of its KMS key, when encrypted.
    #[serde(default)]
    pub kms_key: Option<String>,
    /// Provisioned IOPS.
    #[serde(default)]
    pub iops: Option<i32>,
    /// Throughput in MiB/s.
    #[serde(default)]
    pub throughput: Option<i32>,
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
    /// The default subnet of each availability zone the stack names.
    #[serde(default)]
    pub default_subnets: BTreeMap<String, String>,
    /// Of the groups outside the stack its rules name (`group: sg-…`),
    /// those that exist.
    #[serde(default)]
    pub outside_groups: BTreeSet<String>,
    /// Of the prefix lists its rules name, those that exist.
    #[serde(default)]
    pub prefix_lists: BTreeSet<String>,
    /// The AMI id each image reference the stack names resolved to (`None`:
    /// the parameter does not exist, or no image matches).
    #[serde(default)]
    pub image_refs: BTreeMap<ImageRef, Option<String>>,
    /// The last modification of each volume the plan would modify, and when
    /// that was read (Unix seconds); `None`: not read (the plan modifies no
    /// volume, or it has not been asked yet).
    #[serde(default)]
    pub volume_modifications: Option<(u64, BTreeMap<String, VolumeModification>)>,
}
