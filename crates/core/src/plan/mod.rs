//! The plan: desired (YAML) against live (EC2), per resource and per field.
//!
//! Pure code. [`compute`] builds a [`Plan`] from plain values; `render` shows
//! it; `ec2::apply` executes the [`steps`] derived from it.

pub mod diff;
pub mod fingerprint;
pub mod fronts;
pub mod graph;
pub mod images;
pub mod launch_tag;
pub mod order;
mod ownership;
pub mod renames;
pub mod review;
pub mod rollout;
pub mod schedule;
mod security;
pub mod spread;
pub mod steps;

use serde::{Deserialize, Serialize};

use crate::model::{Desired, Live, Location, Peer, Region, ResourceId};

pub use diff::compute;

/// Version of the JSON plan format (`--out plan.json`).
pub const FORMAT_VERSION: u32 = 1;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Nothing to do.
    NoOp,
    /// Created.
    Create,
    /// Changed in place, no downtime.
    Update,
    /// Changed while stopped: downtime.
    UpdateWithRestart,
    /// A new resource is made, then the old one destroyed.
    Replace,
    /// Destroyed.
    Destroy,
}

impl Action {
    /// The word used in plans (`update-with-restart`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::UpdateWithRestart => "update-with-restart",
            Action::Replace => "replace",
            Action::Destroy => "destroy",
        }
    }
}

/// What a changed field needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Changed in place.
    InPlace,
    /// Changed while the instance is stopped.
    Restart,
    /// Needs a new resource.
    Replace,
}

/// A value as shown in a plan. User data is only ever a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// Absent.
    None,
    /// A single value.
    Text(String),
    /// A list of values (rules, groups, tags as `k=v`).
    List(Vec<String>),
    /// A sensitive value, shown by its hash and size only.
    Digest {
        /// Hex SHA-256 of the value.
        sha256: String,
        /// Size in bytes; 0 when unknown (of live user data EC2 keeps only
        /// the digest tag).
        bytes: usize,
    },
}

impl Value {
    /// A text value, or `None` when absent.
    pub fn opt(v: Option<impl Into<String>>) -> Value {
        v.map_or(Value::None, |s| Value::Text(s.into()))
    }

    /// The value as lines, for diffs and tables.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Value::None => vec![],
            Value::Text(s) => vec![s.clone()],
            Value::List(v) => v.clone(),
            Value::Digest { sha256, bytes } => {
                // A live digest comes from a tag anyone can edit: any length.
                let short = sha256.get(..12).unwrap_or(sha256);
                vec![match bytes {
                    0 => format!("(sensitive: sha256 {short})"),
                    _ => format!("(sensitive: {bytes} bytes, sha256 {short})"),
                }]
            }
        }
    }
}

/// A field of a resource that a plan can change, named in the JSON plan and
/// in messages as the YAML writes it (`type`, `root_volume.size_gb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// An instance's or volume's `image`.
    Image,
    /// An instance's `type` or a volume's `type`.
    Type,
    /// An instance's `subnet`.
    Subnet,
    /// An instance's `key_pair`.
    KeyPair,
    /// An instance's `user_data`.
    UserData,
    /// An instance's `security_groups`.
    SecurityGroups,
    /// Tags of any resource.
    Tags,
    /// `protect`.
    Protect,
    /// An instance's running state.
    State,
    /// An instance's root volume type.
    #[serde(rename = "root_volume.type")]
    RootVolumeType,
    /// An instance's root volume size.
    #[serde(rename = "root_volume.size_gb")]
    RootVolumeSizeGb,
    /// A volume's `size_gb`.
    SizeGb,
    /// A volume's attachment (instance and device).
    Attachment,
    /// A security group's `description`.
    Description,
    /// A security group's `vpc`.
    Vpc,
    /// A security group's `ingress` rules.
    Ingress,
    /// A security group's `egress` rules.
    Egress,
    /// A key pair's `public_key`.
    PublicKey,
    /// A key pair's name in EC2.
    KeyName,
    /// An elastic IP's `instance`.
    Instance,
    /// The resource's name (its `ec2-gitops:name` tag): a rename.
    Name,
    /// A data volume's `on_destroy`.
    OnDestroy,
    /// An instance's `instance_profile`.
    InstanceProfile,
    /// An instance's `metadata.tokens`.
    #[serde(rename = "metadata.tokens")]
    MetadataTokens,
    /// An instance's `metadata.hop_limit`.
    #[serde(rename = "metadata.hop_limit")]
    MetadataHopLimit,
    /// A data volume's `encrypted`.
    Encrypted,
    /// A data volume's `kms_key`.
    KmsKey,
    /// A data volume's `iops`.
    Iops,
    /// A data volume's `throughput`.
    Throughput,
    /// An instance's root volume `encrypted`.
    #[serde(rename = "root_volume.encrypted")]
    RootVolumeEncrypted,
    /// An instance's root volume `kms_key`.
    #[serde(rename = "root_volume.kms_key")]
    RootVolumeKmsKey,
    /// An instance's root volume `iops`.
    #[serde(rename = "root_volume.iops")]
    RootVolumeIops,
    /// An instance's root volume `throughput`.
    #[serde(rename = "root_volume.throughput")]
    RootVolumeThroughput,
    /// The `description`s of a security group's rules.
    RuleDescriptions,
    /// A target group's or listener's `port`.
    Port,
    /// A target group's `protocol`.
    Protocol,
    /// A target group's `health_check`.
    HealthCheck,
    /// A target group's `deregistration_delay`.
    DeregistrationDelay,
    /// The servers registered in a target group.
    Targets,
    /// A load balancer's `scheme`.
    Scheme,
    /// A load balancer's `subnets`.
    Subnets,
    /// A load balancer's `listeners`.
    Listeners,
}

impl Field {
    /// The name the YAML and the JSON plan use.
    pub fn name(self) -> &'static str {
        match self {
            Field::Image => "image",
            Field::Type => "type",
            Field::Subnet => "subnet",
            Field::KeyPair => "key_pair",
            Field::UserData => "user_data",
            Field::SecurityGroups => "security_groups",
            Field::Tags => "tags",
            Field::Protect => "protect",
            Field::State => "state",
            Field::RootVolumeType => "root_volume.type",
            Field::RootVolumeSizeGb => "root_volume.size_gb",
            Field::SizeGb => "size_gb",
            Field::Attachment => "attachment",
            Field::Description => "description",
            Field::Vpc => "vpc",
            Field::Ingress => "ingress",
            Field::Egress => "egress",
            Field::PublicKey => "public_key",
            Field::KeyName => "key_name",
            Field::Instance => "instance",
            Field::Name => "name",
            Field::OnDestroy => "on_destroy",
            Field::InstanceProfile => "instance_profile",
            Field::MetadataTokens => "metadata.tokens",
            Field::MetadataHopLimit => "metadata.hop_limit",
            Field::Encrypted => "encrypted",
            Field::KmsKey => "kms_key",
            Field::Iops => "iops",
            Field::Throughput => "throughput",
            Field::RootVolumeEncrypted => "root_volume.encrypted",
            Field::RootVolumeKmsKey => "root_volume.kms_key",
            Field::RootVolumeIops => "root_volume.iops",
            Field::RootVolumeThroughput => "root_volume.throughput",
            Field::RuleDescriptions => "rule_descriptions",
            Field::Port => "port",
            Field::Protocol => "protocol",
            Field::HealthCheck => "health_check",
            Field::DeregistrationDelay => "deregistration_delay",
            Field::Targets => "targets",
            Field::Scheme => "scheme",
            Field::Subnets => "subnets",
            Field::Listeners => "listeners",
        }
    }
}

impl Field {
    /// Every field, for tests and tables.
    pub const ALL: [Field; 42] = [
        Field::Image,
        Field::Type,
        Field::Subnet,
        Field::KeyPair,
        Field::UserData,
        Field::SecurityGroups,
        Field::Tags,
        Field::Protect,
        Field::State,
        Field::RootVolumeType,
        Field::RootVolumeSizeGb,
        Field::SizeGb,
        Field::Attachment,
        Field::Description,
        Field::Vpc,
        Field::Ingress,
        Field::Egress,
        Field::PublicKey,
        Field::KeyName,
        Field::Instance,
        Field::Name,
        Field::OnDestroy,
        Field::InstanceProfile,
        Field::MetadataTokens,
        Field::MetadataHopLimit,
        Field::Encrypted,
        Field::KmsKey,
        Field::Iops,
        Field::Throughput,
        Field::RootVolumeEncrypted,
        Field::RootVolumeKmsKey,
        Field::RootVolumeIops,
        Field::RootVolumeThroughput,
        Field::RuleDescriptions,
        Field::Port,
        Field::Protocol,
        Field::HealthCheck,
        Field::DeregistrationDelay,
        Field::Targets,
        Field::Scheme,
        Field::Subnets,
        Field::Listeners,
    ];
}

impl Field {
    /// The field the YAML and the JSON plan call `name`.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One changed field of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Which field.
    pub field: Field,
    /// Live value.
    pub before: Value,
    /// Desired value.
    pub after: Value,
    /// What the change needs.
    pub effect: Effect,
    /// Why it needs that, in a sentence.
    pub reason: String,
}

impl FieldChange {
    /// What the change needs, in words (`in place`, `restart`, `replace`).
    pub fn effect_word(&self) -> &'static str {
        match self.effect {
            Effect::InPlace => "in place",
            Effect::Restart => "restart",
            Effect::Replace => "replace",
        }
    }
}

/// The plan for one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Which resource.
    pub resource: ResourceId,
    /// What happens to it.
    pub action: Action,
    /// The live EC2 id, when it exists.
    pub live_id: Option<String>,
    /// Changed fields (empty for create and destroy).
    pub fields: Vec<FieldChange>,
    /// Why a create or destroy happens, when it is not obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Set when `protect: true` forbids this change: apply refuses it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

/// A finding a reviewer must see (an admin port open to the internet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The resource it concerns.
    pub resource: ResourceId,
    /// What is wrong.
    pub message: String,
    /// Where the YAML declares what it is about, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Location>,
}

/// A problem that makes the plan impossible to apply (an AMI that does not
/// exist, a volume that would shrink).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanError {
    /// The resource it concerns.
    pub resource: ResourceId,
    /// Where the offending value is written, when known.
    pub at: Option<Location>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Resources created.
    pub create: usize,
    /// Resources updated (restarts included).
    pub update: usize,
    /// Of those, updates that restart an instance.
    pub restart: usize,
    /// Resources replaced.
    pub replace: usize,
    /// Resources destroyed.
    pub destroy: usize,
    /// Resources left as they are.
    pub unchanged: usize,
    /// Changes refused because of `protect: true`.
    pub blocked: usize,
}

/// The plan of one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// JSON format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Stack name.
    pub stack: String,
    /// Region.
    pub region: String,
    /// The account it lives in, by name (`None`: the job's credentials').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The YAML file.
    pub file: String,
    /// Hash of the changes and of the live values they were computed from.
    pub fingerprint: String,
    /// Counts.
    pub summary: Summary,
    /// Every resource that changes, in apply order.
    pub changes: Vec<Change>,
    /// Findings for reviewers.
    pub warnings: Vec<Warning>,
    /// Problems that make the plan impossible to apply.
    pub errors: Vec<PlanError>,
    /// How the restarts and replacements of each entry go, batch by batch
    /// (absent from the JSON when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollouts: Vec<RolloutPlan>,
    /// How the members of entries with `subnets:` are spread over them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spreads: Vec<spread::Spread>,
    /// Each load balancer's DNS name, listeners and servers after the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fronts: Vec<fronts::Front>,
    /// The AMI id each image the stack names by reference resolved to: what
    /// a reviewer saw, pinned when the reviewed plan is applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<(crate::model::ImageRef, String)>,
    /// The stack's resources and references, for the plan's picture (not
    /// in the JSON: a plan read from a file has none).
    #[serde(skip)]
    pub graph: graph::Graph,
}

/// The batches of one entry's restarts and replacements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutPlan {
    /// The `instances:` entry.
    pub entry: String,
    /// When an instance of a batch is healthy.
    pub health: crate::model::Health,
    /// How long a batch may take to become healthy.
    pub timeout_secs: u64,
    /// Instance names, batch by batch, in order.
    pub batches: Vec<Vec<String>>,
    /// The target groups the entry serves in: each batch is out of
    /// rotation (deregistered and drained) while it changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<String>,
    /// How many servers the entry has (shown for an entry in target
    /// groups; absent from the JSON otherwise, so plans of entries without
    /// one keep their fingerprints).
    #[serde(default, skip_serializing_if = "no_servers")]
    pub servers: u32,
}

fn no_servers(n: &u32) -> bool {
    *n == 0
}

impl Plan {
    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// True when apply must refuse (errors or blocked changes).
    pub fn is_applicable(&self) -> bool {
        self.errors.is_empty() && self.changes.iter().all(|c| c.blocked.is_none())
    }
}

/// Everything a plan was computed from, kept so apply can derive its steps.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The YAML side.
    pub desired: &'a Desired,
    /// The EC2 side.
    pub live: &'a Live,
    /// Region facts (images, subnets, VPCs).
    pub region: &'a Region,
}

/// What a plan must know of the region, for the fields a stack sets: its
/// images, subnets and instance types (each once, sorted), and whether it
/// needs the Elastic IP quota. The EC2 adapter reads only these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionQuery {
    /// Image ids.
    pub images: Vec<String>,
    /// Images by reference, to resolve.
    pub image_refs: Vec<crate::model::ImageRef>,
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// Availability zones whose default subnet the stack names.
    pub zones: Vec<String>,
    /// Instance types.
    pub types: Vec<String>,
    /// Whether the stack has Elastic IPs.
    pub addresses: bool,
    /// Groups outside the stack its rules name.
    pub outside_groups: Vec<String>,
    /// Prefix lists its rules name.
    pub prefix_lists: Vec<String>,
}

impl RegionQuery {
    /// What planning `desired` needs to know of its region.
    pub fn of(desired: &Desired) -> RegionQuery {
        let names = |f: fn(&crate::model::InstanceSpec) -> Option<String>| {
            let mut v: Vec<String> = desired.instances.values().filter_map(f).collect();
            v.sort();
            v.dedup();
            v
        };
        // A load balancer's subnets are checked like an instance's.
        let balancer = |f: fn(&crate::model::SubnetRef) -> Option<String>| {
            let mut v: Vec<String> = (desired.load_balancers.values())
                .flat_map(|b| b.subnets.iter().filter_map(f))
                .collect();
            v.sort();
            v
        };
        let merged = |mut a: Vec<String>, b: Vec<String>| {
            a.extend(b);
            a.sort();
            a.dedup();
            a
        };
        RegionQuery {
            images: names(|i| Some(i.image.clone()).filter(|id| !id.is_empty())),
            image_refs: images::refs(desired),
            subnets: merged(
                names(|i| i.subnet.clone()),
                balancer(|s| match s {
                    crate::model::SubnetRef::Id(id) => Some(id.clone()),
                    crate::model::SubnetRef::Zone(_) => None,
                }),
            ),
            zones: merged(
                names(|i| i.zone.clone()),
                balancer(|s| match s {
                    crate::model::SubnetRef::Zone(z) => Some(z.clone()),
                    crate::model::SubnetRef::Id(_) => None,
                }),
            ),
            types: names(|i| Some(i.instance_type.clone())),
            addresses: !desired.elastic_ips.is_empty(),
            outside_groups: peers(desired, |p| match p {
                Peer::GroupId(g) => Some(g.clone()),
                _ => None,
            }),
            prefix_lists: peers(desired, |p| match p {
                Peer::PrefixList(l) => Some(l.clone()),
                _ => None,
            }),
        }
    }
}

/// What `f` takes of the peers of every rule of `desired`, sorted, once.
fn peers(desired: &Desired, f: impl Fn(&Peer) -> Option<String>) -> Vec<String> {
    let mut v: Vec<String> = desired
        .security_groups
        .values()
        .flat_map(|g| g.ingress.iter().chain(g.egress.iter().flatten()))
        .filter_map(|r| f(&r.peer))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests;
