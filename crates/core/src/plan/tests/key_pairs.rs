//! Key pairs: a new public key replaces one, its comment does not.

use super::*;

#[test]
fn key_pair_public_key_change_replaces_it_but_the_comment_does_not() {
    let mut w = World::in_sync();
    w.desired.key_pairs.get_mut("deploy").unwrap().public_key =
        format!("{KEY} someone-else@laptop");
    assert!(w.plan().is_empty());

    let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJlcGxhY2VkIGtleSBtYXRlcmlhbCBoZXJlISEh";
    w.desired.key_pairs.get_mut("deploy").unwrap().public_key = format!("{other} ops");
    let plan = w.plan();
    let c = only_change(&plan);
    assert_eq!(c.resource, id(Kind::KeyPair, "deploy"));
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.fields[0].field.name(), "public_key");
    assert_eq!(
        (&c.fields[0].before, &c.fields[0].after),
        (&text(KEY), &text(other))
    );

    // EC2 may not return the public key: then it cannot be compared.
    w.live.key_pairs[0].public_key = None;
    assert!(w.plan().is_empty());
}
