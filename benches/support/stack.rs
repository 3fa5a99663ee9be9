//! The benchmark stack the plan benchmarks share (`benches/plan.rs` against
//! moto, `benches/plan_cpu.rs` against a canned EC2): its names, its shape
//! for N instances and the YAML that describes it exactly.

#![allow(dead_code)] // each benchmark uses a different part

use std::fmt::Write as _;

pub const STACK: &str = "bench";
pub const REGION: &str = "us-east-1";
/// An AMI moto 5.2 knows in us-east-1 (as in the web-hosting example).
pub const IMAGE: &str = "ami-0e1e769742d1cfb49";
pub const INSTANCE_TYPE: &str = "t3.micro";
pub const KEY_PAIR: &str = "deploy";
pub const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHlth9viP3YlUZf/E7QM/+JJDrOV9IwGcBVJdVWOJsk bench@example.com";
pub const GROUP: &str = "web";
pub const GROUP_DESCRIPTION: &str = "Public HTTP and HTTPS";
/// One instance in this many has a data volume.
pub const VOLUME_EVERY: usize = 10;
pub const VOLUME_DEVICE: &str = "/dev/sdf";
pub const VOLUME_SIZE_GB: i32 = 10;
/// Elastic IPs of the stack (on the first web instances).
pub const ELASTIC_IPS: usize = 3;
/// The config's limit on `count`: larger stacks use several instance entries.
pub const MAX_COUNT: usize = 1000;
/// The target group every `web` server serves in, and the load balancer
/// in front of it (HTTP, in two zones).
pub const TARGET_GROUP: &str = "web";
pub const BALANCER: &str = "front";
pub const BALANCER_ZONES: [&str; 2] = ["us-east-1a", "us-east-1b"];

/// The shape of a benchmark stack of `n` instances.
pub struct Shape {
    /// Instance entries of the YAML: (name, count, has a data volume).
    pub entries: Vec<(String, usize, bool)>,
    /// Instance names after `count` expansion, with their data-volume flag.
    pub instances: Vec<(String, bool)>,
    /// Elastic IP name → index of its instance.
    pub addresses: Vec<(String, usize)>,
    /// Whether the `web` servers sit behind a load balancer (target group
    /// `web`, load balancer `front`).
    pub balancer: bool,
}

impl Shape {
    pub fn new(n: usize) -> Shape {
        let with_volume = n / VOLUME_EVERY;
        let without = n - with_volume;
        let mut entries = Vec::new();
        for (base, total, volume) in [("web", without, false), ("db", with_volume, true)] {
            let mut left = total;
            let mut part = 1;
            while left > 0 {
                let count = left.min(MAX_COUNT);
                let name = if part == 1 {
                    base.to_string()
                } else {
                    format!("{base}{part}")
                };
                entries.push((name, count, volume));
                left -= count;
                part += 1;
            }
        }
        let instances: Vec<(String, bool)> = entries
            .iter()
            .flat_map(|(name, count, volume)| {
                let names: Vec<String> = if *count <= 1 {
                    vec![name.clone()]
                } else {
                    (1..=*count).map(|i| format!("{name}-{i}")).collect()
                };
                names.into_iter().map(move |n| (n, *volume))
            })
            .collect();
        let addresses = instances
            .iter()
            .enumerate()
            .filter(|(_, (_, volume))| !volume)
            .take(ELASTIC_IPS)
            .enumerate()
            .map(|(k, (i, _))| (format!("ip-{}", k + 1), i))
            .collect();
        Shape {
            entries,
            instances,
            addresses,
            balancer: false,
        }
    }

    pub fn yaml(&self) -> String {
        let mut y = format!(
            "version: 1\nstack: {STACK}\nregion: {REGION}\n\n\
             defaults:\n  image: {IMAGE}\n  type: {INSTANCE_TYPE}\n  key_pair: {KEY_PAIR}\n  \
             security_groups: [{GROUP}]\n\n\
             key_pairs:\n  {KEY_PAIR}:\n    public_key: {PUBLIC_KEY}\n\n\
             security_groups:\n  {GROUP}:\n    description: {GROUP_DESCRIPTION}\n    ingress:\n      \
             - {{ protocol: tcp, ports: 80, cidr: 0.0.0.0/0 }}\n      \
             - {{ protocol: tcp, ports: 443, cidr: [0.0.0.0/0, \"::/0\"] }}\n\n\
             instances:\n"
        );
        for (name, count, volume) in &self.entries {
            let _ = writeln!(y, "  {name}:\n    count: {count}");
            if self.balancer && !*volume {
                let _ = writeln!(y, "    target_groups: [{TARGET_GROUP}]");
            }
            if *volume {
                let _ = writeln!(
                    y,
                    "    volumes:\n      - {{ name: data, device: {VOLUME_DEVICE}, size_gb: {VOLUME_SIZE_GB}, type: gp3 }}"
                );
            }
        }
        if !self.addresses.is_empty() {
            y.push_str("\nelastic_ips:\n");
            for (ip, instance) in &self.addresses {
                let _ = writeln!(y, "  {ip}: {{ instance: {} }}", self.instances[*instance].0);
            }
        }
        if !self.balancer {
            return y;
        }
        let _ = write!(
            y,
            "\ntarget_groups:\n  {TARGET_GROUP}: {{ port: 80 }}\n\n\
             load_balancers:\n  {BALANCER}:\n    subnets: [{{ zone: {} }}, {{ zone: {} }}]\n    \
             security_groups: [{GROUP}]\n    listeners:\n      - {{ port: 80, forward: {TARGET_GROUP} }}\n",
            BALANCER_ZONES[0], BALANCER_ZONES[1]
        );
        y
    }

    /// The servers of the target group (every one without a data volume).
    pub fn served(&self) -> impl Iterator<Item = &str> {
        self.instances
            .iter()
            .filter(|(_, v)| !*v)
            .map(|(n, _)| n.as_str())
    }

    /// Data volumes (one instance in VOLUME_EVERY).
    pub fn data_volumes(&self) -> usize {
        self.instances.iter().filter(|(_, v)| *v).count()
    }
}
