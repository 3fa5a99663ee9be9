//! What a server is given besides its image and type: where it runs (its
//! subnet, or the subnets an entry is spread over), its IAM instance
//! profile and how its instance metadata service answers.

use super::decode::Ctx;
use super::fields;
use super::yaml::{Node, NodeKind};
use crate::model::{Metadata, SubnetRef, Tokens};

/// `instance_profile: NAME`.
pub fn instance_profile(ctx: &mut Ctx, n: &Node) -> Option<String> {
    ctx.pattern(n, &fields::INSTANCE_PROFILE)
}

/// `metadata: { tokens, hop_limit }`; `None` when it is invalid.
pub fn metadata(ctx: &mut Ctx, n: &Node, what: &str) -> Option<Metadata> {
    let e = ctx.object(
        n,
        &fields::METADATA,
        &format!("the `metadata` of {what}"),
        n,
    )?;
    let mut m = Metadata::default();
    let mut ok = true;
    if let Some(v) = e.value("tokens") {
        match ctx
            .one_of(v, fields::METADATA_TOKENS, "`tokens`")
            .as_deref()
            .and_then(Tokens::parse)
        {
            Some(t) => m.tokens = t,
            None => ok = false,
        }
    }
    if let Some(v) = e.value("hop_limit") {
        match ctx.int(
            v,
            (1, 64),
            "`hop_limit`",
            "EC2 accepts 1 to 64 hops: 1 keeps tokens on the server, 2 lets its containers reach them",
        ) {
            Some(h) => m.hop_limit = Some(h as u8),
            None => ok = false,
        }
    }
    ok.then_some(m)
}

/// `subnets: [subnet-…, { zone: … }]`: a non-empty list without repeats;
/// `None` when any item is invalid.
pub fn subnets(ctx: &mut Ctx, n: &Node, what: &str) -> Option<Vec<SubnetRef>> {
    let items = ctx.list(n)?;
    if items.is_empty() {
        ctx.error(
            n,
            format!("`subnets` of {what} is empty"),
            Some("name at least one subnet, or remove `subnets` to use a default subnet".into()),
        );
        return None;
    }
    let mut out: Vec<SubnetRef> = Vec::new();
    let mut ok = true;
    for item in items {
        let place = match &item.kind {
            NodeKind::Map(_) => ctx
                .object(
                    item,
                    &fields::ZONE_SUBNET,
                    &format!("a subnet of {what}"),
                    item,
                )
                .and_then(|e| e.value("zone").and_then(|z| ctx.pattern(z, &fields::ZONE)))
                .map(SubnetRef::Zone),
            _ => ctx.pattern(item, &fields::SUBNET).map(SubnetRef::Id),
        };
        match place {
            Some(p) if out.contains(&p) => {
                ctx.error(
                    item,
                    format!("{} is listed twice in `subnets`", p.label()),
                    Some("list each subnet once: members are spread over the list by index".into()),
                );
                ok = false;
            }
            Some(p) => out.push(p),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use crate::config::parse_stack;
    use crate::config::tests::READ;
    use crate::model::{Desired, SubnetRef, Tokens};
    use crate::render::diagnostics;

    fn stack(web: &str) -> String {
        format!(
            "version: 1\nstack: s\nregion: us-east-1\ndefaults:\n  image: ami-0123456789abcdef0\n  type: t3.micro\ninstances:\n  web:\n{web}"
        )
    }

    fn parse(web: &str) -> Desired {
        parse_stack(&stack(web), "s.yaml", &READ).unwrap_or_else(|d| {
            panic!("{}", diagnostics::text(&d));
        })
    }

    fn errors(web: &str) -> String {
        match parse_stack(&stack(web), "s.yaml", &READ) {
            Ok(d) => panic!("should not be valid: {d:#?}"),
            Err(d) => diagnostics::text(&d),
        }
    }

    #[test]
    fn members_are_spread_round_robin_by_index() {
        let d = parse(
            "    count: 5\n    subnets: [subnet-0aaaaaaaaaaaaaaaa, { zone: us-east-1b }, { zone: us-east-1c }]\n",
        );
        let places: Vec<(&str, Option<&str>, Option<&str>)> = d
            .instances
            .iter()
            .map(|(n, i)| (n.as_str(), i.subnet.as_deref(), i.zone.as_deref()))
            .collect();
        assert_eq!(
            places,
            [
                ("web-1", Some("subnet-0aaaaaaaaaaaaaaaa"), None),
                ("web-2", None, Some("us-east-1b")),
                ("web-3", None, Some("us-east-1c")),
                ("web-4", Some("subnet-0aaaaaaaaaaaaaaaa"), None),
                ("web-5", None, Some("us-east-1b")),
            ]
        );
        assert_eq!(d.instances["web-1"].entry.subnets.len(), 3);
        assert_eq!(
            d.instances["web-2"].entry.subnets[1],
            SubnetRef::Zone("us-east-1b".into())
        );
    }

    #[test]
    fn an_instance_placed_by_subnet_replaces_the_defaults_spread() {
        let yaml = stack("    subnet: subnet-0aaaaaaaaaaaaaaaa\n").replace(
            "  type: t3.micro\n",
            "  type: t3.micro\n  subnets: [{ zone: us-east-1a }]\n",
        );
        let d = parse_stack(&yaml, "s.yaml", &READ).unwrap();
        let web = &d.instances["web"];
        assert_eq!(web.subnet.as_deref(), Some("subnet-0aaaaaaaaaaaaaaaa"));
        assert_eq!(web.zone, None);
        assert!(web.entry.subnets.is_empty());
    }

    #[test]
    fn profiles_and_metadata_decode() {
        let d = parse(
            "    instance_profile: web@ops\n    metadata: { tokens: optional, hop_limit: 3 }\n",
        );
        let web = &d.instances["web"];
        assert_eq!(web.instance_profile.as_deref(), Some("web@ops"));
        assert_eq!(web.metadata.tokens, Tokens::Optional);
        assert_eq!(web.metadata.hop_limit, Some(3));
        assert_eq!(
            parse("    count: 1\n").instances["web"].metadata.tokens,
            Tokens::Required
        );
    }

    #[test]
    fn bad_placements_profiles_and_metadata_are_errors_at_their_line() {
        insta::assert_snapshot!(errors(
            "    subnet: subnet-0aaaaaaaaaaaaaaaa\n    subnets: [{ zone: us-east-1a }, { zone: us-east-1a }, { zone: useast1 }, subnet-x, {}]\n    instance_profile: \"web server\"\n    metadata: { tokens: sometimes, hop_limit: 65, hops: 2 }\n"
        ));
        insta::assert_snapshot!(errors("    subnets: []\n"));
    }
}
