//! The fingerprint: what it covers and what moves it.

use super::*;

#[test]
fn fingerprint_covers_what_a_creation_creates() {
    let mut w = World::in_sync();
    w.live = Live::default();
    let a = w.plan();
    let spec = w.desired.instances.values_mut().next().unwrap();
    spec.instance_type = "t3.xlarge".into();
    let b = w.plan();
    assert_ne!(
        a.fingerprint, b.fingerprint,
        "two creations of different instances must not share a fingerprint"
    );
}

#[test]
fn fingerprint_is_stable_and_follows_live_values() {
    let mut w = World::in_sync();
    w.spec("web-1").instance_type = "t3.large".into();
    let a = w.plan();
    let b = w.plan();
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.fingerprint, fingerprint::of(&a));
    assert!(a.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));

    // Same change planned, but the live value it was computed from moved.
    w.instance("i-web1").instance_type = "t3.small".into();
    let c = w.plan();
    assert_eq!(c.changes[0].action, a.changes[0].action);
    assert_ne!(a.fingerprint, c.fingerprint);

    // A live id moved (the instance was replaced by hand).
    let mut w2 = World::in_sync();
    w2.spec("web-1").instance_type = "t3.large".into();
    w2.instance("i-web1").id = "i-web1-other".into();
    assert_ne!(a.fingerprint, w2.plan().fingerprint);

    // The field itself is not hashed.
    let mut d = a.clone();
    d.fingerprint = "0000000000000000".into();
    assert_eq!(fingerprint::of(&d), a.fingerprint);
}
