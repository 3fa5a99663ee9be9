//! A collaborator's permission: legacy levels and the role.

use serde_json::Value;

use super::{REPO, fake_with_pr, octo, status_of};

#[tokio::test]
async fn permission_reports_legacy_levels_and_the_role() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    for (role, permission) in [
        ("admin", "admin"),
        ("maintain", "write"),
        ("write", "write"),
        ("triage", "read"),
        ("read", "read"),
        ("none", "none"),
    ] {
        fake.set_permission("bob", role);
        let answer: Value = octo
            .get(
                format!("/repos/{REPO}/collaborators/bob/permission"),
                None::<&()>,
            )
            .await
            .unwrap();
        assert_eq!(answer["permission"], permission, "{role}");
        assert_eq!(answer["role_name"], role);
        assert_eq!(answer["user"]["login"], "bob");
    }
    let err = octo
        .get::<Value, _, _>(
            format!("/repos/{REPO}/collaborators/stranger/permission"),
            None::<&()>,
        )
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 404);
    assert_eq!(fake.take_unexpected().len(), 1);
}
