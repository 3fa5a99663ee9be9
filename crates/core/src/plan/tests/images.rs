//! Images by reference: resolved from the region's facts before planning,
//! shown with the id, a new id a replacement, nothing found an error.

use super::*;

const PARAM: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

fn by_parameter(w: &mut World, resolves_to: Option<&str>) {
    let r = ImageRef::Ssm(PARAM.into());
    let spec = w.spec("web-1");
    spec.image = String::new();
    spec.image_ref = Some(r.clone());
    w.region.image_refs.insert(r, resolves_to.map(Into::into));
}

#[test]
fn an_image_by_reference_in_sync_plans_nothing() {
    let mut w = World::in_sync();
    by_parameter(&mut w, Some("ami-old"));
    assert!(w.plan().changes.is_empty());
    assert_eq!(
        crate::plan::images::refs(&w.desired),
        [ImageRef::Ssm(PARAM.into())]
    );
}

#[test]
fn a_parameter_that_moved_replaces_with_the_reference_and_the_id_shown() {
    let mut w = World::in_sync();
    by_parameter(&mut w, Some("ami-new"));
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.fields[0].before, Value::Text("ami-old".into()));
    assert_eq!(
        c.fields[0].after,
        Value::Text(format!("ami-new (ssm {PARAM})"))
    );
    // The launch names the id the plan showed.
    let steps = w.steps();
    let launch = steps
        .iter()
        .find_map(|s| match &s.op {
            Op::RunInstance(l) => Some(l),
            _ => None,
        })
        .expect("a launch");
    assert_eq!(launch.image, "ami-new");
}

#[test]
fn a_reference_that_names_nothing_is_an_error_and_the_plan_cannot_apply() {
    let mut w = World::in_sync();
    by_parameter(&mut w, None);
    let plan = w.plan();
    assert!(!plan.is_applicable());
    assert_eq!(
        plan.errors[0].message,
        format!(
            "the SSM parameter {PARAM} does not exist in us-east-1, is not readable, or does not hold an AMI id"
        )
    );
    let mut w = World::in_sync();
    let r = ImageRef::Name {
        pattern: "web-*".into(),
        owner: "self".into(),
    };
    w.spec("web-1").image_ref = Some(r.clone());
    w.spec("web-1").image = String::new();
    w.region.image_refs.insert(r, None);
    assert_eq!(
        w.plan().errors[0].message,
        "no image named \"web-*\" owned by self exists in us-east-1"
    );
}
