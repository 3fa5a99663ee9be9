//! Images named by reference (an SSM parameter, a name pattern), resolved
//! from the region's facts before anything is planned: every instance then
//! carries the AMI id it resolved to, so the plan, its fingerprint, the
//! client tokens and the launches all name the id a reviewer saw.

use std::borrow::Cow;

use super::RegionQuery;
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

/// The ids the references of `desired` resolved to in `region`.
pub fn resolutions(desired: &Desired, region: &Region) -> Vec<(ImageRef, String)> {
    refs(desired)
        .into_iter()
        .filter_map(|r| {
            let id = region.image_refs.get(&r).cloned().flatten()?;
            Some((r, id))
        })
        .collect()
}

/// `query` for a plan that must resolve `pins` as a reviewed plan did:
/// the pinned ids are checked like ids the YAML names, and are not looked
/// up again.
pub fn pinned_query(mut query: RegionQuery, pins: &[(ImageRef, String)]) -> RegionQuery {
    for (r, id) in pins {
        query.image_refs.retain(|q| q != r);
        if !query.images.contains(id) {
            query.images.push(id.clone());
        }
    }
    query.images.sort();
    query
}

/// `region` with `pins` in place of what the references resolve to now.
pub fn pin(region: &mut Region, pins: &[(ImageRef, String)]) {
    for (r, id) in pins {
        region.image_refs.insert(r.clone(), Some(id.clone()));
    }
}

/// How the plan shows an instance's image: the id, and the reference it
/// came from (`ami-0123… (ssm /aws/service/…)`).
pub fn shown(id: &str, r: Option<&ImageRef>) -> String {
    match r {
        Some(r) => format!("{id} ({r})"),
        None => id.to_string(),
    }
}
