//! The fake's handle: its last drop fails the test on an unexpected
//! request, and a sync test can use it.

use serde_json::Value;

use super::{fake_with_pr, raw};

#[test]
#[should_panic(
    expected = "the GitHub fake got 1 unexpected request(s):\n  DELETE /repos/acme/infra/issues/comments/1 → 404"
)]
fn dropping_the_fake_fails_the_test_on_an_unexpected_request() {
    let fake = fake_with_pr(0);
    let clone = fake.clone();
    raw(
        &fake,
        "DELETE",
        "/repos/acme/infra/issues/comments/1",
        true,
        "",
    );
    drop(fake);
    // The last handle is the one that checks.
    drop(clone);
}

#[test]
fn a_sync_test_can_use_the_fake() {
    let fake = fake_with_pr(0);
    fake.set_permission("carol", "write");
    let (status, _, body) = raw(
        &fake,
        "GET",
        "/repos/acme/infra/collaborators/carol/permission",
        true,
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["permission"],
        "write"
    );
}
