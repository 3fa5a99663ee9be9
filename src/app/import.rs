//! The import use-case: read untagged resources, describe them as a stack,
//! prove the description exact, and adopt them by tagging.

use anyhow::{Result, bail};

use crate::config;
use crate::ec2::Ec2;
use crate::import::{Adoption, BalancerRef, Filter};
use crate::model::Desired;
use crate::plan::{self, Plan};

/// A stack written from what EC2 holds, before anything is tagged.
#[derive(Debug)]
pub struct Prepared {
    /// The stack file.
    pub yaml: String,
    /// The stack the file describes.
    pub desired: Desired,
    /// The file planned against the resources as they will be once tagged:
    /// empty when the file describes them exactly.
    pub plan: Plan,
    /// The tags to add.
    pub adoptions: Vec<Adoption>,
    /// Per instance, what it has that the format cannot say.
    pub unexpressed: Vec<(String, Vec<String>)>,
}

impl Prepared {
    /// Adopting changes nothing but tags.
    pub fn is_exact(&self) -> bool {
        self.plan.is_empty() && self.plan.errors.is_empty()
    }
}

/// Reads the instances matching `filters` that no stack owns (and what they
/// use, and the load balancers `balancers` names with their target groups), writes the stack `stack` in `region` (the one `ec2` reads) for them (`file` is the name diagnostics
/// use) and plans it against the resources as they will be once tagged.
/// Refuses a stack name that already owns resources.
pub async fn prepare(
    ec2: &Ec2,
    stack: &str,
    region: &str,
    filters: &[Filter],
    balancers: &[BalancerRef],
    file: &str,
) -> Result<Prepared> {
    let existing = ec2.read_live(stack, None).await?;
    if !existing.instances.is_empty()
        || !existing.security_groups.is_empty()
        || !existing.key_pairs.is_empty()
        || !existing.volumes.is_empty()
        || !existing.addresses.is_empty()
        || !existing.target_groups.is_empty()
        || !existing.load_balancers.is_empty()
    {
        bail!("stack {stack} already owns resources in {region}: import into a new stack name");
    }
    let found = ec2.read_for_import(filters, balancers).await?;
    if found.instances.is_empty() {
        bail!("no instance matches the filters (instances already owned by a stack are left out)");
    }
    let imported = crate::import::build(stack, region, &found)?;
    let refuse = |_: &str| Err("import writes no files".into());
    let readers = config::Readers {
        user_data: &refuse,
        base: &refuse,
    };
    let desired = config::parse_stack(&imported.yaml, file, &readers).map_err(|d| {
        anyhow::anyhow!(
            "the imported YAML does not validate (a bug; please report it):\n{}\n{}",
            crate::render::diagnostics::text(&d),
            imported.yaml
        )
    })?;
    // What the import found must exist; nothing else of the region is asked.
    let query = plan::RegionQuery {
        images: desired
            .instances
            .values()
            .map(|i| i.image.clone())
            .collect(),
        subnets: (desired.instances.values())
            .filter_map(|i| i.subnet.clone())
            .chain(plan::RegionQuery::of(&desired).subnets)
            .collect(),
        zones: vec![],
        image_refs: vec![],
        types: vec![],
        addresses: false,
        // Rules may name what the import did not take (a group outside it,
        // a prefix list): those must exist too.
        outside_groups: plan::RegionQuery::of(&desired).outside_groups,
        prefix_lists: plan::RegionQuery::of(&desired).prefix_lists,
    };
    let region_facts = ec2.read_region(&query).await?;
    let plan = plan::compute(&plan::Inputs {
        desired: &desired,
        live: &imported.live,
        region: &region_facts,
    });
    Ok(Prepared {
        yaml: imported.yaml,
        desired,
        plan,
        adoptions: imported.adoptions,
        unexpressed: imported.unexpressed,
    })
}

/// Tags the resources of an exact import and plans the stack again: the
/// number adopted, and that plan (empty unless EC2 changed meanwhile).
pub async fn adopt(ec2: &Ec2, prepared: &Prepared) -> Result<(usize, Plan)> {
    if !prepared.is_exact() {
        bail!("the imported YAML does not describe the resources exactly: nothing was tagged");
    }
    let n = ec2.adopt(&prepared.adoptions).await?;
    let (after, _, _) = super::plan(ec2, &prepared.desired).await?;
    Ok((n, after))
}
