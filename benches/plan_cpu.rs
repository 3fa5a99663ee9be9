//! The tool's own CPU time for `ec2-gitops plan` by stack size, against a
//! canned, read-only EC2 query API on 127.0.0.1 instead of moto: answering
//! costs next to nothing, so a size of 10,000 instances takes seconds, not
//! the better part of an hour, and what grows is the tool.
//!
//! ```text
//! cargo bench --bench plan_cpu                      # N = 1000 2000 5000 10000, release build
//! cargo bench --bench plan_cpu -- 1000 5000         # other sizes
//! cargo bench --bench plan_cpu -- --release --debug # also target/debug/ec2-gitops (`cargo build` it first)
//! cargo bench --bench plan_cpu -- --paging=moto     # one volume mode only (moto | ec2 | both)
//! cargo bench --bench plan_cpu -- --latency-ms=50   # each answer delayed, as a slow emulator would
//! cargo bench --bench plan_cpu -- --latency-per-instance-us=500 --one-at-a-time  # moto-like: slow, queued
//!                                                   # answers (N² wall time): tool CPU that grows with wall time shows
//! cargo bench --bench plan_cpu -- --binary=PATH     # another build of the tool (instead)
//! cargo bench --bench plan_cpu -- --serve=5000      # only serve (prints the tool's command, e.g. for perf)
//! ```
//!
//! Builds: `--release` (the default: the binary `cargo bench` built),
//! `--debug`, `--binary=PATH`; several may be given.
//!
//! For each N the fake holds a stack `bench` as `ec2-gitops apply` would have
//! made it (the shape of `benches/plan.rs`: one security group, one key pair,
//! a tagged root volume per instance, a data volume on one instance in ten,
//! three elastic IPs; one reservation per instance) as pre-rendered XML
//! pages. `DescribeInstances` honours `MaxResults` and `NextToken`;
//! `DescribeVolumes` is answered two ways: `moto` (one page of every volume:
//! moto 5.2 ignores `MaxResults` there) and `ec2` (`MaxResults` honoured, as
//! real EC2 does). The real binary's `plan --format json --detailed-exitcode`
//! runs against it; the plan must be empty (exit 0), else the benchmark
//! fails with the differing fields. Tool CPU (user + sys) and peak RSS are
//! the child's, from `wait4`. The table goes to stdout only.
//!
//! Not a test: `harness = false`, and never part of `cargo test`.

#[path = "support/plan_json.rs"]
mod plan_json;
#[path = "support/process.rs"]
#[allow(dead_code)] // the benchmark uses only part of it
mod process;
#[path = "support/stack.rs"]
mod stack;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use ec2_gitops::model::{Kind, ResourceId, identity_tags};
use ec2_gitops::plan::steps::group_name;
use stack::*;

const VPC: &str = "vpc-4602d257e0051dbac";
const SUBNET: &str = "subnet-4c7eaa43092bbd2d4";
const ZONE: &str = "us-east-1a";
const ACCOUNT: &str = "123456789012";
const GROUP_ID: &str = "sg-720e4d71599b5bdb0";
const KEY_PAIR_ID: &str = "key-28c106ee703475caf";
const ROOT_DEVICE: &str = "/dev/xvda";
/// The account's elastic IP quota the fake reports.
const ADDRESS_QUOTA: usize = 5;
/// `MaxResults` when a paged call gives none (EC2 would return everything).
const DEFAULT_PAGE: usize = 1000;
const DEFAULT_SIZES: [usize; 4] = [1000, 2000, 5000, 10000];
const DEFAULT_RUNS: usize = 3;
const XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

// ------------------------------------------------------------------ options --

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum VolumePaging {
    /// One page with every volume, whatever `MaxResults` says (moto 5.2).
    Moto,
    /// `MaxResults` honoured (real EC2).
    Ec2,
}

impl VolumePaging {
    fn label(self) -> &'static str {
        match self {
            VolumePaging::Moto => "moto (one page)",
            VolumePaging::Ec2 => "EC2 (MaxResults)",
        }
    }
}

struct Options {
    sizes: Vec<usize>,
    binaries: Vec<PathBuf>,
    paging: Vec<VolumePaging>,
    runs: usize,
    /// Each answer's delay: `--latency-ms`.
    latency: Duration,
    /// And this much more per instance of the stack: `--latency-per-instance-us`
    /// (moto's tag-filtered reads scan the whole account: a page takes longer
    /// the larger the stack, so a plan's wall time grows as N²).
    latency_per_instance: Duration,
    /// `--one-at-a-time`: answers are made one after the other (moto runs
    /// on one Python interpreter: while it answers a slow read, the plan's
    /// other reads wait in its queue).
    one_at_a_time: bool,
    /// `--serve=N`: only serve a stack of N (for a profiler), no runs.
    serve: Option<usize>,
}

fn options() -> Options {
    let mut sizes = Vec::new();
    let mut binaries = Vec::new();
    let mut paging = vec![VolumePaging::Moto, VolumePaging::Ec2];
    let mut runs = DEFAULT_RUNS;
    let mut latency = Duration::ZERO;
    let mut latency_per_instance = Duration::ZERO;
    let mut one_at_a_time = false;
    let mut serve = None;
    for arg in std::env::args().skip(1) {
        if let Some(path) = arg.strip_prefix("--binary=") {
            binaries.push(PathBuf::from(path));
        } else if arg == "--release" {
            binaries.push(process::binary());
        } else if arg == "--debug" {
            binaries.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/ec2-gitops"));
        } else if let Some(mode) = arg.strip_prefix("--paging=") {
            paging = match mode {
                "moto" => vec![VolumePaging::Moto],
                "ec2" => vec![VolumePaging::Ec2],
                "both" => vec![VolumePaging::Moto, VolumePaging::Ec2],
                _ => panic!("--paging=moto|ec2|both, not {mode:?}"),
            };
        } else if let Some(n) = arg.strip_prefix("--runs=") {
            runs = n.parse().ok().filter(|&n| n > 0).expect("--runs=N, N > 0");
        } else if let Some(ms) = arg.strip_prefix("--latency-ms=") {
            latency = Duration::from_millis(ms.parse().expect("--latency-ms=N"));
        } else if let Some(us) = arg.strip_prefix("--latency-per-instance-us=") {
            latency_per_instance =
                Duration::from_micros(us.parse().expect("--latency-per-instance-us=N"));
        } else if arg == "--one-at-a-time" {
            one_at_a_time = true;
        } else if let Some(n) = arg.strip_prefix("--serve=") {
            serve = Some(n.parse().expect("--serve=N"));
        } else if arg.starts_with('-') {
            // cargo's own flags (`--bench`).
        } else {
            sizes.push(
                arg.parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| panic!("not a stack size: {arg:?}")),
            );
        }
    }
    if sizes.is_empty() {
        sizes = DEFAULT_SIZES.to_vec();
    }
    if binaries.is_empty() {
        binaries.push(process::binary());
    }
    binaries.dedup();
    for b in &binaries {
        assert!(
            b.is_file(),
            "no binary at {} (for target/debug: `cargo build --bin ec2-gitops`)",
            b.display()
        );
    }
    Options {
        sizes,
        binaries,
        paging,
        runs,
        latency,
        latency_per_instance,
        one_at_a_time,
        serve,
    }
}

// -------------------------------------------------------------------- stack --

fn instance_id(i: usize) -> String {
    format!("i-{:017x}", 0x1_0000_0000_u64 + i as u64)
}
fn root_volume_id(i: usize) -> String {
    format!("vol-{:017x}", 0x1_0000_0000_u64 + i as u64)
}
fn data_volume_id(i: usize) -> String {
    format!("vol-{:017x}", 0x2_0000_0000_u64 + i as u64)
}
fn private_ip(i: usize) -> String {
    format!("10.{}.{}.{}", 1 + i / 65536, (i / 256) % 256, i % 256)
}
fn public_ip(i: usize) -> String {
    format!("127.{}.{}.{}", 1 + i / 65536, (i / 256) % 256, i % 256)
}

// ---------------------------------------------------------------------- XML --

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn tag_set(out: &mut String, kind: Kind, name: &str) {
    out.push_str("<tagSet>");
    for (k, v) in identity_tags(STACK, &ResourceId::new(kind, name)) {
        let _ = write!(
            out,
            "<item><key>{}</key><value>{}</value></item>",
            esc(&k),
            esc(&v)
        );
    }
    out.push_str("</tagSet>");
}

fn envelope(action: &str, body: &str, next_token: Option<&str>) -> Bytes {
    let mut out = String::with_capacity(body.len() + 256);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{XMLNS}\">{body}"
    );
    if let Some(t) = next_token {
        let _ = write!(out, "<nextToken>{t}</nextToken>");
    }
    let _ = write!(
        out,
        "<requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId></{action}Response>"
    );
    Bytes::from(out)
}

/// One reservation of one instance, with the fields moto 5.2 returns.
fn reservation_xml(out: &mut String, shape: &Shape, i: usize) {
    let (name, volume) = &shape.instances[i];
    let id = instance_id(i);
    let (pip, ip) = (private_ip(i), public_ip(i));
    let t = "2026-12-01T18:49:20.000Z";
    let _ = write!(
        out,
        "<item><reservationId>r-{i:017x}</reservationId><ownerId>{ACCOUNT}</ownerId><groupSet/><instancesSet><item>\
         <architecture>x86_64</architecture><blockDeviceMapping>\
         <item><deviceName>{ROOT_DEVICE}</deviceName><ebs><attachTime>{t}</attachTime><deleteOnTermination>true</deleteOnTermination><status>attached</status><volumeId>{}</volumeId></ebs></item>",
        root_volume_id(i)
    );
    if *volume {
        let _ = write!(
            out,
            "<item><deviceName>{VOLUME_DEVICE}</deviceName><ebs><attachTime>{t}</attachTime><deleteOnTermination>false</deleteOnTermination><status>attached</status><volumeId>{}</volumeId></ebs></item>",
            data_volume_id(i)
        );
    }
    let group_name = group_name(STACK, GROUP, GROUP_DESCRIPTION, VPC);
    let dashed = |ip: &str| ip.replace('.', "-");
    let _ = write!(
        out,
        "</blockDeviceMapping><clientToken>{id}-token</clientToken><ebsOptimized>false</ebsOptimized><hypervisor>xen</hypervisor>\
         <networkInterfaceSet><item><association><ipOwnerId>{ACCOUNT}</ipOwnerId><publicDnsName>ec2-{pd}.compute-1.amazonaws.com</publicDnsName><publicIp>{ip}</publicIp></association>\
         <attachment><attachTime>{t}</attachTime><attachmentId>eni-attach-{i:017x}</attachmentId><deleteOnTermination>true</deleteOnTermination><deviceIndex>0</deviceIndex><status>attached</status><networkCardIndex>0</networkCardIndex></attachment>\
         <description>Primary network interface</description><groupSet><item><groupId>{GROUP_ID}</groupId><groupName>{group_name}</groupName></item></groupSet><ipv6AddressesSet/>\
         <macAddress>02:00:00:{:02x}:{:02x}:{:02x}</macAddress><networkInterfaceId>eni-{i:017x}</networkInterfaceId><ownerId>{ACCOUNT}</ownerId>\
         <privateDnsName>ip-{pdp}.ec2.internal</privateDnsName><privateIpAddress>{pip}</privateIpAddress>\
         <privateIpAddressesSet><item><association><ipOwnerId>{ACCOUNT}</ipOwnerId><publicDnsName>ec2-{pd}.compute-1.amazonaws.com</publicDnsName><publicIp>{ip}</publicIp></association><primary>true</primary><privateIpAddress>{pip}</privateIpAddress></item></privateIpAddressesSet>\
         <sourceDestCheck>true</sourceDestCheck><status>in-use</status><subnetId>{SUBNET}</subnetId><vpcId>{VPC}</vpcId><interfaceType>interface</interfaceType></item></networkInterfaceSet>\
         <rootDeviceName>{ROOT_DEVICE}</rootDeviceName><rootDeviceType>ebs</rootDeviceType><groupSet><item><groupId>{GROUP_ID}</groupId><groupName>{group_name}</groupName></item></groupSet>\
         <sourceDestCheck>true</sourceDestCheck><sriovNetSupport>simple</sriovNetSupport><stateReason><code/><message/></stateReason>",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        i & 0xff,
        pd = dashed(&ip),
        pdp = dashed(&pip),
    );
    tag_set(out, Kind::Instance, name);
    let _ = write!(
        out,
        "<virtualizationType>hvm</virtualizationType><hibernationOptions/>\
         <metadataOptions><state>applied</state><httpTokens>required</httpTokens><httpPutResponseHopLimit>1</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint><httpProtocolIpv6>disabled</httpProtocolIpv6><instanceMetadataTags>disabled</instanceMetadataTags></metadataOptions>\
         <instanceId>{id}</instanceId><imageId>{IMAGE}</imageId><instanceState><code>16</code><name>running</name></instanceState>\
         <privateDnsName>ip-{pdp}.ec2.internal</privateDnsName><dnsName>ec2-{pd}.compute-1.amazonaws.com</dnsName><reason/>\
         <keyName>{STACK}-{KEY_PAIR}</keyName><amiLaunchIndex>0</amiLaunchIndex><productCodes/><instanceType>{INSTANCE_TYPE}</instanceType><launchTime>{t}</launchTime>\
         <placement><groupName/><tenancy>default</tenancy><availabilityZone>{ZONE}</availabilityZone></placement><monitoring><state>disabled</state></monitoring>\
         <subnetId>{SUBNET}</subnetId><vpcId>{VPC}</vpcId><privateIpAddress>{pip}</privateIpAddress><ipAddress>{ip}</ipAddress></item></instancesSet></item>",
        pd = dashed(&ip),
        pdp = dashed(&pip),
    );
}

/// A volume of the stack: (instance index, data volume or root).
fn volume_xml(out: &mut String, shape: &Shape, (i, data): (usize, bool)) {
    let name = &shape.instances[i].0;
    let t = "2026-12-01T18:49:20.000Z";
    let (id, logical, vtype, size, device) = if data {
        (
            data_volume_id(i),
            format!("{name}/data"),
            "gp3",
            VOLUME_SIZE_GB,
            VOLUME_DEVICE,
        )
    } else {
        (
            root_volume_id(i),
            format!("{name}/root"),
            "gp2",
            8,
            ROOT_DEVICE,
        )
    };
    out.push_str("<item>");
    if data {
        out.push_str("<iops>3000</iops>");
    }
    tag_set(out, Kind::Volume, &logical);
    let _ = write!(
        out,
        "<volumeType>{vtype}</volumeType><volumeId>{id}</volumeId><size>{size}</size><availabilityZone>{ZONE}</availabilityZone>\
         <status>in-use</status><createTime>{t}</createTime><attachmentSet><item><volumeId>{id}</volumeId><instanceId>{}</instanceId>\
         <device>{device}</device><status>attached</status><attachTime>{t}</attachTime></item></attachmentSet><encrypted>false</encrypted></item>",
        instance_id(i)
    );
}

/// Pages of `items`, `per_page` each, rendered by `item`; every page but the
/// last has a `nextToken` (`"<page index>"`).
fn paged<T: Copy>(
    action: &str,
    set: &str,
    items: &[T],
    per_page: usize,
    item: impl Fn(&mut String, T),
) -> Vec<Bytes> {
    let chunks: Vec<&[T]> = if items.is_empty() {
        vec![&[]]
    } else {
        items.chunks(per_page.max(1)).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(k, chunk)| {
            let mut body = format!("<{set}>");
            for &x in *chunk {
                item(&mut body, x);
            }
            let _ = write!(body, "</{set}>");
            let token = (k < last).then(|| (k + 1).to_string());
            envelope(action, &body, token.as_deref())
        })
        .collect()
}

fn addresses_xml(shape: &Shape) -> Bytes {
    let mut body = String::from("<addressesSet>");
    for (k, (ip, i)) in shape.addresses.iter().enumerate() {
        let _ = write!(
            body,
            "<item><allocationId>eipalloc-{k:017x}</allocationId><associationId>eipassoc-{k:017x}</associationId><domain>vpc</domain>\
             <networkInterfaceId>eni-{i:017x}</networkInterfaceId><networkInterfaceOwnerId>{ACCOUNT}</networkInterfaceOwnerId><privateIpAddress>{}</privateIpAddress>",
            private_ip(*i)
        );
        tag_set(&mut body, Kind::ElasticIp, ip);
        let _ = write!(
            body,
            "<instanceId>{}</instanceId><publicIp>{}</publicIp></item>",
            instance_id(*i),
            public_ip(*i)
        );
    }
    body.push_str("</addressesSet>");
    envelope("DescribeAddresses", &body, None)
}

fn groups_xml() -> Bytes {
    let mut body = format!(
        "<securityGroupInfo><item><groupId>{GROUP_ID}</groupId><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissionsEgress>"
    );
    tag_set(&mut body, Kind::SecurityGroup, GROUP);
    let _ = write!(
        body,
        "<vpcId>{VPC}</vpcId><securityGroupArn>arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{GROUP_ID}</securityGroupArn><ownerId>{ACCOUNT}</ownerId>\
         <groupName>{}</groupName><groupDescription>{GROUP_DESCRIPTION}</groupDescription><ipPermissions>\
         <item><ipProtocol>tcp</ipProtocol><fromPort>80</fromPort><toPort>80</toPort><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>\
         <item><ipProtocol>tcp</ipProtocol><fromPort>443</fromPort><toPort>443</toPort><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges><item><cidrIpv6>::/0</cidrIpv6></item></ipv6Ranges><prefixListIds/></item>\
         </ipPermissions></item></securityGroupInfo>",
        group_name(STACK, GROUP, GROUP_DESCRIPTION, VPC)
    );
    envelope("DescribeSecurityGroups", &body, None)
}

fn key_pairs_xml() -> Bytes {
    let mut body =
        format!("<keySet><item><keyPairId>{KEY_PAIR_ID}</keyPairId><keyType>ed25519</keyType>");
    tag_set(&mut body, Kind::KeyPair, KEY_PAIR);
    let _ = write!(
        body,
        "<publicKey>{PUBLIC_KEY}</publicKey><createTime>2026-12-01T18:49:20.000Z</createTime><keyName>{STACK}-{KEY_PAIR}</keyName>\
         <keyFingerprint>c1:a5:8b:79:33:3b:ef:07:8c:03:3b:d8:f7:09:13:cd:4a:1a:86:65:ac:e3:c1:74:5d:f7:f8:e0:43:a9:b7:f0</keyFingerprint></item></keySet>"
    );
    envelope("DescribeKeyPairs", &body, None)
}

/// The answers that do not depend on the stack's size.
fn fixed_answers() -> HashMap<&'static str, Bytes> {
    HashMap::from([
        (
            "DescribeImages",
            envelope(
                "DescribeImages",
                &format!(
                    "<imagesSet><item><blockDeviceMapping><item><ebs><deleteOnTermination>false</deleteOnTermination><snapshotId>snap-d8dac08eb8fa2d889</snapshotId><volumeSize>15</volumeSize><volumeType>standard</volumeType></ebs><deviceName>{ROOT_DEVICE}</deviceName></item></blockDeviceMapping>\
                     <description>Amazon Linux 2023 AMI x86_64 HVM</description><hypervisor>xen</hypervisor><imageOwnerAlias>amazon</imageOwnerAlias><name>al2023-ami-x86_64</name>\
                     <rootDeviceName>{ROOT_DEVICE}</rootDeviceName><rootDeviceType>ebs</rootDeviceType><tagSet/><virtualizationType>hvm</virtualizationType><bootMode>uefi</bootMode>\
                     <imageId>{IMAGE}</imageId><imageState>available</imageState><imageOwnerId>137112412989</imageOwnerId><creationDate>2026-12-01T18:49:19.000Z</creationDate><isPublic>true</isPublic><productCodes/><architecture>x86_64</architecture><imageType>machine</imageType></item></imagesSet>"
                ),
                None,
            ),
        ),
        (
            "DescribeVpcs",
            envelope(
                "DescribeVpcs",
                &format!(
                    "<vpcSet><item><ownerId>{ACCOUNT}</ownerId><instanceTenancy>default</instanceTenancy><ipv6CidrBlockAssociationSet/><cidrBlockAssociationSet><item><associationId>vpc-cidr-assoc-869af6e12a36a995d</associationId><cidrBlock>172.31.0.0/16</cidrBlock><cidrBlockState><state>associated</state></cidrBlockState></item></cidrBlockAssociationSet>\
                     <isDefault>true</isDefault><tagSet/><vpcId>{VPC}</vpcId><state>available</state><cidrBlock>172.31.0.0/16</cidrBlock><dhcpOptionsId>default</dhcpOptionsId></item></vpcSet>"
                ),
                None,
            ),
        ),
        (
            "DescribeInstanceTypeOfferings",
            envelope(
                "DescribeInstanceTypeOfferings",
                &format!(
                    "<instanceTypeOfferingSet><item><instanceType>{INSTANCE_TYPE}</instanceType><locationType>region</locationType><location>{REGION}</location></item></instanceTypeOfferingSet>"
                ),
                None,
            ),
        ),
        (
            "DescribeAccountAttributes",
            envelope(
                "DescribeAccountAttributes",
                &format!(
                    "<accountAttributeSet><item><attributeName>vpc-max-elastic-ips</attributeName><attributeValueSet><item><attributeValue>{ADDRESS_QUOTA}</attributeValue></item></attributeValueSet></item></accountAttributeSet>"
                ),
                None,
            ),
        ),
        (
            "DescribeSubnets",
            envelope(
                "DescribeSubnets",
                &format!(
                    "<subnetSet><item><subnetId>{SUBNET}</subnetId><vpcId>{VPC}</vpcId><availabilityZone>{ZONE}</availabilityZone><state>available</state><cidrBlock>172.31.0.0/20</cidrBlock><defaultForAz>true</defaultForAz></item></subnetSet>"
                ),
                None,
            ),
        ),
        (
            "DescribeSnapshots",
            envelope("DescribeSnapshots", "<snapshotSet/>", None),
        ),
        ("DescribeKeyPairs", key_pairs_xml()),
        ("DescribeSecurityGroups", groups_xml()),
    ])
}

// --------------------------------------------------------------------- fake --

/// The canned answers for one stack, rendered before any request.
struct Canned {
    fixed: HashMap<&'static str, Bytes>,
    addresses: Bytes,
    /// DescribeInstances pages by page size.
    instances: Mutex<HashMap<usize, Arc<Vec<Bytes>>>>,
    /// DescribeVolumes pages by page size (`usize::MAX`: one page).
    volumes: Mutex<HashMap<usize, Arc<Vec<Bytes>>>>,
    shape: Shape,
    /// Every volume: (instance index, data volume).
    volume_list: Vec<(usize, bool)>,
}

impl Canned {
    fn new(shape: Shape) -> Canned {
        let mut volume_list: Vec<(usize, bool)> = Vec::new();
        for (i, (_, data)) in shape.instances.iter().enumerate() {
            volume_list.push((i, false));
            if *data {
                volume_list.push((i, true));
            }
        }
        let canned = Canned {
            fixed: fixed_answers(),
            addresses: addresses_xml(&shape),
            instances: Mutex::new(HashMap::new()),
            volumes: Mutex::new(HashMap::new()),
            shape,
            volume_list,
        };
        // The page sizes the tool asks for, rendered now.
        canned.instance_pages(1000);
        canned.volume_pages(500);
        canned.volume_pages(usize::MAX);
        canned
    }

    fn instance_pages(&self, per_page: usize) -> Arc<Vec<Bytes>> {
        let mut cache = self.instances.lock().expect("cache lock");
        cache
            .entry(per_page)
            .or_insert_with(|| {
                let all: Vec<usize> = (0..self.shape.instances.len()).collect();
                Arc::new(paged(
                    "DescribeInstances",
                    "reservationSet",
                    &all,
                    per_page,
                    |out, i| reservation_xml(out, &self.shape, i),
                ))
            })
            .clone()
    }

    fn volume_pages(&self, per_page: usize) -> Arc<Vec<Bytes>> {
        let mut cache = self.volumes.lock().expect("cache lock");
        cache
            .entry(per_page)
            .or_insert_with(|| {
                Arc::new(paged(
                    "DescribeVolumes",
                    "volumeSet",
                    &self.volume_list,
                    per_page,
                    |out, v| volume_xml(out, &self.shape, v),
                ))
            })
            .clone()
    }
}

struct Fake {
    canned: Mutex<Option<Arc<Canned>>>,
    paging: Mutex<VolumePaging>,
    latency: Duration,
    latency_per_instance: Duration,
    /// Held while an answer is delayed, with `--one-at-a-time`.
    queue: Option<tokio::sync::Mutex<()>>,
    /// Requests by action (unknown ones as `?Action`).
    requests: Mutex<BTreeMap<String, usize>>,
}

fn ec2_error(code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{}</Message></Error></Errors><RequestID>fake</RequestID></Response>",
        esc(message)
    );
    (
        http::StatusCode::BAD_REQUEST,
        [(http::header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        body,
    )
        .into_response()
}

fn xml(body: Bytes) -> Response {
    (
        [(http::header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        body,
    )
        .into_response()
}

/// The page a request asks for (`NextToken` is the page's index), or an
/// EC2 error.
fn page_of(pages: &[Bytes], token: Option<&str>) -> Response {
    let k = match token {
        None | Some("") => Some(0),
        Some(t) => t.parse::<usize>().ok(),
    };
    match k.and_then(|k| pages.get(k)) {
        Some(page) => xml(page.clone()),
        None => ec2_error("InvalidParameterValue", "bad NextToken"),
    }
}

async fn answer(State(fake): State<Arc<Fake>>, headers: http::HeaderMap, body: Bytes) -> Response {
    // The tagging API (JSON, named by `X-Amz-Target`): the benchmark stack
    // has no load balancer.
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if target.ends_with(".GetResources") {
        *fake
            .requests
            .lock()
            .expect("fake lock")
            .entry("GetResources".into())
            .or_default() += 1;
        return (
            [(http::header::CONTENT_TYPE, "application/x-amz-json-1.1")],
            r#"{"ResourceTagMappingList":[],"PaginationToken":""}"#,
        )
            .into_response();
    }
    let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let action = params.get("Action").cloned().unwrap_or_default();
    let canned = fake.canned.lock().expect("fake lock").clone();
    let known = matches!(
        action.as_str(),
        "DescribeInstances"
            | "DescribeVolumes"
            | "DescribeSecurityGroups"
            | "DescribeAddresses"
            | "DescribeKeyPairs"
            | "DescribeImages"
            | "DescribeVpcs"
            | "DescribeInstanceTypeOfferings"
            | "DescribeAccountAttributes"
            | "DescribeSubnets"
            | "DescribeSnapshots"
    );
    *fake
        .requests
        .lock()
        .expect("fake lock")
        .entry(if known {
            action.clone()
        } else {
            format!("?{action}")
        })
        .or_default() += 1;
    let n = canned.as_ref().map_or(0, |c| c.shape.instances.len());
    let delay = fake.latency + fake.latency_per_instance * n as u32;
    if !delay.is_zero() {
        let _turn = match &fake.queue {
            Some(q) => Some(q.lock().await),
            None => None,
        };
        tokio::time::sleep(delay).await;
    }
    let Some(canned) = canned.filter(|_| known) else {
        return ec2_error(
            "InvalidAction",
            &format!("the canned read-only EC2 does not answer {action:?}"),
        );
    };
    let max_results = params
        .get("MaxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE);
    let token = params.get("NextToken").map(String::as_str);
    match action.as_str() {
        "DescribeInstances" => page_of(&canned.instance_pages(max_results), token),
        "DescribeVolumes" => {
            let per_page = match *fake.paging.lock().expect("fake lock") {
                VolumePaging::Moto => usize::MAX,
                VolumePaging::Ec2 => max_results,
            };
            page_of(&canned.volume_pages(per_page), token)
        }
        // Stack-filtered or the account's: the stack's are all there are.
        "DescribeAddresses" => xml(canned.addresses.clone()),
        other => xml(canned.fixed[other].clone()),
    }
}

/// Starts the fake on a loopback port in its own runtime thread; returns
/// its endpoint.
fn start(fake: Arc<Fake>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the fake's runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the fake EC2");
            tx.send(listener.local_addr().expect("local addr"))
                .expect("send the address");
            let app = axum::Router::new().fallback(answer).with_state(fake);
            axum::serve(listener, app)
                .await
                .expect("serve the fake EC2");
        });
    });
    let addr = rx.recv().expect("the fake EC2 started");
    format!("http://{addr}")
}

// -------------------------------------------------------------------- runs --

struct Run {
    cpu: f64,
    wall: f64,
    rss_mb: f64,
    requests: BTreeMap<String, usize>,
}

struct Row {
    binary: String,
    paging: VolumePaging,
    n: usize,
    runs: Vec<Run>,
}

impl Row {
    fn median(&self, f: impl Fn(&Run) -> f64) -> f64 {
        process::median(self.runs.iter().map(f))
    }
    fn requests(&self) -> usize {
        self.runs[0].requests.values().sum()
    }
    fn by_action(&self) -> String {
        self.runs[0]
            .requests
            .iter()
            .map(|(a, c)| format!("{} {c}", a.trim_start_matches("Describe")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn plan_once(binary: &Path, endpoint: &str, yaml: &Path, fake: &Fake) -> Run {
    fake.requests.lock().expect("fake lock").clear();
    let mut command = process::ec2_command_of(binary, endpoint);
    command
        .env("AWS_REGION", REGION)
        .arg("plan")
        .arg(yaml)
        .args(["--format", "json", "--detailed-exitcode"]);
    if let Some(log) = std::env::var_os("EC2_GITOPS_LOG") {
        command.env("EC2_GITOPS_LOG", log);
    }
    let out = process::run(&mut command);
    let requests = fake.requests.lock().expect("fake lock").clone();
    if out.code != Some(0) {
        panic!(
            "!!! the plan against the canned EC2 is not empty or failed (exit {:?}, \
             requests {requests:?}): the canned stack or the planner is wrong.\n{}\nstderr:\n{}",
            out.code,
            plan_json::differences(&out.stdout, 10),
            process::tail(&out.stderr, 40)
        );
    }
    if let Some(unknown) = requests.keys().find(|a| a.starts_with('?')) {
        panic!("the tool called {unknown}, which the canned EC2 does not answer");
    }
    Run {
        cpu: out.cpu.as_secs_f64(),
        wall: out.wall.as_secs_f64(),
        rss_mb: out.rss_mb,
        requests,
    }
}

/// `release` or `debug` for cargo's builds, else the binary's file name.
fn profile_of(binary: &Path) -> String {
    let dir = binary.parent().and_then(|p| p.file_name());
    match dir.and_then(|d| d.to_str()) {
        Some(d @ ("release" | "debug")) => d.to_string(),
        _ => binary.file_name().map_or_else(
            || binary.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        ),
    }
}

fn main() {
    let opts = options();
    let fake = Arc::new(Fake {
        canned: Mutex::new(None),
        paging: Mutex::new(VolumePaging::Moto),
        latency: opts.latency,
        latency_per_instance: opts.latency_per_instance,
        queue: opts.one_at_a_time.then(|| tokio::sync::Mutex::new(())),
        requests: Mutex::new(BTreeMap::new()),
    });
    let endpoint = start(fake.clone());
    let dir = tempfile::tempdir().expect("temp dir for the stack files");
    if let Some(n) = opts.serve {
        serve(&fake, &endpoint, dir.path(), n, opts.paging[0]);
        return;
    }
    let mut rows: Vec<Row> = Vec::new();
    for &n in &opts.sizes {
        let shape = Shape::new(n);
        let yaml = dir.path().join(format!("bench-{n}.yaml"));
        std::fs::write(&yaml, shape.yaml()).expect("write the stack file");
        *fake.canned.lock().expect("fake lock") = Some(Arc::new(Canned::new(shape)));
        for binary in &opts.binaries {
            for &paging in &opts.paging {
                *fake.paging.lock().expect("fake lock") = paging;
                let mut runs = Vec::new();
                for k in 0..opts.runs {
                    let run = plan_once(binary, &endpoint, &yaml, &fake);
                    eprintln!(
                        "{} {:?} N={n} run {}: {:.3} s CPU, {:.3} s wall, {:.1} MB, {} requests",
                        profile_of(binary),
                        paging,
                        k + 1,
                        run.cpu,
                        run.wall,
                        run.rss_mb,
                        run.requests.values().sum::<usize>()
                    );
                    runs.push(run);
                }
                rows.push(Row {
                    binary: profile_of(binary),
                    paging,
                    n,
                    runs,
                });
            }
        }
    }
    print!("{}", report(&rows, &opts));
}

/// Serves a stack of `n` for 30 minutes (or until killed) and prints how to
/// run the tool against it, e.g. under `perf record`.
fn serve(fake: &Fake, endpoint: &str, dir: &Path, n: usize, paging: VolumePaging) {
    let shape = Shape::new(n);
    let yaml = dir.join(format!("bench-{n}.yaml"));
    std::fs::write(&yaml, shape.yaml()).expect("write the stack file");
    *fake.canned.lock().expect("fake lock") = Some(Arc::new(Canned::new(shape)));
    *fake.paging.lock().expect("fake lock") = paging;
    println!(
        "env -i PATH=\"$PATH\" AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=test \
         AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/nonexistent \
         AWS_SHARED_CREDENTIALS_FILE=/nonexistent NO_COLOR=1 {} plan {} --format json --detailed-exitcode",
        process::binary().display(),
        yaml.display()
    );
    std::thread::sleep(Duration::from_secs(30 * 60));
}

fn report(rows: &[Row], opts: &Options) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n`ec2-gitops plan --format json --detailed-exitcode` (empty plan) against the canned \
         EC2 of `benches/plan_cpu.rs`{}; median of {} runs. Ratio: tool CPU over the same \
         build's and paging's at the smallest N.\n",
        if opts.latency.is_zero() && opts.latency_per_instance.is_zero() {
            String::new()
        } else {
            format!(
                ", each answer delayed {} ms + {} µs per instance of the stack{}",
                opts.latency.as_millis(),
                opts.latency_per_instance.as_micros(),
                if opts.one_at_a_time {
                    ", one answer at a time"
                } else {
                    ""
                }
            )
        },
        opts.runs
    );
    let _ = writeln!(
        out,
        "| build | volume paging | N | requests | tool CPU s | ratio | peak RSS MB | wall s |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| (r.binary.clone(), r.paging == VolumePaging::Ec2, r.n));
    for r in &sorted {
        let base = sorted
            .iter()
            .filter(|b| b.binary == r.binary && b.paging == r.paging)
            .min_by_key(|b| b.n)
            .expect("the row itself");
        let cpu = r.median(|x| x.cpu);
        let ratio = cpu / base.median(|x| x.cpu);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.3} | {:.2}x{} | {:.1} | {:.3} |",
            r.binary,
            r.paging.label(),
            r.n,
            r.requests(),
            cpu,
            ratio,
            if base.n == r.n {
                String::new()
            } else {
                format!(" (N {:.0}x)", r.n as f64 / base.n as f64)
            },
            r.median(|x| x.rss_mb),
            r.median(|x| x.wall),
        );
    }
    let _ = writeln!(out, "\nRequests by action (first run):\n");
    for r in &sorted {
        let _ = writeln!(
            out,
            "- {} {} N = {}: {}",
            r.binary,
            r.paging.label(),
            r.n,
            r.by_action()
        );
    }
    out
}
