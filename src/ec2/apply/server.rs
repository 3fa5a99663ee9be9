//! What a running server is given in place, without a restart: its IAM
//! instance profile (EC2 keeps one association per instance: it is made,
//! replaced or removed) and its metadata options.

use aws_sdk_ec2::types::{
    HttpTokensState, IamInstanceProfileAssociationState, IamInstanceProfileSpecification,
};

use super::*;
use crate::plan::diff::profile_name;

impl Run<'_> {
    /// Gives instance `id` the instance profile `profile` (`None`: none).
    /// Reads the association in place first, so that a rerun after a run
    /// that stopped in between finds it done.
    pub(super) async fn set_instance_profile(
        &self,
        id: &str,
        profile: Option<&str>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let out = ec2
            .call("DescribeIamInstanceProfileAssociations", false, || {
                c.describe_iam_instance_profile_associations()
                    .filters(filter("instance-id", [id]))
                    .send()
            })
            .await?;
        let current = out.iam_instance_profile_associations().iter().find(|a| {
            matches!(
                a.state(),
                Some(
                    IamInstanceProfileAssociationState::Associated
                        | IamInstanceProfileAssociationState::Associating
                )
            )
        });
        let current_name = current
            .and_then(|a| a.iam_instance_profile())
            .and_then(|p| p.arn())
            .map(profile_name);
        let spec = |name: &str| {
            IamInstanceProfileSpecification::builder()
                .name(name)
                .build()
        };
        match (current, profile) {
            (_, Some(name)) if current_name == Some(name) => {
                Ok(format!("instance profile {name} (already)"))
            }
            (None, None) => Ok("no instance profile (already)".into()),
            (Some(a), None) => {
                let association = a.association_id().unwrap_or_default().to_string();
                ec2.call("DisassociateIamInstanceProfile", false, || {
                    c.disassociate_iam_instance_profile()
                        .association_id(&association)
                        .send()
                })
                .await?;
                Ok("instance profile removed".into())
            }
            (None, Some(name)) => {
                ec2.call("AssociateIamInstanceProfile", true, || {
                    c.associate_iam_instance_profile()
                        .instance_id(id)
                        .iam_instance_profile(spec(name))
                        .send()
                })
                .await?;
                Ok(format!("instance profile {name}"))
            }
            (Some(a), Some(name)) => {
                let association = a.association_id().unwrap_or_default().to_string();
                ec2.call("ReplaceIamInstanceProfileAssociation", false, || {
                    c.replace_iam_instance_profile_association()
                        .association_id(&association)
                        .iam_instance_profile(spec(name))
                        .send()
                })
                .await?;
                Ok(format!("instance profile {name}"))
            }
        }
    }

    /// Sets instance `id`'s metadata options (a hop limit the YAML leaves
    /// out is not sent: EC2 keeps it).
    pub(super) async fn set_metadata(
        &self,
        id: &str,
        m: &model::Metadata,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        ec2.call("ModifyInstanceMetadataOptions", true, || {
            c.modify_instance_metadata_options()
                .instance_id(id)
                .http_tokens(HttpTokensState::from(m.tokens.as_str()))
                .set_http_put_response_hop_limit(m.hop_limit.map(i32::from))
                .send()
        })
        .await?;
        Ok(match m.hop_limit {
            Some(h) => format!("metadata tokens {}, hop limit {h}", m.tokens.as_str()),
            None => format!("metadata tokens {}", m.tokens.as_str()),
        })
    }
}

/// The metadata options a launch asks for.
pub(super) fn launch_metadata(
    m: &model::Metadata,
) -> aws_sdk_ec2::types::InstanceMetadataOptionsRequest {
    aws_sdk_ec2::types::InstanceMetadataOptionsRequest::builder()
        .http_tokens(HttpTokensState::from(m.tokens.as_str()))
        .set_http_put_response_hop_limit(m.hop_limit.map(i32::from))
        .build()
}

/// The instance profile a launch names.
pub(super) fn launch_profile(name: &str) -> IamInstanceProfileSpecification {
    IamInstanceProfileSpecification::builder()
        .name(name)
        .build()
}
