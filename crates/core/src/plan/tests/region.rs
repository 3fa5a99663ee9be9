//! Region facts: unknown images, subnets and VPCs, and errors reported once per entry.

use super::*;

#[test]
fn unknown_image_subnet_and_vpc_are_located_errors() {
    let mut w = World::in_sync();
    w.spec("web-1").image = "ami-nope".into();
    w.spec("web-1").subnet = Some("subnet-nope".into());
    w.desired.security_groups.get_mut("web").unwrap().vpc = Some("vpc-nope".into());
    let plan = w.plan();
    let errors: Vec<_> = plan
        .errors
        .iter()
        .map(|e| {
            (
                e.resource.to_string(),
                e.at.as_ref().map(|l| l.to_string()),
                e.message.as_str(),
                e.hint.is_some(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (
                "instance.web-1".to_string(),
                Some("infra/web.yaml:30:3".to_string()),
                "image ami-nope does not exist in us-east-1 (or is not visible to this account)",
                true
            ),
            (
                "instance.web-1".to_string(),
                Some("infra/web.yaml:30:3".to_string()),
                "subnet subnet-nope does not exist in us-east-1",
                true
            ),
            (
                "security_group.web".to_string(),
                Some("infra/web.yaml:10:3".to_string()),
                "VPC vpc-nope does not exist in us-east-1",
                true
            ),
        ]
    );
    assert!(!plan.is_applicable());
}

#[test]
fn an_error_in_a_count_entry_is_reported_once_for_the_entry() {
    let mut w = World::empty();
    for n in 1..=3 {
        let mut spec = instance_spec();
        spec.image = "ami-nope".into();
        spec.instance_type = "t9.nope".into();
        spec.security_groups = vec![];
        spec.entry = Entry {
            rollout: Default::default(),
            name: "web".into(),
            count: 3,
            subnets: vec![],
            target_groups: vec![],
        };
        w.desired.instances.insert(format!("web-{n}"), spec);
    }
    w.region.instance_types = Some(["t3.micro".to_string()].into());
    // Another entry with the same error is its own.
    let mut db = instance_spec();
    db.image = "ami-nope".into();
    db.security_groups = vec![];
    db.entry = Entry {
        rollout: Default::default(),
        name: "db".into(),
        count: 1,
        subnets: vec![],
        target_groups: vec![],
    };
    db.at = at(40);
    w.desired.instances.insert("db".into(), db);
    let plan = w.plan();
    let errors: Vec<(String, String)> = plan
        .errors
        .iter()
        .map(|e| (e.resource.to_string(), e.message.clone()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "instance.db".to_string(),
                "image ami-nope does not exist in us-east-1 (or is not visible to this account)"
                    .to_string()
            ),
            (
                "instance.web".to_string(),
                "`instances.web` (3 instances): image ami-nope does not exist in us-east-1 (or is not visible to this account)".to_string()
            ),
            (
                "instance.web".to_string(),
                "`instances.web` (3 instances): instance type t9.nope is not offered in us-east-1"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn no_default_vpc_is_an_error_unless_the_group_names_one() {
    let mut w = World::in_sync();
    w.region.default_vpc = None;
    let plan = w.plan();
    assert_eq!(plan.errors.len(), 1, "{:#?}", plan.errors);
    let e = &plan.errors[0];
    assert_eq!(e.resource, id(Kind::SecurityGroup, "web"));
    assert_eq!(e.at, Some(at(10)));
    assert_eq!(e.message, "us-east-1 has no default VPC");
    assert_eq!(e.hint.as_deref(), Some("set `vpc:` on the security group"));

    w.desired.security_groups.get_mut("web").unwrap().vpc = Some("vpc-default".into());
    assert!(w.plan().errors.is_empty());
}
