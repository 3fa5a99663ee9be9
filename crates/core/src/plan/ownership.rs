//! Live resources whose tags claim a place in the stack that they cannot
//! have: no valid `ec2-gitops:name` tag (the stack does not own them, so
//! the plan never touches them), or a name another live resource of the
//! stack has too. Either way someone tagged them, and the reviewer is told.

use std::collections::BTreeMap;

use super::Warning;
use super::launch_tag::LaunchTag;
use crate::model::{Kind, Live, NAME_TAG, NameTagProblem, ResourceId, STACK_TAG};

/// `an instance`, `a security group`.
fn kind_words(kind: Kind) -> String {
    let words = kind.as_str().replace('_', " ");
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {words}")
}

/// One warning per unclaimed resource of `live`, in id order.
pub fn unclaimed_warnings(stack: &str, live: &Live) -> Vec<Warning> {
    live.unclaimed
        .iter()
        .map(|u| {
            let problem = match u.problem {
                NameTagProblem::Missing => "has no `ec2-gitops:name` tag".to_string(),
                NameTagProblem::Empty => "its `ec2-gitops:name` tag is empty".to_string(),
                NameTagProblem::NotKindAndName => {
                    "its `ec2-gitops:name` tag is not `<kind>/<name>` with a kind ec2-gitops knows"
                        .to_string()
                }
                NameTagProblem::OtherKind(k) => format!(
                    "its `ec2-gitops:name` tag names {}, and it is {}",
                    kind_words(k),
                    kind_words(u.kind)
                ),
                NameTagProblem::InvalidName => {
                    "its `ec2-gitops:name` tag holds a name that breaks the name rules (lowercase letters, digits and `-`, at most 63 characters)".to_string()
                }
                NameTagProblem::OfAPreview => {
                    "it also carries `ec2-gitops:preview`, the tag of another stack's preview (whoever holds the preview role can tag its resources so)"
                        .to_string()
                }
                NameTagProblem::ControlCharacters => {
                    "its `ec2-gitops:name` tag holds control, invisible or text-direction characters"
                        .to_string()
                }
            };
            Warning {
                resource: ResourceId::new(u.kind, &u.id),
                message: match u.problem {
                    NameTagProblem::OfAPreview => format!(
                        "{} carries `{STACK_TAG}={stack}` but {problem}: it is not managed and will not be touched; remove the tag that is wrong",
                        u.id
                    ),
                    _ => format!(
                        "{} carries `{STACK_TAG}={stack}` but {problem}: it is not managed and will not be touched; tag it `ec2-gitops:name={}/<name>` or remove the stack tag",
                        u.id, u.kind
                    ),
                },
                at: None,
            }
        })
        .collect()
}

/// One warning per instance a batch launch made and nobody named: the
/// reviewer sees that it exists, and that only the apply of its batch (the
/// same plan, run again) adopts it.
pub fn launched_warnings(stack: &str, live: &Live) -> Vec<Warning> {
    live.launched
        .iter()
        .map(|l| {
            let name = LaunchTag::parse(&l.launch).and_then(|t| t.name_at(l.index));
            let what = match &name {
                Some(n) => format!("an apply launched it for `{n}`"),
                None => "an apply launched it".to_string(),
            };
            let tag_it = name.as_deref().unwrap_or("<name>");
            Warning {
                resource: ResourceId::new(Kind::Instance, &l.id),
                message: format!(
                    "{} carries `{STACK_TAG}={stack}` and a launch tag but no name: {what} and stopped before naming it. Applying the same change again names it instead of launching another; after any other change it is not managed and will not be touched: terminate it, or tag it `{NAME_TAG}=instance/{tag_it}`",
                    l.id
                ),
                at: None,
            }
        })
        .collect()
}

/// One warning per name that several live resources of one kind carry:
/// the plan keeps one of them and destroys the others as duplicates (what
/// an interrupted replace leaves), which is right only if ec2-gitops made
/// them all.
pub fn duplicate_warnings(live: &Live) -> Vec<Warning> {
    fn claim<'a>(kind: Kind, name: &str, id: &'a str) -> (ResourceId, &'a str) {
        (ResourceId::new(kind, name), id)
    }
    let all = (live.key_pairs.iter())
        .map(|k| claim(Kind::KeyPair, &k.name, &k.id))
        .chain((live.security_groups.iter()).map(|g| claim(Kind::SecurityGroup, &g.name, &g.id)))
        .chain((live.instances.iter()).map(|i| claim(Kind::Instance, &i.name, &i.id)))
        .chain((live.volumes.iter()).map(|v| claim(Kind::Volume, &v.name, &v.id)))
        .chain((live.addresses.iter()).map(|a| claim(Kind::ElasticIp, &a.name, &a.allocation_id)))
        .chain((live.target_groups.iter()).map(|g| claim(Kind::TargetGroup, &g.name, &g.arn)))
        .chain((live.load_balancers.iter()).map(|b| claim(Kind::LoadBalancer, &b.name, &b.arn)));
    let mut claims: BTreeMap<ResourceId, Vec<&str>> = BTreeMap::new();
    for (resource, id) in all {
        claims.entry(resource).or_default().push(id);
    }
    claims
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(resource, mut ids)| {
            ids.sort_unstable();
            let message = format!(
                "{} all carry `{NAME_TAG}={}`: the plan keeps one and destroys the others as duplicates; if one was not made by ec2-gitops, remove its `{STACK_TAG}` tag before applying",
                ids.join(", "),
                resource.tag_value()
            );
            Warning {
                resource,
                message,
                at: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unclaimed;

    #[test]
    fn each_unclaimed_resource_is_one_warning_naming_its_id() {
        let live = Live {
            unclaimed: vec![
                Unclaimed {
                    kind: Kind::Instance,
                    id: "i-0abc".into(),
                    problem: NameTagProblem::Missing,
                },
                Unclaimed {
                    kind: Kind::Volume,
                    id: "vol-1".into(),
                    problem: NameTagProblem::OtherKind(Kind::Instance),
                },
            ],
            ..Live::default()
        };
        let w = unclaimed_warnings("web", &live);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].resource, ResourceId::new(Kind::Instance, "i-0abc"));
        assert_eq!(
            w[0].message,
            "i-0abc carries `ec2-gitops:stack=web` but has no `ec2-gitops:name` tag: it is not managed and will not be touched; tag it `ec2-gitops:name=instance/<name>` or remove the stack tag"
        );
        assert!(
            w[1].message
                .contains("names an instance, and it is a volume"),
            "{}",
            w[1].message
        );
    }
}

#[cfg(test)]
mod duplicate_tests {
    use super::*;
    use crate::model::LiveKeyPair;

    fn key(name: &str, id: &str) -> LiveKeyPair {
        LiveKeyPair {
            name: name.into(),
            id: id.into(),
            key_name: format!("web-{name}"),
            public_key: None,
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn a_name_claimed_twice_is_one_warning_naming_both() {
        let live = Live {
            key_pairs: vec![
                key("deploy", "key-2"),
                key("deploy", "key-1"),
                key("ops", "key-3"),
            ],
            ..Live::default()
        };
        let w = duplicate_warnings(&live);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].resource, ResourceId::new(Kind::KeyPair, "deploy"));
        assert_eq!(
            w[0].message,
            "key-1, key-2 all carry `ec2-gitops:name=key_pair/deploy`: the plan keeps one and destroys the others as duplicates; if one was not made by ec2-gitops, remove its `ec2-gitops:stack` tag before applying"
        );
    }
}
