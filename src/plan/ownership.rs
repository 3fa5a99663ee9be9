//! Live resources that carry a stack's tag but no valid `ec2-gitops:name`
//! tag. The stack does not own them, so the plan never touches them; but
//! someone tagged them for it, and the reviewer is told.

use super::Warning;
use crate::model::{Kind, Live, NameTagProblem, ResourceId, STACK_TAG};

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
                NameTagProblem::ControlCharacters => {
                    "its `ec2-gitops:name` tag holds control, invisible or text-direction characters"
                        .to_string()
                }
            };
            Warning {
                resource: ResourceId::new(u.kind, &u.id),
                message: format!(
                    "{} carries `{STACK_TAG}={stack}` but {problem}: it is not managed and will not be touched; tag it `ec2-gitops:name={}/<name>` or remove the stack tag",
                    u.id,
                    u.kind
                ),
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
