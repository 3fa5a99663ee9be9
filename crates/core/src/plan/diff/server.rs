//! What a server is given besides its image and type, changed in place
//! without a restart: its IAM instance profile and its metadata options.

use super::*;

/// The values a new instance is launched with for these settings.
pub(super) fn server_values(spec: &InstanceSpec) -> Vec<(Field, Value)> {
    let mut v = vec![
        (
            Field::InstanceProfile,
            Value::opt(spec.instance_profile.clone()),
        ),
        (
            Field::MetadataTokens,
            Value::Text(spec.metadata.tokens.as_str().into()),
        ),
    ];
    if let Some(h) = spec.metadata.hop_limit {
        v.push((Field::MetadataHopLimit, Value::Text(h.to_string())));
    }
    v
}

/// How the live instance's profile and metadata options differ from the
/// YAML. Options EC2 does not report are not compared; a hop limit the YAML
/// leaves out is EC2's to keep.
pub(super) fn server_fields(spec: &InstanceSpec, i: &LiveInstance) -> Vec<Option<FieldChange>> {
    let mut out = vec![field(
        Field::InstanceProfile,
        Value::opt(i.instance_profile.clone()),
        Value::opt(spec.instance_profile.clone()),
        Effect::InPlace,
        "EC2 associates an instance profile with a running instance",
    )];
    if let Some(m) = &i.metadata {
        out.push(field(
            Field::MetadataTokens,
            Value::Text(m.tokens.clone()),
            Value::Text(spec.metadata.tokens.as_str().into()),
            Effect::InPlace,
            "EC2 changes metadata options of a running instance",
        ));
        if let Some(h) = spec.metadata.hop_limit {
            out.push(field(
                Field::MetadataHopLimit,
                Value::opt(m.hop_limit.map(|h| h.to_string())),
                Value::Text(h.to_string()),
                Effect::InPlace,
                "EC2 changes metadata options of a running instance",
            ));
        }
    }
    out
}

/// Warnings for the replacements of instances that have what the format
/// cannot say: the new instance, launched from the YAML, will not have it.
pub(super) fn lost_on_replace(changes: &[Change], live: &Live) -> Vec<crate::plan::Warning> {
    changes
        .iter()
        .filter(|c| c.resource.kind == Kind::Instance && c.action == Action::Replace)
        .filter_map(|c| {
            let id = c.live_id.as_ref()?;
            let i = live.instances.iter().find(|i| &i.id == id)?;
            (!i.unexpressed.is_empty()).then(|| crate::plan::Warning {
                resource: c.resource.clone(),
                message: format!(
                    "{id} has what the YAML cannot say ({}): its replacement will not have it",
                    i.unexpressed.join(", ")
                ),
                at: None,
            })
        })
        .collect()
}

/// The name of an instance profile from its ARN
/// (`arn:aws:iam::123456789012:instance-profile/path/web` → `web`).
pub fn profile_name(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::profile_name;

    #[test]
    fn profile_names_are_the_last_part_of_the_arn() {
        assert_eq!(
            profile_name("arn:aws:iam::123456789012:instance-profile/web"),
            "web"
        );
        assert_eq!(
            profile_name("arn:aws:iam::123456789012:instance-profile/ops/web"),
            "web"
        );
        assert_eq!(profile_name("web"), "web");
    }
}
