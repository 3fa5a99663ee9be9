//! Encryption and performance of volumes, root and data: IOPS and
//! throughput change in place (one modification per volume every six hours,
//! read from EC2); encryption and its key cannot change on a volume that
//! exists, so the plan refuses such a change instead of losing data.

use super::*;
use crate::model::{Disk, LiveVolume};

/// EBS takes one modification of a volume every six hours.
pub const COOLDOWN_SECS: u64 = 6 * 3_600;

/// The fields of a disk named by `prefix` (`root_volume.` or nothing).
struct Names {
    encrypted: Field,
    kms_key: Field,
    iops: Field,
    throughput: Field,
}

fn names(root: bool) -> Names {
    if root {
        Names {
            encrypted: Field::RootVolumeEncrypted,
            kms_key: Field::RootVolumeKmsKey,
            iops: Field::RootVolumeIops,
            throughput: Field::RootVolumeThroughput,
        }
    } else {
        Names {
            encrypted: Field::Encrypted,
            kms_key: Field::KmsKey,
            iops: Field::Iops,
            throughput: Field::Throughput,
        }
    }
}

/// What a new volume is made with, as the plan lists it.
pub(super) fn disk_values(d: &Disk, root: bool) -> Vec<(Field, Value)> {
    let n = names(root);
    let text = |v: Option<String>| Value::opt(v);
    vec![
        (
            n.encrypted,
            text(d.wants_encryption().map(|e| e.to_string())),
        ),
        (n.kms_key, text(d.kms_key.clone())),
        (n.iops, text(d.iops.map(|i| i.to_string()))),
        (n.throughput, text(d.throughput.map(|t| t.to_string()))),
    ]
    .into_iter()
    .filter(|(_, v)| *v != Value::None)
    .collect()
}

/// How live volume `v` differs from `d` in place (IOPS, throughput: only
/// what the YAML writes), and why it cannot become what `d` says
/// (encryption, its key).
pub(super) fn disk_fields(d: &Disk, v: &LiveVolume, root: bool) -> (Vec<FieldChange>, Vec<String>) {
    let n = names(root);
    let mut errors = Vec::new();
    if let Some(want) = d.wants_encryption()
        && want != v.encrypted
    {
        errors.push(format!(
            "{} {} is {}encrypted; EBS sets encryption only when a volume is made",
            if root { "the root volume" } else { "volume" },
            v.id,
            if v.encrypted { "" } else { "not " }
        ));
    } else if let (Some(want), Some(live)) = (&d.kms_key, &v.kms_key)
        && !same_key(want, live)
    {
        errors.push(format!(
            "{} {} is encrypted with {live}; EBS cannot change a volume's key",
            if root { "the root volume" } else { "volume" },
            v.id
        ));
    }
    let changes = [
        d.iops.and_then(|want| {
            field(
                n.iops,
                Value::opt(v.iops.map(|i| i.to_string())),
                Value::Text(want.to_string()),
                Effect::InPlace,
                "EBS changes provisioned IOPS in place",
            )
        }),
        d.throughput.and_then(|want| {
            field(
                n.throughput,
                Value::opt(v.throughput.map(|t| t.to_string())),
                Value::Text(want.to_string()),
                Effect::InPlace,
                "EBS changes throughput in place",
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    (changes, errors)
}

/// Whether the YAML's key names the live key's ARN: the same ARN, or its
/// key id. An alias cannot be told apart without asking KMS: it is taken
/// as the same.
fn same_key(want: &str, live_arn: &str) -> bool {
    if want.starts_with("alias/") || want.contains(":alias/") {
        return true;
    }
    want == live_arn || live_arn.ends_with(&format!("key/{want}"))
}

/// What to do instead of changing a volume's encryption.
pub const ENCRYPTION_HINT: &str = "to encrypt (or re-key) the data: snapshot the volume, copy the snapshot with the encryption you want (aws ec2 copy-snapshot --encrypted --kms-key-id …), make a volume from the copy and swap it in; or write back what the volume has to keep it as it is";

/// Why volume `id` cannot be modified now, given EC2's record of its last
/// modification read at `now` (Unix seconds).
pub(super) fn cooldown(
    id: &str,
    last: Option<&model::VolumeModification>,
    now: u64,
) -> Option<(String, String)> {
    let last = last?;
    if matches!(last.state.as_str(), "modifying" | "optimizing") {
        return Some((
            format!(
                "volume {id} is still being modified ({}) since {}; EBS takes one modification at a time",
                last.state,
                utc(last.started)
            ),
            "plan again once it is completed (aws ec2 describe-volumes-modifications)".into(),
        ));
    }
    let next = last.started + COOLDOWN_SECS;
    (next > now).then(|| {
        (
            format!(
                "volume {id} was modified at {}; EBS takes one modification of a volume every 6 hours",
                utc(last.started)
            ),
            format!("apply after {}, or leave this volume as it is until then", utc(next)),
        )
    })
}

/// `2026-12-07 13:05 UTC`.
fn utc(secs: u64) -> String {
    let minutes = secs % 86_400 / 60;
    format!(
        "{} {:02}:{:02} UTC",
        model::utc_date(secs),
        minutes / 60,
        minutes % 60
    )
}

impl Planner<'_> {
    /// Why live volume `v` cannot take the in-place `fields` now: EBS's
    /// six hours between two modifications of a volume, as EC2 reported
    /// its last one (read only when the plan modifies a volume).
    pub(super) fn cooldown_error(
        &self,
        v: &model::LiveVolume,
        fields: &[FieldChange],
    ) -> Option<(String, String)> {
        let modifies = fields.iter().any(|f| MODIFIES.contains(&f.field));
        let (now, known) = self.inputs.region.volume_modifications.as_ref()?;
        modifies
            .then(|| cooldown(&v.id, known.get(&v.id), *now))
            .flatten()
    }
}

/// The fields one `ModifyVolume` changes.
pub const MODIFIES: [Field; 8] = [
    Field::Type,
    Field::SizeGb,
    Field::Iops,
    Field::Throughput,
    Field::RootVolumeType,
    Field::RootVolumeSizeGb,
    Field::RootVolumeIops,
    Field::RootVolumeThroughput,
];

/// The live volumes `plan` would modify (`ModifyVolume`): what EC2's record
/// of their last modification is read for, before the plan is made again.
pub fn modified_volumes(plan: &Plan, live: &model::Live) -> Vec<String> {
    let mut out: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| {
            c.action != Action::Replace && c.fields.iter().any(|f| MODIFIES.contains(&f.field))
        })
        .filter_map(|c| {
            let id = c.live_id.as_ref()?;
            match c.resource.kind {
                Kind::Volume => Some(id.clone()),
                Kind::Instance => {
                    let i = live.instances.iter().find(|i| &i.id == id)?;
                    i.block_devices.get(i.root_device.as_ref()?).cloned()
                }
                _ => None,
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_the_same_by_arn_or_id_and_an_alias_is_not_told_apart() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(same_key(arn, arn));
        assert!(same_key("1234abcd-12ab-34cd-56ef-1234567890ab", arn));
        assert!(same_key("alias/ebs", arn));
        assert!(!same_key("99999999-12ab-34cd-56ef-1234567890ab", arn));
    }

    #[test]
    fn a_volume_modified_less_than_six_hours_ago_waits() {
        let m = |state: &str, started: u64| model::VolumeModification {
            state: state.into(),
            started,
        };
        let t = 1_796_083_200; // 2026-12-01 00:00 UTC
        assert_eq!(cooldown("vol-1", None, t), None);
        assert_eq!(
            cooldown("vol-1", Some(&m("completed", t - COOLDOWN_SECS)), t),
            None
        );
        let (message, hint) = cooldown("vol-1", Some(&m("completed", t - 3_600)), t).unwrap();
        assert_eq!(
            message,
            "volume vol-1 was modified at 2026-11-30 23:00 UTC; EBS takes one modification of a volume every 6 hours"
        );
        assert_eq!(
            hint,
            "apply after 2026-12-01 05:00 UTC, or leave this volume as it is until then"
        );
        let (message, _) = cooldown("vol-1", Some(&m("optimizing", t - 8 * 3_600)), t).unwrap();
        assert!(
            message.contains("still being modified (optimizing)"),
            "{message}"
        );
    }
}
