//! Encryption and performance of volumes: IOPS and throughput in place,
//! encryption refused on a volume that exists, EBS's six hours between two
//! modifications of a volume.

use super::volumes::with_volume;
use super::*;

fn data(w: &mut World) -> &mut VolumeSpec {
    w.desired
        .volumes
        .get_mut("web-1/data")
        .expect("data volume")
}

fn live_data(w: &mut World) -> &mut LiveVolume {
    w.live
        .volumes
        .iter_mut()
        .find(|v| v.id == "vol-data")
        .expect("live data volume")
}

#[test]
fn what_the_yaml_leaves_out_is_not_compared() {
    let mut w = with_volume();
    let v = live_data(&mut w);
    v.encrypted = true;
    v.iops = Some(3000);
    v.throughput = Some(125);
    assert!(w.plan().changes.is_empty());
}

#[test]
fn iops_and_throughput_change_in_place_with_one_modify_volume() {
    let mut w = with_volume();
    live_data(&mut w).iops = Some(3000);
    live_data(&mut w).throughput = Some(125);
    data(&mut w).disk.iops = Some(6000);
    data(&mut w).disk.throughput = Some(500);
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.action, Action::Update);
    let fields: Vec<(Field, Effect)> = c.fields.iter().map(|f| (f.field, f.effect)).collect();
    assert_eq!(
        fields,
        [
            (Field::Iops, Effect::InPlace),
            (Field::Throughput, Effect::InPlace)
        ]
    );
    assert_eq!(super::diff::modified_volumes(&plan, &w.live), ["vol-data"]);
    let steps = w.steps();
    let Op::UpdateVolume { modify, .. } = &steps[0].op else {
        panic!("{steps:#?}")
    };
    assert_eq!(
        modify,
        &Some(steps::Modify {
            size_gb: 100,
            volume_type: "gp3".into(),
            iops: Some(6000),
            throughput: Some(500),
        })
    );
}

#[test]
fn the_root_volume_takes_iops_in_place_on_its_instance() {
    let mut w = World::in_sync();
    w.spec("web-1").root_volume.as_mut().unwrap().disk.iops = Some(4000);
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.fields[0].field, Field::RootVolumeIops);
    assert_eq!(c.fields[0].before, Value::None);
    assert_eq!(
        super::diff::modified_volumes(&plan, &w.live),
        ["vol-root-i-web1"]
    );
    let steps = w.steps();
    let Op::UpdateInstance { update, .. } = &steps[0].op else {
        panic!("{steps:#?}")
    };
    let (vid, m) = update.root_volume.as_ref().expect("root volume modified");
    assert_eq!(vid, "vol-root-i-web1");
    assert_eq!(m.iops, Some(4000));
    assert!(!update.needs_stop());
}

#[test]
fn encrypting_an_existing_volume_is_refused_with_the_way_to_do_it() {
    let mut w = with_volume();
    data(&mut w).disk.encrypted = Some(true);
    let plan = w.plan();
    assert!(!plan.is_applicable());
    assert_eq!(plan.errors.len(), 1, "{:#?}", plan.errors);
    let e = &plan.errors[0];
    assert_eq!(
        e.message,
        "volume vol-data is not encrypted; EBS sets encryption only when a volume is made"
    );
    assert!(
        e.hint
            .as_deref()
            .unwrap()
            .contains("copy-snapshot --encrypted")
    );
    // The root volume likewise, unless the instance is replaced anyway.
    let mut w = World::in_sync();
    w.spec("web-1").root_volume.as_mut().unwrap().disk.kms_key = Some("alias/ebs".into());
    assert_eq!(w.plan().errors.len(), 1);
    w.spec("web-1").image = "ami-new".into();
    let plan = w.plan();
    assert!(plan.errors.is_empty(), "{:#?}", plan.errors);
    assert_eq!(plan.changes[0].action, Action::Replace);
}

#[test]
fn another_kms_key_is_refused_and_the_same_key_by_id_is_not_a_change() {
    let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let mut w = with_volume();
    live_data(&mut w).encrypted = true;
    live_data(&mut w).kms_key = Some(arn.into());
    data(&mut w).disk.kms_key = Some("1234abcd-12ab-34cd-56ef-1234567890ab".into());
    assert!(w.plan().changes.is_empty() && w.plan().errors.is_empty());
    data(&mut w).disk.kms_key = Some("99999999-12ab-34cd-56ef-1234567890ab".into());
    let plan = w.plan();
    assert_eq!(plan.errors.len(), 1);
    assert!(
        plan.errors[0]
            .message
            .contains("cannot change a volume's key")
    );
}

#[test]
fn a_volume_modified_within_six_hours_is_not_modified_again() {
    let mut w = with_volume();
    data(&mut w).size_gb = 200;
    let now = 1_796_083_200;
    w.region.volume_modifications = Some((
        now,
        BTreeMap::from([(
            "vol-data".to_string(),
            VolumeModification {
                state: "completed".into(),
                started: now - 2 * 3_600,
            },
        )]),
    ));
    let plan = w.plan();
    assert_eq!(plan.errors.len(), 1, "{:#?}", plan.errors);
    insta::assert_snapshot!(
        crate::render::text::plan(&plan, false),
        @r"
    Stack web (us-east-1) — infra/web.yaml
      error: infra/web.yaml:50:3: volume vol-data was modified at 2026-11-30 22:00 UTC; EBS takes one modification of a volume every 6 hours
          hint: apply after 2026-12-01 04:00 UTC, or leave this volume as it is until then

    The plan cannot be applied until these errors are fixed.
    "
    );
    // Six hours on, it is.
    w.region.volume_modifications.as_mut().unwrap().0 = now + 4 * 3_600;
    assert!(w.plan().errors.is_empty());
}
