//! What a volume (root or data) says of its encryption and performance:
//! `encrypted`, `kms_key`, `iops`, `throughput`, checked against its type.

use super::decode::{Ctx, Entries};
use super::fields;
use crate::model::Disk;

/// IOPS a type takes (EBS), or `None` when it takes none.
fn iops_range(volume_type: &str) -> Option<(i64, i64)> {
    match volume_type {
        "gp3" => Some((3_000, 80_000)),
        "io1" => Some((100, 64_000)),
        "io2" => Some((100, 256_000)),
        _ => None,
    }
}

/// Throughput in MiB/s gp3 takes (the only type that takes it).
const GP3_THROUGHPUT: (i64, i64) = (125, 2_000);

/// The disk settings of a volume map `e` of type `volume_type`; `None` when
/// one of them is invalid.
pub fn disk(ctx: &mut Ctx, e: &Entries, volume_type: Option<&str>) -> Option<Disk> {
    let mut d = Disk::default();
    let mut ok = true;
    if let Some(v) = e.value("encrypted") {
        match ctx.bool(v) {
            Some(b) => d.encrypted = Some(b),
            None => ok = false,
        }
    }
    if let Some(v) = e.value("kms_key") {
        match ctx.pattern(v, &fields::KMS_KEY) {
            Some(k) if d.encrypted == Some(false) => {
                ctx.error(
                    v,
                    format!("`kms_key: {k}` on a volume with `encrypted: false`"),
                    Some("a KMS key encrypts the volume: remove `encrypted: false`".into()),
                );
                ok = false;
            }
            Some(k) => d.kms_key = Some(k),
            None => ok = false,
        }
    }
    if let Some(v) = e.value("iops") {
        match volume_type.map(|t| (t, iops_range(t))) {
            Some((t, Some(range))) => match ctx.int(
                v,
                range,
                "`iops`",
                &format!("{t} volumes take {} to {} IOPS", range.0, range.1),
            ) {
                Some(i) => d.iops = Some(i as i32),
                None => ok = false,
            },
            Some((t, None)) => {
                ctx.error(
                    v,
                    format!("{t} volumes take no `iops`"),
                    Some("provisioned IOPS are for gp3, io1 and io2 volumes: change `type`, or remove `iops`".into()),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    if let Some(v) = e.value("throughput") {
        match volume_type {
            Some("gp3") => match ctx.int(
                v,
                GP3_THROUGHPUT,
                "`throughput`",
                "gp3 volumes take 125 to 2000 MiB/s",
            ) {
                Some(t) => d.throughput = Some(t as i32),
                None => ok = false,
            },
            Some(t) => {
                ctx.error(
                    v,
                    format!("{t} volumes take no `throughput`"),
                    Some("throughput is set on gp3 volumes only: change `type` to gp3, or remove `throughput`".into()),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    if let (Some(t @ ("io1" | "io2")), None, true) = (volume_type, d.iops, ok) {
        let at = e.value("type").or(e.value("size_gb"));
        if let Some(at) = at {
            ctx.error(
                at,
                format!("{t} volumes need `iops`"),
                Some(
                    "provisioned-IOPS volumes are made with their IOPS: add e.g. `iops: 3000`, or use gp3 (3000 IOPS included)"
                        .to_string(),
                ),
            );
            ok = false;
        }
    }
    ok.then_some(d)
}

#[cfg(test)]
mod tests {
    use crate::config::parse_stack;
    use crate::config::tests::READ;
    use crate::model::Disk;
    use crate::render::diagnostics;

    fn stack(web: &str) -> String {
        format!(
            "version: 1\nstack: s\nregion: us-east-1\ninstances:\n  web:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n{web}"
        )
    }

    #[test]
    fn disks_decode_on_root_and_data_volumes() {
        let yaml = stack(
            "    root_volume: { size_gb: 20, encrypted: true, iops: 4000, throughput: 250 }\n    volumes:\n      - { name: data, device: /dev/sdf, size_gb: 100, type: io2, iops: 10000, kms_key: alias/ebs-web }\n",
        );
        let d = parse_stack(&yaml, "s.yaml", &READ)
            .unwrap_or_else(|e| panic!("{}", diagnostics::text(&e)));
        let root = d.instances["web"].root_volume.as_ref().unwrap();
        assert_eq!(
            root.disk,
            Disk {
                encrypted: Some(true),
                kms_key: None,
                iops: Some(4000),
                throughput: Some(250),
            }
        );
        let data = &d.volumes["web/data"].disk;
        assert_eq!(data.kms_key.as_deref(), Some("alias/ebs-web"));
        assert_eq!(data.wants_encryption(), Some(true));
        assert_eq!(data.iops, Some(10000));
    }

    #[test]
    fn what_a_volume_type_cannot_take_is_an_error_at_its_key() {
        let yaml = stack(
            "    root_volume: { size_gb: 200, type: st1, iops: 3000 }\n    volumes:\n      - { name: a, device: /dev/sdf, size_gb: 100, type: io1 }\n      - { name: b, device: /dev/sdg, size_gb: 100, type: io2, iops: 500, throughput: 200 }\n      - { name: c, device: /dev/sdh, size_gb: 100, iops: 100, encrypted: false, kms_key: \"arn:aws:kms:us-east-1:12345:key/x\" }\n      - { name: d, device: /dev/sdi, size_gb: 100, encrypted: false, kms_key: alias/ebs }\n",
        );
        let text = match parse_stack(&yaml, "s.yaml", &READ) {
            Ok(d) => panic!("should not be valid: {d:#?}"),
            Err(e) => diagnostics::text(&e),
        };
        insta::assert_snapshot!(text);
    }
}
