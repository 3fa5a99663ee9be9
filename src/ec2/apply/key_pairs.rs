//! Key pairs.

use super::*;

impl<'a> Run<'a> {
    /// Imports a public key; a key of that name owned by the stack (an interrupted run) is adopted, anyone else's refused.
    pub(super) async fn import_key_pair(
        &self,
        step: &Step,
        key_name: &str,
        public_key: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Ec2Error> {
        let ec2 = self.ec2;
        let c = &ec2.client;
        let res = ec2
            .call("ImportKeyPair", false, || {
                c.import_key_pair()
                    .key_name(key_name)
                    .public_key_material(Blob::new(public_key.as_bytes()))
                    .tag_specifications(tag_spec(ResourceType::KeyPair, tags))
                    .send()
            })
            .await;
        let id = match res {
            Ok(out) => out.key_pair_id().unwrap_or_default().to_string(),
            // A key of that name exists: ours from an interrupted run
            // (adopt it) or someone else's (refuse to touch it).
            Err(e) if e.code == "InvalidKeyPair.Duplicate" => {
                let out = ec2
                    .call(Call::unfiltered("DescribeKeyPairs"), false, || {
                        c.describe_key_pairs().key_names(key_name).send()
                    })
                    .await?;
                let k = out.key_pairs().first();
                let owned = k.is_some_and(|k| {
                    k.tags().iter().any(|t| {
                        t.key() == Some(model::STACK_TAG) && t.value() == Some(&self.stack)
                    })
                });
                if !owned {
                    return Err(Ec2Error {
                        message: format!(
                            "a key pair named {key_name} exists and is not owned by stack {}; rename the key pair in the YAML or import it",
                            self.stack
                        ),
                        ..e
                    });
                }
                k.and_then(|k| k.key_pair_id())
                    .unwrap_or_default()
                    .to_string()
            }
            Err(e) => return Err(e),
        };
        self.record(&step.resource, &id);
        Ok(format!("imported key pair {key_name} ({id})"))
    }

    /// Deletes a key pair (by name: EC2 takes either).
    pub(super) async fn delete_key_pair(
        &self,
        key_pair_id: &str,
        key_name: &str,
    ) -> Result<String, Ec2Error> {
        let c = &self.ec2.client;
        self.ec2
            .call("DeleteKeyPair", false, || {
                c.delete_key_pair().key_name(key_name).send()
            })
            .await?;
        Ok(format!("deleted key pair {key_pair_id}"))
    }
}
