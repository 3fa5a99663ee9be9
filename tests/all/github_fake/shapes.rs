//! Every response the fake gives has the shape GitHub's OpenAPI
//! description documents.

use serde_json::{Value, json};

use crate::support::PullSpec;
use crate::support::github;

use super::{HEAD, MERGE, REPO, fake_with_pr, octo};

/// Every required property of `schema` (GitHub's OpenAPI) present in `value`,
/// recursively; types checked for scalars. Returns what is wrong.
fn shape_errors(value: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    let spec = github::openapi();
    let mut schema = schema;
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        schema = spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("no {r}"));
    }
    if value.is_null() {
        return; // nullability is not checked: the fake copies GitHub's own examples
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            shape_errors(value, s, at, out);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            let fits = alternatives.iter().any(|s| {
                let mut e = Vec::new();
                shape_errors(value, s, at, &mut e);
                e.is_empty()
            });
            if !fits {
                out.push(format!("{at}: fits none of {key}"));
            }
            return;
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ if schema.get("properties").is_some() => vec!["object"],
        _ => return,
    };
    let fits = types.iter().any(|t| match *t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    });
    if !fits {
        out.push(format!("{at}: {value} is not {types:?}"));
        return;
    }
    if let Some(object) = value.as_object() {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                out.push(format!("{at}.{key}: missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (key, sub) in props {
                if let Some(v) = object.get(key) {
                    shape_errors(v, sub, &format!("{at}.{key}"), out);
                }
            }
        }
    }
    if let (Some(items), Some(sub)) = (value.as_array(), schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            shape_errors(v, sub, &format!("{at}[{i}]"), out);
        }
    }
}

/// The JSON schema of an operation's response in GitHub's OpenAPI description.
fn response_schema(path: &str, method: &str, status: &str) -> &'static Value {
    let spec = github::openapi();
    let mut response = &spec["paths"][path][method]["responses"][status];
    if let Some(r) = response.get("$ref").and_then(Value::as_str) {
        response = spec.pointer(r.trim_start_matches('#')).unwrap();
    }
    let schema = &response["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "no schema for {method} {path} {status}");
    schema
}

#[tokio::test]
async fn every_response_has_the_shape_github_documents() {
    let fake = fake_with_pr(2);
    fake.add_pull(
        REPO,
        PullSpec {
            number: 9,
            merged: true,
            merge_commit_sha: Some(MERGE.into()),
            ..Default::default()
        },
    );
    fake.set_permission("bob", "maintain");
    let octo = octo(&fake);
    let r = format!("/repos/{REPO}");
    let comment: Value = octo
        .post(
            format!("{r}/issues/7/comments"),
            Some(&json!({"body": "hi"})),
        )
        .await
        .unwrap();
    let id = comment["id"].as_u64().unwrap();
    let reaction: Value = octo
        .post(
            format!("{r}/issues/comments/{id}/reactions"),
            Some(&json!({"content": "eyes"})),
        )
        .await
        .unwrap();
    let status: Value = octo
        .post(
            format!("{r}/statuses/{HEAD}"),
            Some(&json!({"state": "success", "context": "c"})),
        )
        .await
        .unwrap();
    let deployment: Value = octo
        .post(
            format!("{r}/deployments"),
            Some(&json!({"ref": HEAD, "environment": "web", "required_contexts": []})),
        )
        .await
        .unwrap();
    let did = deployment["id"].as_u64().unwrap();
    let dstatus: Value = octo
        .post(
            format!("{r}/deployments/{did}/statuses"),
            Some(&json!({"state": "success"})),
        )
        .await
        .unwrap();
    let issue: Value = octo
        .post(
            format!("{r}/issues"),
            Some(&json!({"title": "Drift", "labels": ["drift"]})),
        )
        .await
        .unwrap();
    let patched: Value = octo
        .patch(format!("{r}/issues/10"), Some(&json!({"state": "closed"})))
        .await
        .unwrap();
    let edited: Value = octo
        .patch(
            format!("{r}/issues/comments/{id}"),
            Some(&json!({"body": "edited"})),
        )
        .await
        .unwrap();
    let labels: Value = octo
        .post(
            format!("{r}/issues/10/labels"),
            Some(&json!({"labels": ["x"]})),
        )
        .await
        .unwrap();
    // Labels, reviews and check runs (plan labels, apply requirements,
    // the plan's check run).
    let made_label: Value = octo
        .post(
            format!("{r}/labels"),
            Some(&json!({"name": "ec2-gitops: changes", "color": "fbca04", "description": "d"})),
        )
        .await
        .unwrap();
    let got_label: Value = octo
        .get(format!("{r}/labels/ec2-gitops%3A%20changes"), None::<&()>)
        .await
        .unwrap();
    let removed_label: Value = octo
        .delete(format!("{r}/issues/10/labels/x"), None::<&()>)
        .await
        .unwrap();
    fake.add_review(REPO, 7, "bob", "APPROVED", HEAD);
    let reviews: Value = octo
        .get(format!("{r}/pulls/7/reviews"), None::<&()>)
        .await
        .unwrap();
    let check: Value = octo
        .post(
            format!("{r}/check-runs"),
            Some(&json!({
                "name": "ec2-gitops/plan", "head_sha": HEAD, "status": "completed",
                "conclusion": "success",
                "output": {"title": "Plan: 1 to create", "summary": "s", "text": "t",
                    "annotations": [{"path": "infra/web.yaml", "start_line": 3, "end_line": 3,
                        "annotation_level": "warning", "message": "m"}]},
            })),
        )
        .await
        .unwrap();
    let check_id = check["id"].as_u64().unwrap();
    let updated_check: Value = octo
        .patch(
            format!("{r}/check-runs/{check_id}"),
            Some(&json!({"conclusion": "failure", "output": {"title": "x", "summary": "y"}})),
        )
        .await
        .unwrap();

    let get = |path: String| {
        let octo = octo.clone();
        async move { octo.get::<Value, _, _>(path, None::<&()>).await.unwrap() }
    };
    fake.set_file(REPO, HEAD, "infra/web.yaml", b"version: 1\n");
    let checks: Vec<(&str, &str, &str, Value)> = vec![
        (
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            "get",
            "200",
            get(format!("{r}/pulls/7")).await,
        ),
        (
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            "get",
            "200",
            get(format!("{r}/pulls/9")).await,
        ),
        (
            "/repos/{owner}/{repo}/pulls",
            "get",
            "200",
            get(format!("{r}/pulls?state=all")).await,
        ),
        (
            "/repos/{owner}/{repo}/pulls/{pull_number}/files",
            "get",
            "200",
            get(format!("{r}/pulls/7/files")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            "get",
            "200",
            get(format!("{r}/issues/7/comments")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            "post",
            "201",
            comment,
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            "patch",
            "200",
            edited,
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            "get",
            "200",
            get(format!("{r}/issues/comments/{id}")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            "post",
            "201",
            reaction,
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
            "get",
            "200",
            get(format!("{r}/issues/comments/{id}/reactions")).await,
        ),
        (
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            "get",
            "200",
            get(format!("{r}/collaborators/bob/permission")).await,
        ),
        (
            "/repos/{owner}/{repo}/statuses/{sha}",
            "post",
            "201",
            status,
        ),
        (
            "/repos/{owner}/{repo}/commits/{ref}/statuses",
            "get",
            "200",
            get(format!("{r}/commits/{HEAD}/statuses")).await,
        ),
        (
            "/repos/{owner}/{repo}/deployments",
            "post",
            "201",
            deployment,
        ),
        (
            "/repos/{owner}/{repo}/deployments",
            "get",
            "200",
            get(format!("{r}/deployments")).await,
        ),
        (
            "/repos/{owner}/{repo}/deployments/{deployment_id}",
            "get",
            "200",
            get(format!("{r}/deployments/{did}")).await,
        ),
        (
            "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
            "post",
            "201",
            dstatus,
        ),
        (
            "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
            "get",
            "200",
            get(format!("{r}/deployments/{did}/statuses")).await,
        ),
        (
            "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
            "get",
            "200",
            get(format!("{r}/commits/{MERGE}/pulls")).await,
        ),
        ("/repos/{owner}/{repo}/issues", "post", "201", issue),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}",
            "patch",
            "200",
            patched,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}",
            "get",
            "200",
            get(format!("{r}/issues/7")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues",
            "get",
            "200",
            get(format!("{r}/issues?state=all")).await,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/labels",
            "post",
            "200",
            labels,
        ),
        (
            "/repos/{owner}/{repo}/contents/{path}",
            "get",
            "200",
            get(format!("{r}/contents/infra/web.yaml?ref={HEAD}")).await,
        ),
        ("/repos/{owner}/{repo}/labels", "post", "201", made_label),
        (
            "/repos/{owner}/{repo}/labels/{name}",
            "get",
            "200",
            got_label,
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
            "delete",
            "200",
            removed_label,
        ),
        (
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            "get",
            "200",
            reviews,
        ),
        ("/repos/{owner}/{repo}/check-runs", "post", "201", check),
        (
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            "patch",
            "200",
            updated_check,
        ),
    ];
    // The check itself finds a missing field and a wrong type.
    let mut broken = checks[5].3.clone();
    broken.as_object_mut().unwrap().remove("user");
    broken["id"] = json!("1");
    let mut errors = Vec::new();
    shape_errors(
        &broken,
        response_schema(checks[5].0, "post", "201"),
        "comment",
        &mut errors,
    );
    assert_eq!(
        errors,
        [
            "comment.user: missing",
            "comment.id: \"1\" is not [\"integer\"]"
        ]
    );

    let mut errors = Vec::new();
    for (path, method, status, value) in &checks {
        assert!(
            !value.is_null() && value.as_array().is_none_or(|a| !a.is_empty()),
            "{method} {path}: nothing to check"
        );
        shape_errors(
            value,
            response_schema(path, method, status),
            &format!("{method} {path}"),
            &mut errors,
        );
    }
    assert!(
        errors.is_empty(),
        "responses differ from GitHub's OpenAPI description:\n{}",
        errors.join("\n")
    );
    assert!(fake.unexpected().is_empty(), "{:?}", fake.unexpected());
}
