//! Encryption and performance of volumes as EC2 is asked for them: at
//! launch (the root volume's mapping), at creation (a data volume) and by
//! one `ModifyVolume` (size, type, IOPS, throughput).

use super::*;
use crate::plan::steps::Modify;

impl Run<'_> {
    /// Sends one `ModifyVolume`; says what it did.
    pub(super) async fn modify_volume(
        &self,
        volume_id: &str,
        m: &Modify,
    ) -> Result<String, Ec2Error> {
        let c = &self.ec2.client;
        self.ec2
            .call("ModifyVolume", true, || {
                c.modify_volume()
                    .volume_id(volume_id)
                    .size(m.size_gb)
                    .volume_type(VolumeType::from(m.volume_type.as_str()))
                    .set_iops(m.iops)
                    .set_throughput(m.throughput)
                    .send()
            })
            .await?;
        Ok(modified(m))
    }
}

/// `20 GiB gp3, 4000 IOPS, 250 MiB/s`.
fn modified(m: &Modify) -> String {
    let mut text = format!("{} GiB {}", m.size_gb, m.volume_type);
    if let Some(i) = m.iops {
        text.push_str(&format!(", {i} IOPS"));
    }
    if let Some(t) = m.throughput {
        text.push_str(&format!(", {t} MiB/s"));
    }
    text
}

/// The root volume's mapping at launch (deleted with the instance).
pub(super) fn root_mapping(device: &str, rv: &model::RootVolume) -> BlockDeviceMapping {
    BlockDeviceMapping::builder()
        .device_name(device)
        .ebs(
            EbsBlockDevice::builder()
                .volume_size(rv.size_gb)
                .volume_type(VolumeType::from(rv.volume_type.as_str()))
                .set_encrypted(rv.disk.wants_encryption())
                .set_kms_key_id(rv.disk.kms_key.clone())
                .set_iops(rv.disk.iops)
                .set_throughput(rv.disk.throughput)
                .delete_on_termination(true)
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_mapping_carries_encryption_iops_and_throughput() {
        let rv = model::RootVolume {
            size_gb: 20,
            volume_type: "gp3".into(),
            disk: model::Disk {
                encrypted: None,
                kms_key: Some("alias/ebs".into()),
                iops: Some(4000),
                throughput: Some(250),
            },
        };
        let m = root_mapping("/dev/xvda", &rv);
        assert_eq!(m.device_name(), Some("/dev/xvda"));
        let ebs = m.ebs().expect("an EBS mapping");
        assert_eq!(ebs.volume_size(), Some(20));
        assert_eq!(ebs.volume_type(), Some(&VolumeType::Gp3));
        assert_eq!(ebs.encrypted(), Some(true), "a key implies encryption");
        assert_eq!(ebs.kms_key_id(), Some("alias/ebs"));
        assert_eq!(ebs.iops(), Some(4000));
        assert_eq!(ebs.throughput(), Some(250));
        assert_eq!(ebs.delete_on_termination(), Some(true));
        let plain = root_mapping(
            "/dev/xvda",
            &model::RootVolume {
                disk: model::Disk::default(),
                ..rv
            },
        );
        let ebs = plain.ebs().expect("an EBS mapping");
        assert_eq!(
            (ebs.encrypted(), ebs.iops(), ebs.throughput()),
            (None, None, None),
            "what the YAML leaves out is EC2's"
        );
    }
}
