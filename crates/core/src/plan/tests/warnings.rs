//! Warnings: admin ports opened to the internet, only when new.

use super::*;

#[test]
fn admin_ports_open_to_the_internet_warn_only_when_new() {
    // A new group opening SSH to the world.
    let mut w = World::in_sync();
    w.desired.security_groups.insert(
        "ssh".into(),
        group_spec(
            "SSH",
            vec![
                tcp(22, cidr("0.0.0.0/0")),
                tcp(22, cidr("10.0.0.0/8")),
                tcp(443, cidr("0.0.0.0/0")),
            ],
        ),
    );
    let plan = w.plan();
    assert_eq!(plan.warnings.len(), 1, "{:#?}", plan.warnings);
    assert_eq!(plan.warnings[0].resource, id(Kind::SecurityGroup, "ssh"));
    assert!(
        plan.warnings[0]
            .message
            .starts_with("`tcp 22 0.0.0.0/0` opens 22 (SSH) to the whole internet"),
        "{}",
        plan.warnings[0].message
    );

    // Already open: adding another rule does not warn about it again...
    let mut w = World::in_sync();
    let open = tcp(22, cidr("0.0.0.0/0"));
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(open.clone());
    w.group("sg-web").ingress.push(open.clone());
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(Rule {
            protocol: Protocol::Tcp,
            from_port: 3389,
            to_port: 3389,
            peer: cidr("::/0"),
        });
    let plan = w.plan();
    assert_eq!(plan.warnings.len(), 1, "{:#?}", plan.warnings);
    assert!(plan.warnings[0].message.contains("3389 (RDP)"));

    // ...nor does a change of the egress rules only.
    let mut w = World::in_sync();
    w.desired
        .security_groups
        .get_mut("web")
        .unwrap()
        .ingress
        .push(open.clone());
    w.group("sg-web").ingress.push(open);
    w.group("sg-web").egress.push(tcp(25, cidr("0.0.0.0/0")));
    let plan = w.plan();
    assert_eq!(only_change(&plan).fields[0].field.name(), "egress");
    assert!(plan.warnings.is_empty(), "{:#?}", plan.warnings);
}
