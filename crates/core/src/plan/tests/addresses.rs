//! Elastic IPs: reassociated in place.

use super::*;

#[test]
fn elastic_ip_is_reassociated_in_place() {
    let mut w = World::in_sync();
    w.add_instance("web-2", "i-web2");
    w.desired.elastic_ips.insert(
        "web-ip".into(),
        AddressSpec {
            renamed_from: None,
            instance: "web-2".into(),
            at: at(60),
        },
    );
    w.live
        .addresses
        .push(live_address("web-ip", Some("i-web1")));
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.resource, id(Kind::ElasticIp, "web-ip"));
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.live_id.as_deref(), Some("eipalloc-web-ip"));
    assert_eq!(
        (&c.fields[0].before, &c.fields[0].after),
        (&text("i-web1"), &text("i-web2"))
    );
    assert_eq!(
        w.steps()[0].op,
        Op::AssociateAddress {
            allocation: Ref::Existing("eipalloc-web-ip".into()),
            instance: Ref::Existing("i-web2".into()),
        }
    );

    // Unassociated (someone disassociated it by hand).
    w.desired.elastic_ips.get_mut("web-ip").unwrap().instance = "web-1".into();
    w.live.addresses[0].instance_id = None;
    let plan = w.plan();
    assert_eq!(
        (
            &plan.changes[0].fields[0].before,
            &plan.changes[0].fields[0].after
        ),
        (&Value::None, &text("i-web1"))
    );
}
