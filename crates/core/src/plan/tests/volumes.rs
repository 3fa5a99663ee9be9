//! Volumes: growing, moving, following a replaced instance, and never losing data.

use super::*;

pub(super) fn with_volume() -> World {
    let mut w = World::in_sync();
    w.desired
        .volumes
        .insert("web-1/data".into(), volume_spec("web-1", 100));
    w.live
        .volumes
        .push(live_volume("web-1/data", "vol-data", Some("i-web1")));
    w
}

/// The `DeleteVolume` step of `web-1/data`: (needs, detach, deleted_with).
pub(super) fn data_deletion(steps: &[Step]) -> (Vec<&'static str>, bool, Option<String>) {
    let d = steps
        .iter()
        .find(|s| matches!(s.op, Op::DeleteVolume { .. }))
        .expect("the volume is deleted");
    let Op::DeleteVolume {
        detach,
        deleted_with,
        snapshot,
        ..
    } = &d.op
    else {
        unreachable!()
    };
    assert!(snapshot.is_some(), "data is snapshotted first");
    let needs = d.needs.iter().map(|n| kind_of(&steps[*n].op)).collect();
    (needs, detach.is_some(), deleted_with.clone())
}

#[test]
fn a_data_volume_is_never_detached_from_an_instance_being_terminated() {
    // The instance goes with its volume; EC2 keeps the volume at
    // termination (how the tool attaches it): it is snapshotted and deleted
    // after the termination, never detached from the running instance.
    let mut w = with_volume();
    w.desired.instances.remove("web-1");
    w.desired.volumes.clear();
    let steps = w.steps();
    assert_acyclic(&steps);
    assert_eq!(
        data_deletion(&steps),
        (vec!["TerminateInstance"], false, None)
    );

    // EC2 deletes it with the instance (DeleteOnTermination): the snapshot
    // is taken before the termination, and nothing detaches or deletes it.
    let mut w = with_volume();
    w.live.volumes.last_mut().unwrap().kept_on_termination = false;
    w.desired.instances.remove("web-1");
    w.desired.volumes.clear();
    let steps = w.steps();
    assert_acyclic(&steps);
    let (needs, detaches, with) = data_deletion(&steps);
    assert_eq!((needs, detaches), (vec![], false));
    assert_eq!(with.as_deref(), Some("i-web1"));
    let termination = steps
        .iter()
        .find(|s| matches!(s.op, Op::TerminateInstance { .. }))
        .expect("terminated");
    let barrier = &steps[termination.needs[0]];
    assert!(
        barrier
            .needs
            .iter()
            .any(|n| matches!(steps[*n].op, Op::DeleteVolume { .. })),
        "the termination waits for the snapshot"
    );

    // Only the volume goes, its instance stays: detached, then deleted.
    let mut w = with_volume();
    w.desired.volumes.clear();
    let steps = w.steps();
    assert_eq!(data_deletion(&steps), (vec![], true, None));
}

#[test]
fn volumes_grow_and_change_type_in_place() {
    assert!(with_volume().plan().is_empty());

    let mut w = with_volume();
    w.desired.volumes.get_mut("web-1/data").unwrap().size_gb = 200;
    w.desired.volumes.get_mut("web-1/data").unwrap().volume_type = "io2".into();
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.resource, id(Kind::Volume, "web-1/data"));
    assert_eq!(c.action, Action::Update);
    let fields: Vec<_> = c
        .fields
        .iter()
        .map(|f| (f.field.name(), f.before.clone(), f.after.clone(), f.effect))
        .collect();
    assert_eq!(
        fields,
        [
            ("type", text("gp3"), text("io2"), Effect::InPlace),
            ("size_gb", text("100"), text("200"), Effect::InPlace),
        ]
    );
    let steps = w.steps();
    assert_eq!(
        steps[0].op,
        Op::UpdateVolume {
            volume_id: "vol-data".into(),
            modify: Some(steps::Modify {
                size_gb: 200,
                volume_type: "io2".into(),
                iops: None,
                throughput: None,
            }),
            detach: None,
            attach: None,
            deletes_data: None,
        }
    );
}

#[test]
fn volume_shrink_is_an_error() {
    let mut w = with_volume();
    w.desired.volumes.get_mut("web-1/data").unwrap().size_gb = 50;
    let plan = w.plan();
    assert!(plan.is_empty(), "{:#?}", plan.changes);
    assert_eq!(
        plan.errors,
        [PlanError {
            resource: id(Kind::Volume, "web-1/data"),
            at: Some(at(50)),
            message: "volume web-1/data cannot shrink from 100 GiB to 50 GiB".into(),
            hint: Some("EBS volumes can only grow; restore the size in the YAML".into()),
        }]
    );
    assert!(!plan.is_applicable());
}

#[test]
fn volume_moves_to_a_new_instance() {
    let mut w = with_volume();
    w.desired.instances.insert("web-2".into(), instance_spec());
    w.desired.volumes.get_mut("web-1/data").unwrap().instance = "web-2".into();
    let plan = w.plan();
    assert_eq!(
        actions(&plan),
        [
            ("instance.web-2".to_string(), Action::Create, None),
            (
                "volume.web-1/data".to_string(),
                Action::Update,
                Some("vol-data".to_string())
            ),
        ]
    );
    let f = &plan.changes[1].fields[0];
    assert_eq!(f.field.name(), "attachment");
    assert_eq!(
        (&f.before, &f.after),
        (&text("i-web1 /dev/sdf"), &text("web-2 (new) /dev/sdf"))
    );
    let steps = w.steps();
    assert!(matches!(steps[0].op, Op::RunInstance(_)));
    assert_eq!(
        steps[1].op,
        Op::UpdateVolume {
            volume_id: "vol-data".into(),
            modify: None,
            detach: Some(("i-web1".into(), "/dev/sdf".into())),
            attach: Some((Ref::New(id(Kind::Instance, "web-2")), "/dev/sdf".into())),
            deletes_data: None,
        }
    );
    assert_eq!(steps[1].needs, [0]);
}

#[test]
fn volume_of_a_replaced_instance_follows_it() {
    let mut w = with_volume();
    w.spec("web-1").image = "ami-new".into();
    let plan = w.plan();
    let v = plan
        .changes
        .iter()
        .find(|c| c.resource.kind == Kind::Volume)
        .unwrap();
    assert_eq!(v.fields[0].after, text("web-1 (new) /dev/sdf"));
}

#[test]
fn missing_volume_is_created_on_its_instance() {
    let mut w = World::in_sync();
    w.desired
        .volumes
        .insert("web-1/data".into(), volume_spec("web-1", 100));
    let plan = w.plan();
    assert_eq!(
        actions(&plan),
        [("volume.web-1/data".to_string(), Action::Create, None)]
    );
    let steps = w.steps();
    let Op::CreateVolume {
        instance,
        device,
        size_gb,
        ..
    } = &steps[0].op
    else {
        panic!("{steps:#?}")
    };
    assert_eq!(
        (instance, device.as_str(), *size_gb),
        (&Ref::Existing("i-web1".into()), "/dev/sdf", 100)
    );
}

/// A run that launched `web-1` and sent its volume's `CreateVolume` before
/// it stopped: the rerun finds the server and not yet the volume (EC2 lists
/// it later). It must send the same client token, so EC2 answers with that
/// volume instead of making a second one.
#[test]
fn a_volume_keeps_its_client_token_whether_its_server_is_new_or_was_launched_by_a_stopped_run() {
    let token = |steps: &[Step]| {
        steps
            .iter()
            .find_map(|s| match &s.op {
                Op::CreateVolume { client_token, .. } => Some(client_token.clone()),
                _ => None,
            })
            .expect("a CreateVolume")
    };
    let mut w = World::in_sync();
    w.desired
        .volumes
        .insert("web-1/data".into(), volume_spec("web-1", 10));
    let with_server = token(&w.steps());
    w.live.instances.clear();
    w.live.volumes.clear();
    let server_too = token(&w.steps());
    assert_eq!(with_server, server_too);
    // A new server of the name after the old one was terminated: a new
    // volume, with a token of its own.
    w.live
        .terminated
        .insert("web-1".into(), vec!["i-old".into()]);
    assert_ne!(token(&w.steps()), server_too);
}
