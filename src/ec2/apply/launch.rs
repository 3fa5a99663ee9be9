//! Launching instances.

use super::*;

impl<'a> Run<'a> {
    pub(super) async fn run_instance(
        &self,
        step: &Step,
        launch: &Launch,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let groups: Vec<String> = launch
            .groups
            .iter()
            .map(|g| self.resolve(g))
            .collect::<Result<_, _>>()?;
        let instance_id = {
            {
                let user_data = launch
                    .user_data
                    .as_ref()
                    .map(|u| base64::engine::general_purpose::STANDARD.encode(u));
                let mut root_tags = model::identity_tags(
                    &self.stack,
                    &ResourceId::new(model::Kind::Volume, format!("{}/root", step.resource.name)),
                );
                if launch.protect {
                    root_tags.insert(model::PROTECT_TAG.into(), "true".into());
                }
                let out = ec2
                    .call("RunInstances", false, || {
                        let mut req = c
                            .run_instances()
                            .image_id(&launch.image)
                            .instance_type(InstanceType::from(launch.instance_type.as_str()))
                            .min_count(1)
                            .max_count(1)
                            .client_token(&launch.client_token)
                            .set_subnet_id(launch.subnet.clone())
                            .set_security_group_ids(Some(groups.clone()))
                            .set_key_name(launch.key_name.clone())
                            .set_user_data(user_data.clone())
                            .disable_api_termination(launch.protect)
                            .tag_specifications(tag_spec(ResourceType::Instance, &launch.tags))
                            .tag_specifications(tag_spec(ResourceType::Volume, &root_tags));
                        if let Some((device, rv)) = &launch.root_volume {
                            req = req.block_device_mappings(
                                BlockDeviceMapping::builder()
                                    .device_name(device)
                                    .ebs(
                                        EbsBlockDevice::builder()
                                            .volume_size(rv.size_gb)
                                            .volume_type(VolumeType::from(rv.volume_type.as_str()))
                                            .delete_on_termination(true)
                                            .build(),
                                    )
                                    .build(),
                            );
                        }
                        req.send()
                    })
                    .await?;
                let i = out.instances().first();
                if let (Some(id), Some(z)) = (
                    i.and_then(|i| i.instance_id()),
                    i.and_then(|i| i.placement())
                        .and_then(|p| p.availability_zone()),
                ) {
                    self.zones
                        .lock()
                        .expect("zones lock")
                        .insert(id.to_string(), z.to_string());
                }
                i.and_then(|i| i.instance_id())
                    .unwrap_or_default()
                    .to_string()
            }
        };
        self.record(&step.resource, &instance_id);
        // Not waited for here: every launch of the run is waited for at the
        // end with one poll, and dependants wait through `ensure_running`.
        Ok(format!("launched {instance_id} ({})", launch.instance_type))
    }
}
