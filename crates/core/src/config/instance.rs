//! Instances and `defaults`: settings, user data, volumes, tags, and the merge
//! of an instance over the defaults.

use std::collections::{BTreeMap, BTreeSet};

use super::decode::Ctx;
use super::fields::{self, MAX_USER_DATA, Object, VOLUME_TYPES};
use super::files::FileError;
use super::yaml::{Node, NodeKind, Pos, Value};
use crate::model::{
    Disk, Health, Metadata, OnDestroy, Rollout, RootVolume, SubnetRef, Unavailable,
};

/// The names a stack declares, for checking references.
pub struct Refs<'a> {
    /// Security group names.
    pub groups: Vec<&'a str>,
    /// Key pair names.
    pub key_pairs: Vec<&'a str>,
    /// Target group names.
    pub target_groups: Vec<&'a str>,
}

/// Reads a `user_data_file` path relative to the stack file's directory.
pub type ReadUserData<'a> = &'a dyn Fn(&str) -> Result<String, FileError>;

/// A data volume as declared on an instance.
#[derive(Debug, Clone)]
pub struct VolumeDecl {
    /// Volume name, unique per instance.
    pub name: String,
    /// Device name.
    pub device: String,
    /// Size in GiB.
    pub size_gb: i32,
    /// EBS type.
    pub volume_type: String,
    /// Encryption and performance.
    pub disk: Disk,
    /// What happens to its data when it is deleted.
    pub on_destroy: OnDestroy,
    /// `renamed_from`: its name (in the instance) before.
    pub renamed_from: Option<String>,
    /// Where it was declared.
    pub at: Pos,
}

/// The settings written in one instance (or in `defaults`). A key that is
/// present but invalid is in `present` with no value, so it is neither
/// inherited nor reported missing.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// AMI id.
    pub image: Option<String>,
    /// The image, by reference.
    pub image_ref: Option<crate::model::ImageRef>,
    /// Instance type.
    pub instance_type: Option<String>,
    /// Subnet id.
    pub subnet: Option<String>,
    /// Subnets the entry is spread over.
    pub subnets: Option<Vec<SubnetRef>>,
    /// Group names.
    pub security_groups: Option<Vec<String>>,
    /// Key pair name.
    pub key_pair: Option<String>,
    /// User data (from either key).
    pub user_data: Option<String>,
    /// Root volume.
    pub root_volume: Option<RootVolume>,
    /// IAM instance profile name.
    pub instance_profile: Option<String>,
    /// Metadata options.
    pub metadata: Option<Metadata>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Count.
    pub count: Option<u32>,
    /// Protect.
    pub protect: Option<bool>,
    /// `renamed_from`: the entry's name before.
    pub renamed_from: Option<String>,
    /// `rollout`.
    pub rollout: Option<Rollout>,
    /// `target_groups`.
    pub target_groups: Vec<String>,
    /// Data volumes.
    pub volumes: Vec<VolumeDecl>,
    /// Keys written, valid or not.
    pub present: BTreeSet<&'static str>,
    /// Keys an unknown key was probably meant to be (`tpye`: `type`).
    pub typos: Vec<&'static str>,
}

impl Settings {
    /// Whether `key` (or, for user data, either of its keys) was written.
    fn has(&self, key: &str) -> bool {
        has(&self.present, key)
    }
}

fn has(present: &BTreeSet<&'static str>, key: &str) -> bool {
    match key {
        "user_data" => present.contains("user_data") || present.contains("user_data_file"),
        k => present.contains(k),
    }
}

/// Decodes an instance or `defaults` map. `None` when it is not a map.
pub fn settings(
    ctx: &mut Ctx,
    node: &Node,
    obj: &Object,
    what: &str,
    owner: &Node,
    refs: &Refs,
    read: ReadUserData,
) -> Option<Settings> {
    let e = ctx.object(node, obj, what, owner)?;
    let mut s = Settings {
        present: e.keys().collect(),
        typos: e.suggested.clone(),
        ..Settings::default()
    };
    match e
        .value("image")
        .and_then(|n| super::image::image(ctx, n, what))
    {
        Some(super::image::Image::Id(id)) => s.image = Some(id),
        Some(super::image::Image::Ref(r)) => s.image_ref = Some(r),
        None => {}
    }
    s.instance_type = e.value("type").and_then(|n| instance_type(ctx, n));
    s.subnet = e
        .value("subnet")
        .and_then(|n| ctx.pattern(n, &fields::SUBNET));
    s.subnets = e
        .value("subnets")
        .and_then(|n| super::server::subnets(ctx, n, what));
    if let (Some((k, _)), Some(_)) = (e.get("subnets"), e.get("subnet")) {
        ctx.error(
            k,
            format!("{what} sets both `subnet` and `subnets`"),
            Some("keep `subnets` (a list of one spreads nothing) or `subnet`".into()),
        );
    }
    s.security_groups = e
        .value("security_groups")
        .and_then(|n| group_list(ctx, n, refs));
    s.key_pair = e.value("key_pair").and_then(|n| {
        let name = ctx.name(n, "key pair")?;
        ctx.reference(n, name, "key pair", "key_pairs", &refs.key_pairs)
            .then(|| name.to_string())
    });
    match (e.get("user_data"), e.get("user_data_file")) {
        (Some(_), Some((k, _))) => ctx.error(
            k,
            format!("{what} sets both `user_data` and `user_data_file`"),
            Some("keep one of them".into()),
        ),
        (Some((_, v)), None) => {
            s.user_data = ctx
                .text(v, "user_data")
                .and_then(|t| user_data_size(ctx, v, t))
        }
        (None, Some((_, v))) => s.user_data = user_data_file(ctx, v, read),
        (None, None) => {}
    }
    s.root_volume = e
        .value("root_volume")
        .and_then(|n| root_volume(ctx, n, what));
    s.instance_profile = e
        .value("instance_profile")
        .and_then(|n| super::server::instance_profile(ctx, n));
    s.metadata = e
        .value("metadata")
        .and_then(|n| super::server::metadata(ctx, n, what));
    if let Some(n) = e.value("volumes") {
        s.volumes = volumes(ctx, n, what);
    }
    if let Some(n) = e.value("tags") {
        s.tags = tags(ctx, n);
    }
    s.count = e
        .value("count")
        .and_then(|n| {
            ctx.int(
                n,
                (1, 1000),
                "`count`",
                "one declaration makes 1 to 1000 instances: declare another one for more, or remove it for none",
            )
        })
        .map(|c| c as u32);
    s.protect = e.value("protect").and_then(|n| ctx.bool(n));
    s.renamed_from = ctx.renamed_from(&e, "instance");
    if let Some(n) = e.value("target_groups") {
        s.target_groups =
            super::balancers::names(ctx, n, "target group", "target_groups", &refs.target_groups)
                .unwrap_or_default();
    }
    let in_groups = e
        .value("target_groups")
        .is_some_and(|n| matches!(&n.kind, NodeKind::Seq(items) if !items.is_empty()));
    s.rollout = match e.value("rollout") {
        Some(n) => rollout(ctx, n, what, in_groups),
        // An entry behind a load balancer is gated on its health check.
        None if in_groups => Some(Rollout {
            health: Health::TargetGroup,
            ..Rollout::default()
        }),
        None => None,
    };
    Some(s)
}

/// The instance's settings over the defaults; reports `image`/`type` missing
/// from both, at `owner`.
pub fn merge(
    ctx: &mut Ctx,
    name: &str,
    owner: &Node,
    inst: Settings,
    defaults: &Settings,
) -> Settings {
    for key in ["image", "type"] {
        let typo = inst.typos.contains(&key) || defaults.typos.contains(&key);
        if !inst.has(key) && !defaults.has(key) && !typo {
            ctx.error(
                owner,
                format!("instance `{name}` has no `{key}`"),
                Some(format!("set `{key}` on the instance or in `defaults`")),
            );
        }
    }
    let own = inst.present.clone();
    let pick = |key: &str| !has(&own, key);
    let mut tags = defaults.tags.clone();
    tags.extend(inst.tags);
    Settings {
        image: if pick("image") {
            defaults.image.clone()
        } else {
            inst.image
        },
        image_ref: if pick("image") {
            defaults.image_ref.clone()
        } else {
            inst.image_ref
        },
        instance_type: if pick("type") {
            defaults.instance_type.clone()
        } else {
            inst.instance_type
        },
        // Where the instance runs is one setting: the instance's `subnet`
        // or `subnets` replaces both of the defaults'.
        subnet: if pick("subnet") && pick("subnets") {
            defaults.subnet.clone()
        } else {
            inst.subnet
        },
        subnets: if pick("subnet") && pick("subnets") {
            defaults.subnets.clone()
        } else {
            inst.subnets
        },
        security_groups: if pick("security_groups") {
            defaults.security_groups.clone()
        } else {
            inst.security_groups
        },
        key_pair: if pick("key_pair") {
            defaults.key_pair.clone()
        } else {
            inst.key_pair
        },
        user_data: if pick("user_data") {
            defaults.user_data.clone()
        } else {
            inst.user_data
        },
        root_volume: if pick("root_volume") {
            defaults.root_volume.clone()
        } else {
            inst.root_volume
        },
        instance_profile: if pick("instance_profile") {
            defaults.instance_profile.clone()
        } else {
            inst.instance_profile
        },
        metadata: if pick("metadata") {
            defaults.metadata
        } else {
            inst.metadata
        },
        tags,
        count: inst.count,
        protect: if pick("protect") {
            defaults.protect
        } else {
            inst.protect
        },
        renamed_from: inst.renamed_from,
        rollout: inst.rollout,
        target_groups: inst.target_groups,
        volumes: inst.volumes,
        present: inst.present,
        typos: inst.typos,
    }
}

fn instance_type(ctx: &mut Ctx, n: &Node) -> Option<String> {
    let s = ctx.str(n)?;
    if (fields::INSTANCE_TYPE.check)(s) {
        return Some(s.to_string());
    }
    let lower = s.to_ascii_lowercase();
    let hint = if (fields::INSTANCE_TYPE.check)(&lower) {
        format!("instance types are lowercase: `{lower}`")
    } else if !s.contains('.') {
        "an instance type is `<family>.<size>`, e.g. `t3.micro` or `m7g.large`".into()
    } else {
        "instance types look like `t3.micro` or `m7g.large`".into()
    };
    ctx.error(n, format!("`{s}` is not a valid instance type"), Some(hint));
    None
}

fn group_list(ctx: &mut Ctx, n: &Node, refs: &Refs) -> Option<Vec<String>> {
    let items = ctx.list(n)?;
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(name) = ctx.name(item, "security group") else {
            ok = false;
            continue;
        };
        if !ctx.reference(
            item,
            name,
            "security group",
            "security_groups",
            &refs.groups,
        ) {
            ok = false;
        } else if out.iter().any(|g| g == name) {
            ctx.error(
                item,
                format!("security group `{name}` is listed twice"),
                Some("remove the repeated name".into()),
            );
            ok = false;
        } else {
            out.push(name.to_string());
        }
    }
    ok.then_some(out)
}

fn user_data_size(ctx: &mut Ctx, n: &Node, text: &str) -> Option<String> {
    if text.len() > MAX_USER_DATA {
        ctx.error(
            n,
            format!(
                "the user data is {} bytes; EC2 accepts at most {MAX_USER_DATA}",
                text.len()
            ),
            Some(super::fields::USER_DATA_TOO_LARGE.into()),
        );
        return None;
    }
    Some(text.to_string())
}

fn user_data_file(ctx: &mut Ctx, n: &Node, read: ReadUserData) -> Option<String> {
    let path = ctx.str(n)?;
    if path.is_empty()
        || path.starts_with('/')
        || path.starts_with('\\')
        || path.get(1..2) == Some(":")
    {
        ctx.error(
            n,
            format!(
                "`user_data_file` must be a path relative to this YAML file, found {path:?}"
            ),
            Some(
                "a stack reads only files inside its repository: write a path relative to this YAML file, e.g. `cloud-init/web.yaml` or `../cloud-init/web.yaml`"
                    .into(),
            ),
        );
        return None;
    }
    match read(&ctx.path_from_stack(n.start, path)) {
        Ok(text) => user_data_size(ctx, n, &text),
        Err(e) => {
            let (message, hint) = e.user_data(path);
            ctx.error(n, message, Some(hint));
            None
        }
    }
}

/// Allowed size in GiB per EBS type.
fn size_range(volume_type: &str) -> (i64, i64) {
    match volume_type {
        "io1" | "io2" => (4, 16384),
        "st1" | "sc1" => (125, 16384),
        "standard" => (1, 1024),
        _ => (1, 16384),
    }
}

/// Size and type of a volume map, checked together.
fn size_and_type(
    ctx: &mut Ctx,
    size: Option<&Node>,
    ty: Option<&Node>,
) -> (Option<i32>, Option<String>) {
    let volume_type = match ty {
        Some(n) => ctx.one_of(n, VOLUME_TYPES, "volume type"),
        None => Some("gp3".to_string()),
    };
    let size = size.and_then(|n| {
        let size = ctx.int(
            n,
            (1, 16384),
            "`size_gb`",
            "EBS volumes are 1 to 16384 GiB (16 TiB)",
        )?;
        let t = volume_type.as_deref()?;
        let (min, max) = size_range(t);
        if !(min..=max).contains(&size) {
            ctx.error(
                n,
                format!("{t} volumes must be {min}-{max} GiB, found {size}"),
                Some("choose a size in that range, or another volume `type`".into()),
            );
            return None;
        }
        Some(size as i32)
    });
    (size, volume_type)
}

fn root_volume(ctx: &mut Ctx, n: &Node, what: &str) -> Option<RootVolume> {
    let e = ctx.object(
        n,
        &fields::ROOT_VOLUME,
        &format!("the root volume of {what}"),
        n,
    )?;
    let (size, ty) = size_and_type(ctx, e.value("size_gb"), e.value("type"));
    let disk = super::disk::disk(ctx, &e, ty.as_deref());
    Some(RootVolume {
        size_gb: size?,
        volume_type: ty?,
        disk: disk?,
    })
}

fn volumes(ctx: &mut Ctx, n: &Node, what: &str) -> Vec<VolumeDecl> {
    let Some(items) = ctx.list(n) else {
        return Vec::new();
    };
    let mut out: Vec<VolumeDecl> = Vec::new();
    // Invalid volumes still claim their name and device, so duplicates are
    // reported whatever else is wrong.
    let mut names: Vec<(String, usize)> = Vec::new();
    let mut devices: Vec<(String, usize)> = Vec::new();
    for item in items {
        let Some(e) = ctx.object(item, &fields::VOLUME, &format!("a volume of {what}"), item)
        else {
            continue;
        };
        let name = e.value("name").and_then(|n| ctx.name(n, "volume"));
        let device = e
            .value("device")
            .and_then(|n| ctx.pattern(n, &fields::DEVICE));
        let (size, ty) = size_and_type(ctx, e.value("size_gb"), e.value("type"));
        let disk = super::disk::disk(ctx, &e, ty.as_deref());
        let on_destroy = match e.value("on_destroy") {
            None => Some(OnDestroy::Snapshot),
            Some(n) => {
                ctx.one_of(n, fields::ON_DESTROY, "`on_destroy`")
                    .map(|v| match v.as_str() {
                        "delete" => OnDestroy::Delete,
                        _ => OnDestroy::Snapshot,
                    })
            }
        };
        let renamed_from = ctx.renamed_from(&e, "volume");
        let mut unique = true;
        if let (Some("root"), Some(k)) = (name, e.value("name")) {
            ctx.error(
                k,
                "volume name `root` is reserved for the instance's root volume",
                Some("set the root volume with `root_volume:`; name data volumes otherwise (`data`, `logs`)".into()),
            );
            unique = false;
        }
        if let (Some(name), Some(k)) = (name, e.value("name")) {
            if let Some((_, line)) = names.iter().find(|(n, _)| n == name) {
                ctx.error(
                    k,
                    format!("volume name `{name}` is used twice in {what} (first on line {line})"),
                    Some("give each volume of an instance its own name".into()),
                );
                unique = false;
            } else {
                names.push((name.to_string(), k.start.line));
            }
        }
        if let (Some(device), Some(k)) = (&device, e.value("device")) {
            if let Some((_, line)) = devices.iter().find(|(d, _)| d == device) {
                ctx.error(
                    k,
                    format!("device {device} is used twice in {what} (first on line {line})"),
                    Some("each volume needs its own device, /dev/sdf … /dev/sdp".into()),
                );
                unique = false;
            } else {
                devices.push((device.clone(), k.start.line));
            }
        }
        if !unique {
            continue;
        }
        if let (
            Some(name),
            Some(device),
            Some(size_gb),
            Some(volume_type),
            Some(disk),
            Some(on_destroy),
        ) = (name, device, size, ty, disk, on_destroy)
        {
            out.push(VolumeDecl {
                name: name.to_string(),
                device,
                size_gb,
                volume_type,
                disk,
                on_destroy,
                renamed_from,
                at: item.start,
            });
        }
    }
    out
}

/// Decodes a map of tags (the stack's, or an instance's).
pub fn tags(ctx: &mut Ctx, n: &Node) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let map = match &n.kind {
        NodeKind::Map(map) => map,
        _ => {
            ctx.error(
                n,
                format!("expected a map of tags, found {}", n.describe()),
                Some("write `key: value` pairs, e.g. `tags: { role: web }`".into()),
            );
            return out;
        }
    };
    let mut lines: BTreeMap<String, usize> = BTreeMap::new();
    for (k, v) in map {
        let key = tag_text(ctx, k, "key", "the tag key");
        let named = key.as_ref().map_or("the tag value".to_string(), |key| {
            format!("the value of tag `{key}`")
        });
        let (Some(key), Some(val)) = (key, tag_text(ctx, v, "value", &named)) else {
            continue;
        };
        if let Some(line) = lines.get(&key) {
            ctx.error(
                k,
                format!("duplicate tag `{key}` (first set on line {line})"),
                Some("remove one of them".into()),
            );
            continue;
        }
        lines.insert(key.clone(), k.start.line);
        let lower = key.to_ascii_lowercase();
        let problem = if key.is_empty() {
            Some((
                "a tag key cannot be empty".to_string(),
                Some("give the tag a key, e.g. `role`".to_string()),
            ))
        } else if key == "Name" {
            Some((
                "the tag `Name` is reserved: ec2-gitops sets it to `<stack>-<name>`".to_string(),
                Some("use another key, e.g. `role`".to_string()),
            ))
        } else if lower.starts_with("aws:") {
            Some((
                format!("the tag `{key}` is reserved: keys starting with `aws:` belong to AWS"),
                Some("use another key".to_string()),
            ))
        } else if lower.starts_with("ec2-gitops:") {
            Some((
                format!(
                    "the tag `{key}` is reserved: keys starting with `ec2-gitops:` are the tool's own"
                ),
                Some("remove it: ec2-gitops sets these tags itself".to_string()),
            ))
        } else if key.chars().count() > 128 {
            Some((
                format!(
                    "the tag key is {} characters long; EC2 allows 128",
                    key.chars().count()
                ),
                Some("shorten the key".to_string()),
            ))
        } else {
            None
        };
        if let Some((message, hint)) = problem {
            ctx.error(k, message, hint);
            continue;
        }
        if val.chars().count() > 256 {
            ctx.error(
                v,
                format!(
                    "the value of tag `{key}` is {} characters long; EC2 allows 256",
                    val.chars().count()
                ),
                Some("shorten the value".into()),
            );
            continue;
        }
        out.insert(key, val);
    }
    out
}

/// Tags are strings in EC2: any scalar is taken as written (`version: 2` is
/// the tag value "2"); null and collections are errors.
/// `named` is how the one-line check names it.
fn tag_text(ctx: &mut Ctx, n: &Node, part: &str, named: &str) -> Option<String> {
    match (&n.kind, n.value()) {
        (_, Some(Value::Null)) => {
            ctx.error(
                n,
                format!("a tag {part} cannot be empty (null)"),
                Some("write `\"\"` for an empty value".into()),
            );
            None
        }
        (NodeKind::Scalar { text, .. }, _) => ctx.single_line(n, text, named).then(|| text.clone()),
        _ => {
            ctx.error(
                n,
                format!("expected a tag {part} (a string), found {}", n.describe()),
                Some("tags are `key: value` pairs of text".into()),
            );
            None
        }
    }
}

/// Decodes `rollout:`; `None` (errors recorded) when a key is invalid.
/// `in_groups`: the entry is in target groups, which makes `target-group`
/// the default gate (and the only place it is allowed).
fn rollout(ctx: &mut Ctx, n: &Node, what: &str, in_groups: bool) -> Option<Rollout> {
    let e = ctx.object(n, &fields::ROLLOUT, &format!("the `rollout` of {what}"), n)?;
    let mut r = Rollout::default();
    if in_groups {
        r.health = Health::TargetGroup;
    }
    let mut ok = true;
    if let Some(v) = e.value("max_unavailable") {
        let percent = |s: &str| {
            let p: u32 = s.strip_suffix('%')?.parse().ok()?;
            (1..=100).contains(&p).then_some(p)
        };
        match v.value() {
            Some(Value::Int(i)) if (1..=1000).contains(&i) => {
                r.max_unavailable = Unavailable::Count(i as u32);
            }
            Some(Value::Str(s)) if percent(s).is_some() => {
                r.max_unavailable = Unavailable::Percent(percent(s).unwrap_or(1));
            }
            _ => {
                ctx.error(
                    v,
                    format!(
                        "`max_unavailable` is a number of instances (1 to 1000) or a percentage of `count` (1% to 100%), not {}",
                        v.describe()
                    ),
                    Some("e.g. `max_unavailable: 2` or `max_unavailable: \"25%\"`".into()),
                );
                ok = false;
            }
        }
    }
    if let Some(v) = e.value("health") {
        match ctx.one_of(v, fields::HEALTH_CHECKS, "`health`").as_deref() {
            Some("running") => r.health = Health::Running,
            Some("target-group") if !in_groups => {
                ctx.error(
                    v,
                    format!(
                        "{what} is in no target group: `health: target-group` has nothing to check"
                    ),
                    Some(
                        "add `target_groups: [<name>]` to the entry, or gate on `status-checks`"
                            .into(),
                    ),
                );
                ok = false;
            }
            Some("target-group") => r.health = Health::TargetGroup,
            Some(_) => r.health = Health::StatusChecks,
            None => ok = false,
        }
    }
    if let Some(v) = e.value("timeout") {
        let secs = match v.value() {
            Some(Value::Str(s)) => duration_secs(s),
            _ => None,
        };
        match secs {
            Some(t) if (1..=86_400).contains(&t) => r.timeout_secs = t,
            _ => {
                ctx.error(
                    v,
                    format!(
                        "`timeout` is a duration from 1s to 24h, not {}",
                        v.describe()
                    ),
                    Some("a number and a unit: `90s`, `10m` or `1h`".into()),
                );
                ok = false;
            }
        }
    }
    ok.then_some(r)
}

/// Seconds of `90s`, `10m`, `1h`.
/// `preview: { max_instances, ttl }` of a stack.
pub fn preview(ctx: &mut Ctx, n: &Node) -> Option<crate::model::Preview> {
    let e = ctx.object(n, &fields::PREVIEW, "`preview`", n)?;
    let max_instances = ctx.int(
        e.value("max_instances")?,
        (1, 100),
        "`max_instances`",
        "a preview has 1 to 100 instances",
    )? as usize;
    let ttl_secs = match e.value("ttl") {
        None => 72 * 3_600,
        Some(v) => match ctx.str(v).and_then(duration_secs) {
            Some(t) if (3_600..=720 * 3_600).contains(&t) => t,
            _ => {
                ctx.error(
                    v,
                    format!("`ttl` is a duration from 1h to 720h, not {}", v.describe()),
                    Some("e.g. `ttl: 72h`".into()),
                );
                return None;
            }
        },
    };
    Some(crate::model::Preview {
        max_instances,
        ttl_secs,
    })
}

pub(super) fn duration_secs(s: &str) -> Option<u64> {
    let unit = match s.as_bytes().last()? {
        b's' => 1,
        b'm' => 60,
        b'h' => 3_600,
        _ => return None,
    };
    let n = &s[..s.len() - 1];
    if n.is_empty() || n.len() > 5 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse::<u64>().ok().map(|n| n * unit)
}
