//! Images named by reference (an SSM parameter, a name pattern), resolved
//! from the region's facts before anything is planned: every instance then
//! carries the AMI id it resolved to, so the plan, its fingerprint, the
//! client tokens and the launches all name the id a reviewer saw.

use std::borrow::Cow;

use crate::model::{Desired, ImageRef, Region};

/// The references `desired` names, sorted, once.
pub fn refs(desired: &Desired) -> Vec<ImageRef> {
    let mut v: Vec<ImageRef> = desired
        .instances
        .values()
        .filter_map(|i| i.image_ref.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// `desired` with every image by reference set to the id `region` resolved
/// it to (left empty when it resolved to nothing: the plan says so).
pub fn resolved<'d>(desired: &'d Desired, region: &Region) -> Cow<'d, Desired> {
    if desired.instances.values().all(|i| i.image_ref.is_none()) {
        return Cow::Borrowed(desired);
    }
    let mut d = desired.clone();
    for spec in d.instances.values_mut() {
        if let Some(r) = &spec.image_ref {
            spec.image = region
                .image_refs
                .get(r)
                .cloned()
                .flatten()
                .unwrap_or_default();
        }
    }
    Cow::Owned(d)
}

/// How the plan shows an instance's image: the id, and the reference it
/// came from (`ami-0123… (ssm /aws/service/…)`).
pub fn shown(id: &str, r: Option<&ImageRef>) -> String {
    match r {
        Some(r) => format!("{id} ({r})"),
        None => id.to_string(),
    }
}
