//! What the fake answers besides the route: injected faults, and the
//! unexpected requests it refuses on its own.

use serde_json::{Value, json};

use super::{NAME, OWNER, REPO, fake_with_pr, octo, raw, status_of};

#[tokio::test]
async fn injected_faults_answer_then_the_route_runs() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    fake.fail_next("GET", "/repos/acme/infra/pulls/7", 502, None, 1);
    assert_eq!(
        status_of(octo.pulls(OWNER, NAME).get(7).await.unwrap_err()),
        502
    );
    octo.pulls(OWNER, NAME).get(7).await.unwrap();
    assert_eq!(
        fake.requests().iter().map(|r| r.status).collect::<Vec<_>>(),
        [502, 200]
    );

    fake.fail_next(
        "POST",
        "/repos/acme/infra/issues/*/comments",
        429,
        Some(3),
        2,
    );
    let url = fake.url();
    for _ in 0..2 {
        let (status, headers, body) = raw(
            &fake,
            "POST",
            "/repos/acme/infra/issues/7/comments",
            true,
            r#"{"body":"hi"}"#,
        );
        assert_eq!(status, 429);
        assert!(headers.contains("retry-after: 3"), "{headers}");
        assert!(body.contains("secondary rate limit"), "{body}");
    }
    assert!(
        fake.comments(7).is_empty(),
        "a refused write changes nothing"
    );
    octo.issues(OWNER, NAME)
        .create_comment(7, "hi")
        .await
        .unwrap();

    fake.fail_next("*", "/repos/acme/infra", 403, Some(60), 1);
    let response = octo
        ._get(format!("{url}/repos/{REPO}/pulls/7"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["retry-after"], "60");
    fake.fail_next("GET", "/repos/acme/infra/pulls", 403, None, 1);
    let response = octo
        ._get(format!("{url}/repos/{REPO}/pulls/7"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");

    fake.set_down(true);
    assert_eq!(
        status_of(octo.pulls(OWNER, NAME).get(7).await.unwrap_err()),
        503
    );
    assert_eq!(
        status_of(
            octo.issues(OWNER, NAME)
                .create_comment(7, "x")
                .await
                .unwrap_err()
        ),
        503
    );
    fake.set_down(false);
    octo.pulls(OWNER, NAME).get(7).await.unwrap();
    assert_eq!(fake.comments(7).len(), 1);
    assert!(
        fake.unexpected().is_empty(),
        "injected answers are expected: {:?}",
        fake.unexpected()
    );
}

#[tokio::test]
async fn unknown_routes_bad_bodies_and_missing_tokens_are_unexpected() {
    let fake = fake_with_pr(0);
    let octo = octo(&fake);
    let err = octo
        .get::<Value, _, _>(format!("/repos/{REPO}/branches"), None::<&()>)
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 404);
    let err = octo
        .get::<Value, _, _>("/repos/other/repo/pulls/7", None::<&()>)
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 404);
    let err = octo
        .post::<_, Value>(
            format!("/repos/{REPO}/issues/7/comments"),
            Some(&json!({"text": "hi"})),
        )
        .await
        .unwrap_err();
    assert_eq!(status_of(err), 422);
    let (status, _, body) = raw(&fake, "GET", "/repos/acme/infra/pulls/7", false, "");
    assert_eq!(status, 401);
    assert!(body.contains("Requires authentication"));

    let unexpected = fake.take_unexpected();
    assert_eq!(unexpected.len(), 4, "{unexpected:#?}");
    assert_eq!(
        unexpected[0],
        "GET /repos/acme/infra/branches → 404 Not Found"
    );
    assert!(
        unexpected[2].contains("\"body\" wasn't supplied"),
        "{}",
        unexpected[2]
    );
    assert_eq!(
        unexpected[3],
        "GET /repos/acme/infra/pulls/7 → 401 Requires authentication"
    );
    assert_eq!(fake.requests().len(), 4, "every request is recorded");
}
