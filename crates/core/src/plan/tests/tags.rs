//! The stack's `tags:`: on every resource it makes, changed in place on
//! those that exist (one retag step for each resource that is not an
//! instance; an instance's tags are its update's).

use super::volumes::with_volume;
use super::*;

#[test]
fn new_stack_tags_change_every_kind_in_place_and_nothing_else() {
    let mut w = with_volume();
    w.desired.elastic_ips.insert(
        "ip".into(),
        AddressSpec {
            renamed_from: None,
            instance: "web-1".into(),
            at: at(60),
        },
    );
    w.live.addresses.push(live_address("ip", Some("i-web1")));
    assert!(w.plan().changes.is_empty());
    let tag = || BTreeMap::from([("cost-center".to_string(), "web".to_string())]);
    w.desired.tags = tag();
    w.spec("web-1").tags.extend(tag());
    // A tag set by hand on the group stays: the stack removes only what it
    // set (ec2-gitops:tags records it).
    w.live.security_groups[0]
        .tags
        .insert("owner".into(), "someone".into());
    let plan = w.plan();
    let changed: Vec<(String, Action, Vec<Field>)> = plan
        .changes
        .iter()
        .map(|c| {
            (
                c.resource.to_string(),
                c.action,
                c.fields.iter().map(|f| f.field).collect(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            (
                "key_pair.deploy".to_string(),
                Action::Update,
                vec![Field::Tags]
            ),
            (
                "security_group.web".to_string(),
                Action::Update,
                vec![Field::Tags]
            ),
            (
                "instance.web-1".to_string(),
                Action::Update,
                vec![Field::Tags]
            ),
            (
                "volume.web-1/data".to_string(),
                Action::Update,
                vec![Field::Tags]
            ),
            (
                "elastic_ip.ip".to_string(),
                Action::Update,
                vec![Field::Tags]
            ),
        ]
    );
    let steps = w.steps();
    let ops: Vec<&str> = steps.iter().map(|s| kind_of(&s.op)).collect();
    assert_eq!(
        ops.iter().filter(|o| **o == "Retag").count(),
        4,
        "one retag per resource that is not an instance: {ops:?}"
    );
    assert!(
        !ops.iter()
            .any(|o| matches!(*o, "AssociateAddress" | "UpdateVolume" | "SetRules")),
        "{ops:?}"
    );
    let group = steps
        .iter()
        .find_map(|s| match &s.op {
            Op::Retag {
                ec2_id,
                set,
                remove,
            } if ec2_id == "sg-web" => Some((set, remove)),
            _ => None,
        })
        .expect("the group is retagged");
    let mut recorded = tag();
    recorded.insert(TAGS_TAG.into(), "cost-center".into());
    assert_eq!(group, (&recorded, &vec![]));

    // Once applied, the next plan is empty; a key taken out of `tags:` is
    // removed, with its record, and the hand-set tag stays.
    for g in &mut w.live.security_groups {
        g.tags.extend(recorded.clone());
    }
    for k in &mut w.live.key_pairs {
        k.tags.extend(recorded.clone());
    }
    for v in &mut w.live.volumes {
        v.tags.extend(recorded.clone());
    }
    for a in &mut w.live.addresses {
        a.tags.extend(recorded.clone());
    }
    w.instance("i-web1").tags.extend(tag());
    assert!(w.plan().changes.is_empty(), "{:#?}", w.plan().changes);
    w.desired.tags.clear();
    w.spec("web-1").tags.remove("cost-center");
    let steps = w.steps();
    let group = steps
        .iter()
        .find_map(|s| match &s.op {
            Op::Retag {
                ec2_id,
                set,
                remove,
            } if ec2_id == "sg-web" => Some((set, remove)),
            _ => None,
        })
        .expect("the group is retagged");
    assert_eq!(
        group,
        (
            &BTreeMap::new(),
            &vec!["cost-center".to_string(), TAGS_TAG.to_string()]
        )
    );
}

#[test]
fn tags_set_by_someone_else_are_never_the_stacks_to_remove() {
    let mut w = with_volume();
    w.live.security_groups[0]
        .tags
        .insert("backup-plan".into(), "daily".into());
    w.live.volumes[1].tags.insert("owner".into(), "dba".into());
    assert!(w.plan().changes.is_empty(), "{:#?}", w.plan().changes);
}

#[test]
fn what_a_stack_makes_carries_its_tags() {
    let mut w = with_volume();
    w.live = Live::default();
    w.desired.tags = BTreeMap::from([("cost-center".to_string(), "web".to_string())]);
    let steps = w.steps();
    for s in &steps {
        let tags = match &s.op {
            Op::ImportKeyPair { tags, .. }
            | Op::CreateGroup { tags, .. }
            | Op::CreateVolume { tags, .. } => tags,
            _ => continue,
        };
        assert_eq!(
            tags.get("cost-center").map(String::as_str),
            Some("web"),
            "{s:?}"
        );
    }
}
