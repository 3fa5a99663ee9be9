//! Instance profiles and metadata options: changed in place, never with a
//! restart; IMDSv2 by default.

use super::*;

#[test]
fn a_new_server_gets_imdsv2_and_its_profile_at_launch() {
    let mut w = World::in_sync();
    w.live = Live::default();
    w.spec("web-1").instance_profile = Some("web-server".into());
    w.spec("web-1").metadata.hop_limit = Some(2);
    let steps = w.steps();
    let launch = steps
        .iter()
        .find_map(|s| match &s.op {
            Op::RunInstance(l) => Some(l),
            _ => None,
        })
        .expect("a launch");
    assert_eq!(launch.instance_profile.as_deref(), Some("web-server"));
    assert_eq!(
        launch.metadata,
        Metadata {
            tokens: Tokens::Required,
            hop_limit: Some(2)
        }
    );
}

#[test]
fn an_instance_profile_is_associated_replaced_and_removed_in_place() {
    let cases: [(Option<&str>, Option<&str>); 3] = [
        (None, Some("web-server")),
        (Some("old"), Some("web-server")),
        (Some("old"), None),
    ];
    for (live, want) in cases {
        let mut w = World::in_sync();
        w.instance("i-web1").instance_profile = live.map(Into::into);
        w.spec("web-1").instance_profile = want.map(Into::into);
        let plan = w.plan();
        let c = only_change(&plan);
        assert_eq!(c.action, Action::Update, "{live:?} -> {want:?}");
        assert_eq!(c.fields.len(), 1);
        assert_eq!(c.fields[0].field, Field::InstanceProfile);
        assert_eq!(c.fields[0].effect, Effect::InPlace);
        let steps = w.steps();
        assert_eq!(steps.len(), 1, "no restart, no health gate: {steps:#?}");
        let Op::UpdateInstance { update, .. } = &steps[0].op else {
            panic!("{steps:#?}")
        };
        assert_eq!(update.instance_profile, Some(want.map(Into::into)));
        assert!(!update.needs_stop());
    }
}

#[test]
fn an_existing_imdsv1_server_is_moved_to_tokens_in_place_the_first_time() {
    let mut w = World::in_sync();
    w.instance("i-web1").metadata = Some(LiveMetadata {
        tokens: "optional".into(),
        hop_limit: Some(1),
    });
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.fields[0].field, Field::MetadataTokens);
    assert_eq!(c.fields[0].before, Value::Text("optional".into()));
    assert_eq!(c.fields[0].after, Value::Text("required".into()));
    let steps = w.steps();
    let Op::UpdateInstance { update, .. } = &steps[0].op else {
        panic!("{steps:#?}")
    };
    assert_eq!(update.metadata, Some(Metadata::default()));
    // Once applied, the next plan is empty.
    w.instance("i-web1").metadata = Some(LiveMetadata {
        tokens: "required".into(),
        hop_limit: Some(1),
    });
    assert!(w.plan().changes.is_empty());
}

#[test]
fn a_hop_limit_is_compared_only_when_the_yaml_sets_it() {
    let mut w = World::in_sync();
    w.instance("i-web1").metadata = Some(LiveMetadata {
        tokens: "required".into(),
        hop_limit: Some(3),
    });
    assert!(w.plan().changes.is_empty(), "EC2's hop limit is kept");
    w.spec("web-1").metadata.hop_limit = Some(2);
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.fields[0].field, Field::MetadataHopLimit);
    assert_eq!(c.fields[0].before, Value::Text("3".into()));
    assert_eq!(c.fields[0].after, Value::Text("2".into()));
}

#[test]
fn metadata_options_ec2_does_not_report_are_not_compared() {
    let mut w = World::in_sync();
    w.instance("i-web1").metadata = None;
    w.spec("web-1").metadata.hop_limit = Some(2);
    assert!(w.plan().changes.is_empty());
}

/// `web-1` … `web-n` spread over `zones` (their default subnets, as the
/// region's facts have them), live where the spread puts them.
fn spread(n: u32, zones: &[&str]) -> World {
    let mut w = World::in_sync();
    w.desired.instances.clear();
    w.live.instances.clear();
    w.live.volumes.clear();
    w.region
        .default_subnets
        .insert("us-east-1c".into(), "subnet-c".into());
    w.region.subnets.insert(
        "subnet-c".into(),
        ("vpc-default".into(), "us-east-1c".into()),
    );
    let places: Vec<SubnetRef> = zones
        .iter()
        .map(|z| SubnetRef::Zone(z.to_string()))
        .collect();
    for i in 1..=n {
        let name = format!("web-{i}");
        w.add_instance(&name, &format!("i-web{i}"));
        let place = SubnetRef::of_member(&places, i).cloned();
        let Some(SubnetRef::Zone(zone)) = place else {
            unreachable!("zones only")
        };
        let subnet = w.region.default_subnets[&zone].clone();
        let spec = w.spec(&name);
        spec.subnet = None;
        spec.zone = Some(zone.clone());
        spec.entry = Entry {
            name: "web".into(),
            count: n,
            rollout: Rollout::default(),
            subnets: places.clone(),
            target_groups: vec![],
        };
        let live = w.instance(&format!("i-web{i}"));
        live.subnet = Some(subnet);
        live.availability_zone = Some(zone);
    }
    w
}

/// Points every member of the entry at a new `subnets:` list.
fn respread(w: &mut World, zones: &[&str]) {
    let places: Vec<SubnetRef> = zones
        .iter()
        .map(|z| SubnetRef::Zone(z.to_string()))
        .collect();
    for (name, spec) in w.desired.instances.iter_mut() {
        let index: u32 = name["web-".len()..].parse().unwrap();
        let Some(SubnetRef::Zone(z)) = SubnetRef::of_member(&places, index) else {
            unreachable!()
        };
        spec.zone = Some(z.clone());
        spec.entry.subnets = places.clone();
    }
}

#[test]
fn a_spread_in_place_plans_nothing_and_says_how_it_is_spread() {
    let w = spread(4, &["us-east-1a", "us-east-1b"]);
    let plan = w.plan();
    assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
    assert_eq!(
        plan.spreads,
        [spread::Spread {
            entry: "web".into(),
            places: vec![("zone us-east-1a".into(), 2), ("zone us-east-1b".into(), 2)],
            removed: vec![],
        }]
    );
}

#[test]
fn a_new_zone_replaces_only_the_members_that_move_in_rollout_batches() {
    let mut w = spread(4, &["us-east-1a", "us-east-1b"]);
    respread(&mut w, &["us-east-1a", "us-east-1b", "us-east-1c"]);
    let plan = w.plan();
    // web-1 → a, web-2 → b stay; web-3 a → c and web-4 b → a move.
    assert_eq!(
        actions(&plan),
        [
            (
                "instance.web-3".to_string(),
                Action::Replace,
                Some("i-web3".to_string())
            ),
            (
                "instance.web-4".to_string(),
                Action::Replace,
                Some("i-web4".to_string())
            ),
        ]
    );
    let web3 = &plan.changes[0].fields[0];
    assert_eq!(web3.field, Field::Subnet);
    assert_eq!(web3.before, Value::Text("subnet-a (us-east-1a)".into()));
    assert_eq!(web3.after, Value::Text("subnet-c (us-east-1c)".into()));
    assert_eq!(plan.rollouts.len(), 1);
    assert_eq!(plan.rollouts[0].batches, [vec!["web-3"], vec!["web-4"]]);
    let launches: Vec<Option<String>> = w
        .steps()
        .iter()
        .filter_map(|s| match &s.op {
            Op::RunInstance(l) => Some(l.subnet.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        launches,
        [Some("subnet-c".to_string()), Some("subnet-a".to_string())]
    );
}

#[test]
fn a_scale_in_removes_the_highest_indexes_and_says_the_spread_stays_balanced() {
    let mut w = spread(4, &["us-east-1a", "us-east-1b"]);
    w.desired.instances.remove("web-4");
    for spec in w.desired.instances.values_mut() {
        spec.entry.count = 3;
    }
    let plan = w.plan();
    assert_eq!(
        actions(&plan),
        [(
            "instance.web-4".to_string(),
            Action::Destroy,
            Some("i-web4".to_string())
        )]
    );
    let s = &plan.spreads[0];
    assert_eq!(s.removed, ["web-4"]);
    assert_eq!(
        s.places,
        [
            ("zone us-east-1a".to_string(), 2),
            ("zone us-east-1b".to_string(), 1)
        ]
    );
    assert!(s.balanced());
    insta::assert_snapshot!(
        crate::render::spread_line(s, |n| n.to_string()),
        @"Spread of web over 2 subnets: zone us-east-1a ×2, zone us-east-1b ×1 (balanced); the scale-in removes web-4, the highest indexes, so the spread stays balanced"
    );
}

#[test]
fn a_zone_without_a_default_subnet_is_an_error_of_the_entry() {
    let mut w = spread(2, &["us-east-1a", "us-east-1b"]);
    respread(&mut w, &["us-east-1a", "us-east-1z"]);
    let plan = w.plan();
    assert_eq!(plan.errors.len(), 1, "{:#?}", plan.errors);
    assert!(
        plan.errors[0]
            .message
            .contains("zone us-east-1z has no default subnet in us-east-1"),
        "{:#?}",
        plan.errors
    );
}

#[test]
fn replacing_a_server_with_what_the_yaml_cannot_say_warns_that_it_is_lost() {
    let mut w = World::in_sync();
    w.instance("i-web1").unexpressed =
        vec!["placement group pg-1".into(), "a spot instance".into()];
    assert!(w.plan().warnings.is_empty(), "kept while it runs");
    w.spec("web-1").image = "ami-new".into();
    let plan = w.plan();
    let lost: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        lost,
        [
            "i-web1 has what the YAML cannot say (placement group pg-1, a spot instance): its replacement will not have it"
        ]
    );
}

#[test]
fn the_new_plan_lines_read_as_a_reviewer_sees_them() {
    let mut w = spread(3, &["us-east-1a", "us-east-1b"]);
    for spec in w.desired.instances.values_mut() {
        spec.instance_profile = Some("web-server".into());
        spec.metadata.hop_limit = Some(2);
        spec.root_volume.as_mut().unwrap().disk.iops = Some(4000);
    }
    w.instance("i-web1").metadata = Some(LiveMetadata {
        tokens: "optional".into(),
        hop_limit: Some(1),
    });
    w.instance("i-web3").unexpressed = vec!["placement group pg-1".into()];
    // web-3 moves to zone c: replaced.
    w.region
        .default_subnets
        .insert("us-east-1c".into(), "subnet-c".into());
    w.region.subnets.insert(
        "subnet-c".into(),
        ("vpc-default".into(), "us-east-1c".into()),
    );
    let zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
    let places: Vec<SubnetRef> = zones
        .iter()
        .map(|z| SubnetRef::Zone(z.to_string()))
        .collect();
    for spec in w.desired.instances.values_mut() {
        spec.entry.subnets = places.clone();
    }
    w.spec("web-3").zone = Some("us-east-1c".into());
    let plan = w.plan();
    insta::assert_snapshot!(
        "new_plan_lines_text",
        crate::render::text::plan(&plan, false)
    );
    insta::assert_snapshot!(
        "new_plan_lines_markdown",
        crate::render::markdown::plan(&plan, 60_000)
    );
}
