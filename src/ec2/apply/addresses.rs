//! Elastic IPs: allocated (looked up by tag after a doubtful failure,
//! since AllocateAddress takes no client token), associated, released.

use super::*;

impl<'a> Run<'a> {
    /// Disassociates an address (when associated) and releases it.
    pub(super) async fn release_address(
        &self,
        allocation_id: &str,
        association_id: &Option<String>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        if let Some(assoc) = association_id {
            match ec2
                .call("DisassociateAddress", false, || {
                    c.disassociate_address().association_id(assoc).send()
                })
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        ec2.call("ReleaseAddress", false, || {
            c.release_address().allocation_id(allocation_id).send()
        })
        .await?;
        Ok(format!("released {allocation_id}"))
    }

    /// AllocateAddress takes no client token, so a call whose answer was
    /// lost must not simply be sent again (that makes a second address): it
    /// is resent only when EC2 throttled it (EC2 did not run it); after a
    /// failure that may have allocated, the address is looked up by its tags
    /// (set at allocation) first.
    pub(super) async fn allocate(
        &self,
        id: &ResourceId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(String, String), Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let mut delay = Duration::from_millis(500);
        for attempt in 1.. {
            let sent = ec2
                .call_once("AllocateAddress", || {
                    c.allocate_address()
                        .domain(DomainType::Vpc)
                        .tag_specifications(tag_spec(ResourceType::ElasticIp, tags))
                        .send()
                })
                .await;
            let err = match sent {
                Ok(out) => {
                    return Ok((
                        out.allocation_id().unwrap_or_default().to_string(),
                        out.public_ip().unwrap_or_default().to_string(),
                    ));
                }
                Err(e) if e.is_transient() && attempt < 8 => e,
                Err(e) => return Err(e),
            };
            tracing::warn!(error = %err, attempt, "AllocateAddress failed; looking for an address it may have made");
            // Tags are set with the allocation: if it happened, the address
            // shows up under them (given a moment to propagate).
            for _ in 0..3 {
                tokio::time::sleep(delay).await;
                if let Some(found) = self.find_tagged_address(id).await? {
                    return Ok(found);
                }
            }
            delay = (delay * 2).min(Duration::from_secs(8));
        }
        unreachable!("the loop returns")
    }

    pub(super) async fn associate(
        &self,
        allocation_id: &str,
        instance_id: &str,
    ) -> Result<(), Ec2Error> {
        self.ensure_running(instance_id).await?;
        self.ec2
            .call("AssociateAddress", true, || {
                self.ec2
                    .client
                    .associate_address()
                    .allocation_id(allocation_id)
                    .instance_id(instance_id)
                    .allow_reassociation(true)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// An elastic IP of the stack with this name: (allocation id, address).
    pub(super) async fn find_tagged_address(
        &self,
        id: &ResourceId,
    ) -> Result<Option<(String, String)>, Ec2Error> {
        let out = self
            .ec2
            .call("DescribeAddresses", false, || {
                self.ec2
                    .client
                    .describe_addresses()
                    .set_filters(Some(self.identity_filters(id).to_vec()))
                    .send()
            })
            .await?;
        Ok(out.addresses().first().map(|a| {
            (
                a.allocation_id().unwrap_or_default().to_string(),
                a.public_ip().unwrap_or_default().to_string(),
            )
        }))
    }

    /// An `AllocateAddress` step. One an interrupted run allocated is in the
    /// plan's read (it is tagged as it is made): the plan associates it
    /// instead.
    pub(super) async fn allocate_step(
        &self,
        step: &Step,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<String, Ec2Error> {
        let (allocation_id, ip) = self.allocate(&step.resource, tags).await?;
        self.record(&step.resource, &allocation_id);
        Ok(format!("allocated {ip} ({allocation_id})"))
    }

    /// An `AssociateAddress` step, its ids resolved (either may have been
    /// made by this run).
    pub(super) async fn associate_step(
        &self,
        allocation: &Ref,
        instance: &Ref,
    ) -> Result<String, Ec2Error> {
        let allocation_id = self.resolve(allocation)?;
        let instance_id = self.resolve(instance)?;
        self.associate(&allocation_id, &instance_id).await?;
        Ok(format!("associated {allocation_id} with {instance_id}"))
    }
}
