//! `image:`: an AMI id, or a reference resolved when planning — an SSM
//! parameter (`{ ssm: … }`) or the newest image whose name matches a
//! pattern (`{ name: …, owner: … }`).

use super::decode::Ctx;
use super::fields;
use super::yaml::{Node, NodeKind};
use crate::model::ImageRef;

/// What `image:` names: an id, or a reference.
pub enum Image {
    /// An AMI id.
    Id(String),
    /// A reference resolved when planning.
    Ref(ImageRef),
}

/// Decodes `image:`; `None` when it is invalid.
pub fn image(ctx: &mut Ctx, n: &Node, what: &str) -> Option<Image> {
    let NodeKind::Map(_) = &n.kind else {
        return ctx.pattern(n, &fields::AMI).map(Image::Id);
    };
    let e = ctx.object(n, &fields::IMAGE_REF, &format!("the `image` of {what}"), n)?;
    match (e.get("ssm"), e.get("name")) {
        (Some((k, _)), Some(_)) => {
            ctx.error(
                k,
                format!("the `image` of {what} sets both `ssm` and `name`"),
                Some("name the image by one of them".into()),
            );
            None
        }
        (Some((_, v)), None) => {
            if let Some((k, _)) = e.get("owner") {
                ctx.error(
                    k,
                    "`owner` goes with `name`, not with `ssm`",
                    Some("an SSM parameter names one image: remove `owner`".into()),
                );
                return None;
            }
            ctx.pattern(v, &fields::SSM_PARAMETER)
                .map(|p| Image::Ref(ImageRef::Ssm(p)))
        }
        (None, Some((_, v))) => {
            let pattern = ctx.text(v, "name")?;
            if pattern.is_empty() || pattern.chars().any(char::is_control) {
                ctx.error(
                    v,
                    "an image name pattern is one line of text",
                    Some("e.g. `name: \"web-*\"`".into()),
                );
                return None;
            }
            let owner = match e.value("owner") {
                Some(o) => ctx.pattern(o, &fields::IMAGE_OWNER)?,
                None => "self".to_string(),
            };
            Some(Image::Ref(ImageRef::Name {
                pattern: pattern.to_string(),
                owner,
            }))
        }
        (None, None) => {
            ctx.error(
                n,
                format!("the `image` of {what} names no image"),
                Some("write an AMI id, `{ ssm: /aws/service/… }` or `{ name: \"web-*\", owner: self }`".into()),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse_stack;
    use crate::config::tests::READ;
    use crate::model::ImageRef;
    use crate::render::diagnostics;

    fn stack(image: &str) -> String {
        format!(
            "version: 1\nstack: s\nregion: us-east-1\ndefaults:\n  image: {image}\ninstances:\n  web:\n    type: t3.micro\n"
        )
    }

    #[test]
    fn references_decode_and_the_id_waits_for_the_plan() {
        let d = parse_stack(&stack("{ ssm: /aws/service/x }"), "s.yaml", &READ).unwrap();
        let web = &d.instances["web"];
        assert_eq!(web.image_ref, Some(ImageRef::Ssm("/aws/service/x".into())));
        assert_eq!(web.image, "");
        let d = parse_stack(&stack("{ name: \"web-*\" }"), "s.yaml", &READ).unwrap();
        assert_eq!(
            d.instances["web"].image_ref,
            Some(ImageRef::Name {
                pattern: "web-*".into(),
                owner: "self".into()
            })
        );
    }

    #[test]
    fn a_reference_that_says_too_much_or_nothing_is_an_error() {
        let errors = |image: &str| match parse_stack(&stack(image), "s.yaml", &READ) {
            Ok(d) => panic!("should not be valid: {d:#?}"),
            Err(e) => diagnostics::text(&e),
        };
        insta::assert_snapshot!(
            [
                "{ ssm: /a, name: b }",
                "{ ssm: /a, owner: amazon }",
                "{}",
                "{ name: \"web-*\", owner: someone }",
                "{ ssm: \"a b\" }",
            ]
            .iter()
            .map(|i| errors(i))
            .collect::<Vec<_>>()
            .join("\n")
        );
    }
}
