//! Security groups: replacements, rules in place, references and egress.

use super::*;

#[test]
fn group_description_change_replaces_the_group() {
    let mut w = World::in_sync();
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .description = "Public web".into();
    let plan = w.plan();
    let g = plan
        .changes
        .iter()
        .find(|c| c.resource == id(Kind::SecurityGroup, "web"))
        .unwrap();
    assert_eq!(g.action, Action::Replace);
    assert_eq!(g.live_id.as_deref(), Some("sg-web"));
    assert_eq!(g.fields.len(), 1);
    assert_eq!(
        (
            g.fields[0].field.name(),
            &g.fields[0].before,
            &g.fields[0].after
        ),
        ("description", &text("Web"), &text("Public web"))
    );
    assert_eq!(g.fields[0].effect, Effect::Replace);
    // The instance moves to the new group, in place: its live group id no
    // longer counts as `web`.
    let i = plan
        .changes
        .iter()
        .find(|c| c.resource == id(Kind::Instance, "web-1"))
        .unwrap();
    assert_eq!(i.action, Action::Update);
    assert_eq!(i.fields[0].field.name(), "security_groups");
    assert_eq!(
        (&i.fields[0].before, &i.fields[0].after),
        (&list(&["sg-web"]), &list(&["web"]))
    );
}

#[test]
fn group_vpc_change_replaces_the_group() {
    let mut w = World::in_sync();
    w.desired.security_groups.get_mut("web").unwrap().vpc = Some("vpc-other".into());
    let plan = w.plan();
    let g = &plan.changes[0];
    assert_eq!(g.resource, id(Kind::SecurityGroup, "web"));
    assert_eq!(g.action, Action::Replace);
    assert_eq!(g.fields[0].field.name(), "vpc");
    assert_eq!(
        (&g.fields[0].before, &g.fields[0].after),
        (&text("vpc-default"), &text("vpc-other"))
    );
}

#[test]
fn rules_added_and_removed_change_in_place() {
    let mut w = World::in_sync();
    w.group("sg-web").ingress.push(tcp(8080, cidr("0.0.0.0/0")));
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .extend([tcp(443, cidr("0.0.0.0/0")), tcp(443, cidr("::/0"))]);
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.resource, id(Kind::SecurityGroup, "web"));
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.fields.len(), 1);
    let f = &c.fields[0];
    assert_eq!(f.field.name(), "ingress");
    assert_eq!(f.effect, Effect::InPlace);
    assert_eq!(f.before, list(&["tcp 80 0.0.0.0/0", "tcp 8080 0.0.0.0/0"]));
    assert_eq!(
        f.after,
        // In natural order: port 80 before 443.
        list(&["tcp 80 0.0.0.0/0", "tcp 443 0.0.0.0/0", "tcp 443 ::/0"])
    );

    let steps = w.steps();
    assert_eq!(steps.len(), 1);
    let Op::SetRules {
        group,
        authorize_ingress,
        revoke_ingress,
        authorize_egress,
        revoke_egress,
        ..
    } = &steps[0].op
    else {
        panic!("{steps:#?}")
    };
    assert_eq!(group, &Ref::Existing("sg-web".into()));
    let rules = |rs: &[steps::RuleRef]| rs.iter().map(|r| r.rule.to_string()).collect::<Vec<_>>();
    assert_eq!(
        rules(authorize_ingress),
        ["tcp 443 0.0.0.0/0", "tcp 443 ::/0"]
    );
    assert_eq!(rules(revoke_ingress), ["tcp 8080 0.0.0.0/0"]);
    assert!(authorize_egress.is_empty() && revoke_egress.is_empty());
}

#[test]
fn group_references_by_id_read_as_names() {
    let mut w = World::in_sync();
    w.desired.security_groups.insert(
        "admin".into(),
        group_spec("Bastion", vec![tcp(22, cidr("203.0.113.0/24"))]),
    );
    w.live.security_groups.push(live_group(
        "admin",
        "sg-admin",
        "Bastion",
        vec![tcp(22, cidr("203.0.113.0/24"))],
    ));
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(tcp(22, Peer::Group("admin".into())));
    w.group("sg-web")
        .ingress
        .push(tcp(22, Peer::GroupId("sg-admin".into())));
    let plan = w.plan();
    assert!(plan.is_empty(), "{:#?}", plan.changes);

    // When `admin` is replaced, the reference points at a group going away.
    w.desired
        .security_groups
        .get_mut("admin")
        .unwrap()
        .description = "Bastion hosts".into();
    let plan = w.plan();
    let web = plan
        .changes
        .iter()
        .find(|c| c.resource == id(Kind::SecurityGroup, "web"))
        .unwrap();
    assert_eq!(web.action, Action::Update);
    assert_eq!(
        web.fields[0].before,
        list(&["tcp 22 group sg-admin", "tcp 80 0.0.0.0/0"])
    );
    assert_eq!(
        web.fields[0].after,
        list(&["tcp 22 group admin", "tcp 80 0.0.0.0/0"])
    );
}

#[test]
fn omitted_egress_means_the_ec2_default() {
    // In sync: live has exactly `all 0.0.0.0/0` out, the YAML omits egress.
    assert!(World::in_sync().plan().is_empty());

    let mut w = World::in_sync();
    w.group("sg-web").egress.push(tcp(25, cidr("0.0.0.0/0")));
    let c = only_change(&w.plan()).clone();
    assert_eq!(c.fields[0].field.name(), "egress");
    assert_eq!(
        (&c.fields[0].before, &c.fields[0].after),
        (
            &list(&["all traffic 0.0.0.0/0", "tcp 25 0.0.0.0/0"]),
            &list(&["all traffic 0.0.0.0/0"])
        )
    );

    let mut w = World::in_sync();
    w.desired.security_groups.get_mut("web").unwrap().egress =
        Some(vec![tcp(443, cidr("0.0.0.0/0"))]);
    let c = only_change(&w.plan()).clone();
    assert_eq!(c.action, Action::Update);
    assert_eq!(
        (&c.fields[0].before, &c.fields[0].after),
        (
            &list(&["all traffic 0.0.0.0/0"]),
            &list(&["tcp 443 0.0.0.0/0"])
        )
    );

    // An explicit empty egress closes the group.
    let mut w = World::in_sync();
    w.desired.security_groups.get_mut("web").unwrap().egress = Some(vec![]);
    let c = only_change(&w.plan()).clone();
    assert_eq!(c.fields[0].after, list(&[]));
}

#[test]
fn a_rule_description_changes_in_place_without_touching_the_rule() {
    let mut w = World::in_sync();
    let http = tcp(80, cidr("0.0.0.0/0"));
    let g = w.desired.security_groups.get_mut("web").unwrap();
    g.descriptions
        .ingress
        .insert(http.clone(), "HTTP from anywhere".into());
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.fields[0].field, Field::RuleDescriptions);
    assert_eq!(
        c.fields[0].after,
        Value::List(vec!["ingress tcp 80 0.0.0.0/0: HTTP from anywhere".into()])
    );
    let steps = w.steps();
    let Op::SetRules {
        authorize_ingress,
        revoke_ingress,
        describe_ingress,
        ..
    } = &steps[0].op
    else {
        panic!("{steps:#?}")
    };
    assert!(authorize_ingress.is_empty() && revoke_ingress.is_empty());
    assert_eq!(describe_ingress.len(), 1);
    assert_eq!(
        describe_ingress[0].description.as_deref(),
        Some("HTTP from anywhere")
    );
    // Once EC2 holds it, nothing is left to do.
    w.live.security_groups[0]
        .descriptions
        .ingress
        .insert(http, "HTTP from anywhere".into());
    assert!(w.plan().changes.is_empty());
}
