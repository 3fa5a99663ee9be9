//! The plan as JSON.

use super::*;

#[test]
fn json_plan() {
    let out = json(&[full_plan(), error_plan()]);
    // Round-trips: what `apply --plan` reads back is what was written.
    let back: serde_json::Value = serde_json::from_str(&out).unwrap();
    let plans: Vec<Plan> = serde_json::from_value(back["plans"].clone()).unwrap();
    assert_eq!(plans, [full_plan(), error_plan()]);
    insta::assert_snapshot!(out);
}
