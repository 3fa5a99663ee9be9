//! The format's vocabulary in one table: every object, its keys, their types,
//! defaults and docs. The decoder checks keys against it (unknown keys, hints,
//! required keys) and the JSON Schema is generated from it, so the two cannot
//! drift apart.

mod balancers;
pub use super::patterns::*;
pub use balancers::*;

/// EBS volume types.
pub const VOLUME_TYPES: &[&str] = &["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"];
/// Rule protocols.
pub const PROTOCOLS: &[&str] = &["tcp", "udp", "icmp", "icmpv6", "all"];
/// Largest user data EC2 accepts, in bytes (before base64).
pub const MAX_USER_DATA: usize = 16 * 1024;

/// What to do about user data over EC2's limit (user data is text here, so
/// gzip is no way out).
pub(super) const USER_DATA_TOO_LARGE: &str =
    "keep the user data small: move the bulk into a script the instance downloads";

/// The type of a key's value.
#[derive(Debug)]
pub enum Ty {
    /// An integer in a range.
    Int {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// The format version (only this value).
    Version(i64),
    /// `true` / `false`.
    Bool,
    /// A string, maybe with a syntax and a length limit.
    Str {
        /// Syntax it must match.
        pattern: Option<&'static Pattern>,
        /// Maximum length in characters.
        max_len: Option<usize>,
    },
    /// One of a few strings.
    Enum(&'static [&'static str]),
    /// A port (`80`) or a range (`"8000-8080"`).
    Ports,
    /// A count of at least 1 (`2`) or a percentage (`"25%"`).
    CountOrPercent,
    /// A duration: a number and `s`, `m` or `h` (`90s`, `10m`).
    Duration,
    /// A string or a non-empty list of strings.
    OneOrMany(Option<&'static Pattern>),
    /// A list of strings.
    List(Option<&'static Pattern>),
    /// Tags: string keys to string values.
    Tags,
    /// A nested object.
    Obj(&'static Object),
    /// A list of objects.
    ListOf(&'static Object),
    /// A map from names to objects.
    Named(&'static Object),
    /// A list of strings of a syntax or objects (`subnet-…` or `{ zone }`).
    ListOfEither(&'static Pattern, &'static Object),
    /// A string of a syntax or an object (`ami-…` or `{ ssm }`).
    Either(&'static Pattern, &'static Object),
}

/// One key of an object.
#[derive(Debug)]
pub struct Field {
    /// The key.
    pub name: &'static str,
    /// Its value's type.
    pub ty: Ty,
    /// Whether it must be present (in the object itself).
    pub required: bool,
    /// The default when absent, as shown in docs.
    pub default: Option<&'static str>,
    /// What it means.
    pub doc: &'static str,
}

/// An object of the format: a map with a fixed set of keys.
#[derive(Debug)]
pub struct Object {
    /// Its name in `$defs` and in messages.
    pub name: &'static str,
    /// What it is.
    pub doc: &'static str,
    /// Its keys (shared tables are filtered by `exclude`).
    pub fields: &'static [Field],
    /// Keys of `fields` that this object does not take.
    pub exclude: &'static [&'static str],
}

impl Object {
    /// The keys this object takes, in documentation order.
    pub fn fields(&self) -> impl Iterator<Item = &'static Field> + '_ {
        let fields: &'static [Field] = self.fields;
        fields.iter().filter(|f| !self.exclude.contains(&f.name))
    }

    /// The key named `name`, if this object takes it.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields().find(|f| f.name == name)
    }
}

const fn field(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        default: None,
        doc,
    }
}

const fn required(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: true,
        default: None,
        doc,
    }
}

const fn defaulted(name: &'static str, ty: Ty, default: &'static str, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        default: Some(default),
        doc,
    }
}

const fn string(pattern: &'static Pattern) -> Ty {
    Ty::Str {
        pattern: Some(pattern),
        max_len: None,
    }
}

/// The top level of a stack file.
pub static STACK: Object = Object {
    name: "stack",
    doc: "An ec2-gitops stack file (format version 1): the EC2 resources one stack owns.",
    fields: &[
        required(
            "version",
            Ty::Version(1),
            "Format version of this file. Must be 1.",
        ),
        field(
            "extends",
            Ty::Str {
                pattern: None,
                max_len: Some(1024),
            },
            "A base file this stack is written on top of, relative to this file: the stack is the base deep-merged with this file (maps key by key, lists and scalars replaced, `null` removes a key). A file without `stack:` is a base, never a stack by itself.",
        ),
        required(
            "stack",
            string(&NAME),
            "Stack name: unique per account and region; every resource created carries it in the `ec2-gitops:stack` tag.",
        ),
        required(
            "region",
            string(&REGION),
            "AWS region of the stack, e.g. `us-east-1`.",
        ),
        field(
            "account",
            string(&NAME),
            "The AWS account the stack lives in, by name: the job assumes the role that the trusted configuration maps it to (the action input `accounts`, `--accounts FILE`). Default: the job's own credentials. A stack moves in two reviewed steps: remove its resources while it names the old account (that destroys them there), then change this; the action refuses a move while the old account still holds some of the stack.",
        ),
        field(
            "environment",
            string(&ENVIRONMENT),
            "The GitHub environment the stack is deployed to (its Deployment's environment, and what the action input `environments` selects). Default: the stack name.",
        ),
        field(
            "preview",
            Ty::Obj(&PREVIEW),
            "Allows `/preview` on a pull request: the pull request's version of this stack applied as stack `<stack>-pr<N>` (no `protect`, no elastic IPs), destroyed on close.",
        ),
        field(
            "after",
            Ty::List(Some(&NAME)),
            "Stacks this one is applied after, when a merge touches both: it waits for them to be applied (or to have nothing to apply), and is not attempted when one fails.",
        ),
        defaulted(
            "tags",
            Ty::Tags,
            "{}",
            "Tags on every resource the stack makes (instances, their volumes, groups, key pairs, elastic IPs, snapshots), e.g. for cost allocation; an instance's own `tags` win. Changed in place.",
        ),
        field(
            "defaults",
            Ty::Obj(&DEFAULTS),
            "Instance settings merged under every instance (an instance's own value wins; tags are merged key by key).",
        ),
        defaulted(
            "key_pairs",
            Ty::Named(&KEY_PAIR),
            "{}",
            "Key pairs to import, by name.",
        ),
        defaulted(
            "security_groups",
            Ty::Named(&SECURITY_GROUP),
            "{}",
            "Security groups, by name.",
        ),
        defaulted(
            "instances",
            Ty::Named(&INSTANCE),
            "{}",
            "Instances, by name; an instance with `count: N` becomes `<name>-1` … `<name>-N`.",
        ),
        defaulted(
            "elastic_ips",
            Ty::Named(&ELASTIC_IP),
            "{}",
            "Elastic IP addresses, by name.",
        ),
        defaulted(
            "target_groups",
            Ty::Named(&TARGET_GROUP),
            "{}",
            "Target groups, by name: the servers a load balancer sends requests to (an instance entry joins one with `target_groups: [name]`).",
        ),
        defaulted(
            "load_balancers",
            Ty::Named(&LOAD_BALANCER),
            "{}",
            "Application Load Balancers, by name, with their listeners.",
        ),
    ],
    exclude: &[],
};

/// A key pair.
pub static KEY_PAIR: Object = Object {
    name: "key_pair",
    doc: "A key pair imported into EC2.",
    fields: &[
        required(
            "public_key",
            Ty::Str {
                pattern: None,
                max_len: None,
            },
            "OpenSSH public key line: `ssh-ed25519 AAAA… [comment]` or `ssh-rsa AAAA… [comment]` (EC2 imports only ED25519 and RSA keys).",
        ),
        field(
            "renamed_from",
            string(&NAME),
            "The name this key pair had before: it is renamed in place (a tag update) instead of destroyed and created again. Remove it once applied.",
        ),
    ],
    exclude: &[],
};

/// A security group.
pub static SECURITY_GROUP: Object = Object {
    name: "security_group",
    doc: "A security group. Changing `description` or `vpc` replaces the group.",
    fields: &[
        required(
            "description",
            Ty::Str {
                pattern: None,
                max_len: Some(255),
            },
            "Description (ASCII, at most 255 characters).",
        ),
        field(
            "vpc",
            string(&VPC),
            "VPC id. Default: the region's default VPC.",
        ),
        defaulted("ingress", Ty::ListOf(&RULE), "[]", "Inbound rules."),
        field(
            "egress",
            Ty::ListOf(&RULE),
            "Outbound rules. Default: omitted, which keeps EC2's allow-all outbound rule.",
        ),
        field(
            "renamed_from",
            string(&NAME),
            "The name this group had before: it is renamed in place (a tag update) instead of destroyed and created again. Remove it once applied.",
        ),
    ],
    exclude: &[],
};

/// A security-group rule.
pub static RULE: Object = Object {
    name: "rule",
    doc: "A security-group rule; each source in `cidr`, `from`, `group` and `prefix_list` becomes one EC2 permission. At least one source is required.",
    fields: &[
        required(
            "protocol",
            Ty::Enum(PROTOCOLS),
            "Protocol: `tcp`, `udp`, `icmp`, `icmpv6` or `all`.",
        ),
        field(
            "ports",
            Ty::Ports,
            "Port (`80`) or range (`\"8000-8080\"`), 0-65535. Required for `tcp` and `udp`, forbidden for `all`; for `icmp`/`icmpv6` an ICMP type (0-255). Default for ICMP: all types.",
        ),
        field(
            "cidr",
            Ty::OneOrMany(None),
            "IPv4 or IPv6 CIDR block(s), e.g. `0.0.0.0/0` or `[\"10.0.0.0/8\", \"::/0\"]`.",
        ),
        field(
            "from",
            Ty::OneOrMany(Some(&NAME)),
            "Security group(s) of this stack, by name (for egress: the destination).",
        ),
        field(
            "group",
            Ty::OneOrMany(Some(&GROUP_ID)),
            "Security group(s) outside this stack, by id (`sg-…`, in the same VPC): referenced, never changed.",
        ),
        field(
            "description",
            Ty::Str {
                pattern: None,
                max_len: Some(255),
            },
            "What the rule is for, shown in EC2 (up to 255 of `a-z A-Z 0-9 . _ - : / ( ) # , @ [ ] + = & ; { } ! $ *` and spaces). Changed in place.",
        ),
        field(
            "prefix_list",
            Ty::OneOrMany(Some(&PREFIX_LIST)),
            "Managed prefix list(s), by id (`pl-…`): e.g. CloudFront's origin-facing addresses.",
        ),
    ],
    exclude: &[],
};

const INSTANCE_FIELDS: &[Field] = &[
    field(
        "image",
        Ty::Either(&AMI, &IMAGE_REF),
        "AMI id, or `{ ssm: /aws/service/… }` (an SSM parameter holding one) or `{ name: \"web-*\", owner: self }` (the newest matching image), resolved when planning: the plan shows the reference and the id. Required here or in `defaults`. A different id replaces the instance.",
    ),
    field(
        "type",
        string(&INSTANCE_TYPE),
        "Instance type, e.g. `t3.micro`. Required here or in `defaults`. Changing it restarts the instance.",
    ),
    field(
        "subnet",
        string(&SUBNET),
        "Subnet id. Default: a default subnet of the region. Changing it replaces the instance. Not with `subnets`.",
    ),
    field(
        "subnets",
        Ty::ListOfEither(&SUBNET, &ZONE_SUBNET),
        "Subnets the entry's instances are spread over, round-robin by index (`web-1` in the first, `web-2` in the second, …): subnet ids, or `{ zone: us-east-1a }` for a zone's default subnet. A member whose place changes is replaced. Not with `subnet`.",
    ),
    defaulted(
        "security_groups",
        Ty::List(Some(&NAME)),
        "[]",
        "Security groups of this stack, by name. Empty: the VPC's default group.",
    ),
    field(
        "key_pair",
        string(&NAME),
        "Key pair of this stack, by name. Default: none. Changing it replaces the instance.",
    ),
    field(
        "user_data",
        Ty::Str {
            pattern: None,
            max_len: None,
        },
        "User data (e.g. cloud-init), at most 16384 bytes; the only text that may span lines. Not with `user_data_file`. Default: none.",
    ),
    field(
        "user_data_file",
        Ty::Str {
            pattern: None,
            max_len: None,
        },
        "File holding the user data, relative to this YAML file's directory; `..` may leave that directory, never the repository (links followed; a regular file only). Not with `user_data`. Default: none.",
    ),
    field(
        "root_volume",
        Ty::Obj(&ROOT_VOLUME),
        "Root volume settings. Default: the AMI's.",
    ),
    field(
        "instance_profile",
        string(&INSTANCE_PROFILE),
        "IAM instance profile, by name (its role gives the server AWS credentials: SSM Session Manager, CloudWatch, S3 backups). Changed in place, without a restart. Default: none.",
    ),
    field(
        "metadata",
        Ty::Obj(&METADATA),
        "Instance metadata service options. Default: `{ tokens: required }` (IMDSv2 only). Changed in place, without a restart.",
    ),
    defaulted(
        "volumes",
        Ty::ListOf(&VOLUME),
        "[]",
        "Data volumes (EBS), each attached to the instance.",
    ),
    defaulted(
        "tags",
        Ty::Tags,
        "{}",
        "Tags (keys up to 128 characters, values up to 256, each one line without control characters). `Name` and keys starting with `aws:` or `ec2-gitops:` are reserved.",
    ),
    defaulted(
        "count",
        Ty::Int { min: 1, max: 1000 },
        "1",
        "Number of instances: 1 keeps the name; N > 1 makes `<name>-1` … `<name>-N`.",
    ),
    defaulted(
        "protect",
        Ty::Bool,
        "false",
        "Never destroy or replace this instance or its volumes; turns on termination protection.",
    ),
    field(
        "renamed_from",
        string(&NAME),
        "The name this entry had before: its instances (`OLD`, or `OLD-1` … with `count`) are renamed in place (a tag update) instead of replaced. Going between no `count` and `count: N` needs no `renamed_from`: `NAME` and `NAME-1` are the same server. Remove it once applied.",
    ),
    defaulted(
        "target_groups",
        Ty::List(Some(&NAME)),
        "[]",
        "Target groups of this stack, by name, that every instance of the entry is registered in. A server leaves them (and is drained) before it is stopped or terminated, and its rollout is gated on their health checks. Changed in place.",
    ),
    field(
        "rollout",
        Ty::Obj(&ROLLOUT),
        "How this entry's restarts and replacements go: in batches, each healthy before the next starts. Default: one instance at a time, gated on EC2's status checks, 10 minutes per batch.",
    ),
];

/// How the instances of an entry are restarted and replaced.
pub static ROLLOUT: Object = Object {
    name: "rollout",
    doc: "Restarts and replacements of an entry's instances run in batches; the next batch starts when every instance of the current one is healthy.",
    fields: &[
        defaulted(
            "max_unavailable",
            Ty::CountOrPercent,
            "1",
            "Instances changed at once: a number (`2`) or a percentage of `count` (`\"50%\"`), at least 1.",
        ),
        defaulted(
            "health",
            Ty::Enum(HEALTH_CHECKS),
            "status-checks",
            "When an instance is healthy: `status-checks` (EC2's instance and system status checks both `ok`), `running` (its state is running) or `target-group` (`healthy` in every target group of the entry, by the load balancer's health check). Default: `target-group` for an entry in target groups, else `status-checks`.",
        ),
        defaulted(
            "timeout",
            Ty::Duration,
            "10m",
            "How long a batch may take to become healthy (`90s`, `10m`, `1h`; at most `24h`); past it the rollout stops and the later batches are left as they are.",
        ),
    ],
    exclude: &[],
};

/// `preview:` on a stack.
pub static PREVIEW: Object = Object {
    name: "preview",
    doc: "Pull requests by people with write access may get a copy of this stack, `<stack>-pr<N>`, with `/preview` (and remove it with `/preview destroy`); it is destroyed when the pull request is closed or merged.",
    fields: &[
        required(
            "max_instances",
            Ty::Int { min: 1, max: 100 },
            "The most instances a preview may have; a larger one is refused.",
        ),
        defaulted(
            "ttl",
            Ty::Duration,
            "72h",
            "How long a preview lives (`12h`, `72h`; at most `720h`); the scheduled run destroys older ones.",
        ),
    ],
    exclude: &[],
};

/// The health gates of a rollout.
pub const HEALTH_CHECKS: &[&str] = &["status-checks", "running", "target-group"];

/// An instance.
pub static INSTANCE: Object = Object {
    name: "instance",
    doc: "An EC2 instance (or `count` of them), merged over `defaults`.",
    fields: INSTANCE_FIELDS,
    exclude: &[],
};

/// The `defaults` block: instance keys except `count` and `volumes`.
pub static DEFAULTS: Object = Object {
    name: "defaults",
    doc: "Instance settings merged under every instance.",
    fields: INSTANCE_FIELDS,
    exclude: &[
        "count",
        "volumes",
        "renamed_from",
        "rollout",
        "target_groups",
    ],
};

/// SSM parameter names.
pub static SSM_PARAMETER: Pattern = Pattern {
    regex: "^/?[A-Za-z0-9_.\\-/]{1,2047}$",
    check: is_ssm_parameter,
    what: "SSM parameter name",
    example: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
};

fn is_ssm_parameter(s: &str) -> bool {
    (1..=2048).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-/".contains(&c))
        && !s.contains("//")
}

/// Image owners: `self`, `amazon`, `aws-marketplace` or an account id.
pub static IMAGE_OWNER: Pattern = Pattern {
    regex: "^(self|amazon|aws-marketplace|[0-9]{12})$",
    check: is_image_owner,
    what: "image owner",
    example: "self",
};

fn is_image_owner(s: &str) -> bool {
    matches!(s, "self" | "amazon" | "aws-marketplace")
        || (s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit()))
}

/// An image named by reference.
pub static IMAGE_REF: Object = Object {
    name: "image_ref",
    doc: "An image named by an SSM parameter (`ssm`) or by a name pattern (`name`, `owner`), resolved when planning.",
    fields: &[
        field(
            "ssm",
            string(&SSM_PARAMETER),
            "SSM parameter holding an AMI id, e.g. `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`. Not with `name`.",
        ),
        field(
            "name",
            Ty::Str {
                pattern: None,
                max_len: Some(128),
            },
            "Image name pattern (`*` and `?` match anything): the newest matching image. Not with `ssm`.",
        ),
        defaulted(
            "owner",
            string(&IMAGE_OWNER),
            "self",
            "Whose images `name` searches: `self`, `amazon`, `aws-marketplace` or an account id.",
        ),
    ],
    exclude: &[],
};

/// `{ zone: … }` in `subnets`.
pub static ZONE_SUBNET: Object = Object {
    name: "zone_subnet",
    doc: "The default subnet of an availability zone.",
    fields: &[required(
        "zone",
        string(&ZONE),
        "Availability zone of the stack's region, e.g. `us-east-1a`.",
    )],
    exclude: &[],
};

/// `HttpTokens` values.
pub const METADATA_TOKENS: &[&str] = &["required", "optional"];

/// An instance's metadata options.
pub static METADATA: Object = Object {
    name: "metadata",
    doc: "How the instance metadata service (169.254.169.254) answers the server.",
    fields: &[
        defaulted(
            "tokens",
            Ty::Enum(METADATA_TOKENS),
            "required",
            "`required`: every request needs a session token (IMDSv2, what security reviews ask for); `optional`: IMDSv1 is answered too.",
        ),
        field(
            "hop_limit",
            Ty::Int { min: 1, max: 64 },
            "How many network hops a token's answer may travel (1-64): 2 lets containers on the server reach it. Default: left as EC2 sets it (1, or the image's).",
        ),
    ],
    exclude: &[],
};

/// An instance's root volume.
pub static ROOT_VOLUME: Object = Object {
    name: "root_volume",
    doc: "Root volume settings.",
    fields: &[
        required(
            "size_gb",
            Ty::Int { min: 1, max: 16384 },
            "Size in GiB (1-16384).",
        ),
        defaulted("type", Ty::Enum(VOLUME_TYPES), "gp3", "EBS volume type."),
        field(
            "encrypted",
            Ty::Bool,
            "Encrypt the volume (EBS encryption). Default: as EC2 makes it (the account's default encryption). Cannot change on an existing volume: the plan refuses it.",
        ),
        field(
            "kms_key",
            string(&KMS_KEY),
            "KMS key that encrypts the volume: key id, `alias/NAME` or ARN (implies `encrypted: true`). Default: the account's EBS key. Cannot change on an existing volume.",
        ),
        field(
            "iops",
            Ty::Int {
                min: 100,
                max: 256000,
            },
            "Provisioned IOPS (gp3: 3000-80000, io1: 100-64000, io2: 100-256000). Default: the type's baseline. Changed in place.",
        ),
        field(
            "throughput",
            Ty::Int {
                min: 125,
                max: 2000,
            },
            "Throughput in MiB/s, gp3 only (125-2000). Default: the type's baseline. Changed in place.",
        ),
    ],
    exclude: &[],
};

/// A data volume.
pub static VOLUME: Object = Object {
    name: "volume",
    doc: "An EBS data volume attached to the instance; named `<instance>/<name>` in plans.",
    fields: &[
        required("name", string(&NAME), "Volume name, unique per instance."),
        required(
            "device",
            string(&DEVICE),
            "Device name, `/dev/sdf` … `/dev/sdp` or `/dev/xvdf` … `/dev/xvdp`, unique per instance.",
        ),
        required(
            "size_gb",
            Ty::Int { min: 1, max: 16384 },
            "Size in GiB (1-16384). Growing is done in place; shrinking is refused.",
        ),
        defaulted("type", Ty::Enum(VOLUME_TYPES), "gp3", "EBS volume type."),
        field(
            "encrypted",
            Ty::Bool,
            "Encrypt the volume (EBS encryption). Default: as EC2 makes it (the account's default encryption). Cannot change on an existing volume: the plan refuses it.",
        ),
        field(
            "kms_key",
            string(&KMS_KEY),
            "KMS key that encrypts the volume: key id, `alias/NAME` or ARN (implies `encrypted: true`). Default: the account's EBS key. Cannot change on an existing volume.",
        ),
        field(
            "iops",
            Ty::Int {
                min: 100,
                max: 256000,
            },
            "Provisioned IOPS (gp3: 3000-80000, io1: 100-64000, io2: 100-256000). Default: the type's baseline. Changed in place.",
        ),
        field(
            "throughput",
            Ty::Int {
                min: 125,
                max: 2000,
            },
            "Throughput in MiB/s, gp3 only (125-2000). Default: the type's baseline. Changed in place.",
        ),
        defaulted(
            "on_destroy",
            Ty::Enum(ON_DESTROY),
            "snapshot",
            "What happens to the data when the volume is deleted (removed from the YAML, or its instance destroyed): `snapshot` takes a snapshot first and waits until it is complete (snapshots are never deleted by ec2-gitops); `delete` deletes the data.",
        ),
        field(
            "renamed_from",
            string(&NAME),
            "The name this volume had before: it is renamed in place (a tag update) instead of destroyed and created again. Remove it once applied.",
        ),
    ],
    exclude: &[],
};

/// What happens to a data volume's data when it is deleted.
pub const ON_DESTROY: &[&str] = &["snapshot", "delete"];

/// An elastic IP.
pub static ELASTIC_IP: Object = Object {
    name: "elastic_ip",
    doc: "An elastic IP address associated with an instance of this stack.",
    fields: &[
        required(
            "instance",
            string(&NAME),
            "Instance of this stack, by expanded name (`web-1` for an instance `web` with `count: 2`).",
        ),
        field(
            "renamed_from",
            string(&NAME),
            "The name this elastic IP had before: it is renamed in place (a tag update) instead of destroyed and created again. Remove it once applied.",
        ),
    ],
    exclude: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_accept_and_reject() {
        for (p, good, bad) in [
            (
                &NAME,
                &["web", "web-1", "0a"][..],
                &["", "-web", "Web", "web_1", &"a".repeat(64)][..],
            ),
            (
                &REGION,
                &["us-east-1", "eu-central-1", "us-gov-west-1"],
                &["us-east", "useast-1", "US-east-1", "us--1"],
            ),
            (
                &AMI,
                &["ami-12345678", "ami-0123456789abcdef0"],
                &[
                    "ami-1234567",
                    "ami-0123456789ABCDEF0",
                    "ami-0123456789abcdef01",
                ],
            ),
            (
                &INSTANCE_TYPE,
                &[
                    "t3.micro",
                    "m7g.metal-48xl",
                    "u-6tb1.metal",
                    "c6in.32xlarge",
                ],
                &[
                    "t3",
                    "micro.t3",
                    "T3.micro",
                    "t3.",
                    "t3.micro.x",
                    "3t.micro",
                ],
            ),
            (
                &DEVICE,
                &["/dev/sdf", "/dev/xvdp"],
                &["/dev/sda", "/dev/sdq", "/dev/sdff", "sdf"],
            ),
        ] {
            for g in good {
                assert!((p.check)(g), "{} should accept {g}", p.what);
            }
            for b in bad {
                assert!(!(p.check)(b), "{} should reject {b}", p.what);
            }
        }
    }

    #[test]
    fn defaults_take_instance_keys_but_count_and_volumes() {
        let keys: Vec<_> = DEFAULTS.fields().map(|f| f.name).collect();
        assert!(keys.contains(&"image") && !keys.contains(&"count") && !keys.contains(&"volumes"));
        assert!(DEFAULTS.field("volumes").is_none());
        assert!(INSTANCE.field("volumes").is_some());
    }
}
