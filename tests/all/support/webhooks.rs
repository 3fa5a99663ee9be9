//! Real webhook payloads from npm `@octokit/webhooks-examples` (installed by
//! scripts/setup-test-deps.sh), adjusted only where a test needs a field set.
//!
//! The package has no merged `closed` pull request and no `issue_comment` on a
//! pull request: [`merged_pr_closed`] and [`issue_comment_on_pr`] set the few
//! fields that make one out of a real example.

use std::io::Write;
use std::sync::OnceLock;

use serde_json::{Value, json};

fn index() -> &'static [Value] {
    static INDEX: OnceLock<Vec<Value>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
        );
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {path} ({e}): run scripts/setup-test-deps.sh"));
        serde_json::from_str(&text).expect("webhooks-examples index.json is a JSON list")
    })
}

/// A copy of the first example of `event` (e.g. `"pull_request"`) that `pred`
/// accepts. Panics naming the event when none does.
pub fn example(event: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let entry = index()
        .iter()
        .find(|e| e["name"] == event)
        .unwrap_or_else(|| panic!("@octokit/webhooks-examples has no event {event:?}"));
    entry["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| pred(e))
        .cloned()
        .unwrap_or_else(|| panic!("no {event} example matches the predicate"))
}

/// A `merge_group` `checks_requested` payload for a queue group: its
/// temporary branch, its head commit and the base it is built on.
pub fn merge_group(head_ref: &str, head_sha: &str, base_sha: &str) -> Value {
    let mut payload = example("merge_group", |e| e["action"] == "checks_requested");
    let group = &mut payload["merge_group"];
    group["head_ref"] = json!(head_ref);
    group["head_sha"] = json!(head_sha);
    group["base_sha"] = json!(base_sha);
    group["base_ref"] = json!("refs/heads/main");
    group["head_commit"]["id"] = json!(head_sha);
    payload
}

/// A `pull_request` payload with this `action` (opened, synchronize, reopened, closed…).
pub fn pull_request(action: &str) -> Value {
    example("pull_request", |e| e["action"] == action)
}

/// A `pull_request` `closed` payload of a merged PR.
pub fn merged_pr_closed() -> Value {
    let mut payload = example("pull_request", |e| {
        e["action"] == "closed" && e["pull_request"]["merged"] == false
    });
    let sender = payload["sender"].clone();
    let pr = &mut payload["pull_request"];
    pr["merged"] = json!(true);
    pr["state"] = json!("closed");
    pr["merge_commit_sha"] = json!("2222222222222222222222222222222222222222");
    if pr["merged_at"].is_null() {
        pr["merged_at"] = pr["closed_at"].clone();
    }
    pr["merged_by"] = sender;
    payload
}

/// An `issue_comment` `created` payload on a pull request, written by `user`.
pub fn issue_comment_on_pr(body: &str, user: &str) -> Value {
    let mut payload = example("issue_comment", |e| e["action"] == "created");
    let issue = &mut payload["issue"];
    let html = issue["html_url"]
        .as_str()
        .unwrap_or_default()
        .replace("/issues/", "/pull/");
    let url = issue["url"]
        .as_str()
        .unwrap_or_default()
        .replace("/issues/", "/pulls/");
    issue["pull_request"] = json!({
        "url": url,
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "merged_at": null,
    });
    payload["comment"]["body"] = json!(body);
    let comment_html = payload["comment"]["html_url"]
        .as_str()
        .unwrap_or_default()
        .replace("/issues/", "/pull/");
    payload["comment"]["html_url"] = json!(comment_html);
    set_login(&mut payload["comment"]["user"], user);
    set_login(&mut payload["sender"], user);
    // The comment's author may be anyone: what GitHub says about them here is
    // not to be trusted (the bot asks the permission API).
    payload["comment"]["author_association"] = json!("NONE");
    payload
}

/// A real `issue_comment` `created` payload, moved to issue `number` (an
/// issue, not a pull request) carrying `labels`, with `body` by `user`.
pub fn issue_comment_on_issue(number: u64, labels: &[&str], body: &str, user: &str) -> Value {
    let mut payload = example("issue_comment", |e| e["action"] == "created");
    let issue = &mut payload["issue"];
    if let Some(o) = issue.as_object_mut() {
        o.remove("pull_request");
    }
    issue["number"] = json!(number);
    issue["labels"] = Value::Array(
        labels
            .iter()
            .map(|l| json!({"id": 1, "node_id": "LA_1", "url": "", "name": l, "color": "ededed", "default": false, "description": null}))
            .collect(),
    );
    payload["comment"]["body"] = json!(body);
    set_login(&mut payload["comment"]["user"], user);
    set_login(&mut payload["sender"], user);
    payload
}

/// A `push` payload to `ref_` (e.g. `"refs/heads/main"`) from `before` to
/// `after`, with one commit touching `files`: `(path, "added"|"removed"|"modified")`.
pub fn push(ref_: &str, before: &str, after: &str, files: &[(&str, &str)]) -> Value {
    let mut payload = example("push", |e| {
        e["ref"]
            .as_str()
            .is_some_and(|r| r.starts_with("refs/heads/"))
            && e["head_commit"].is_object()
    });
    let old_after = payload["after"].as_str().unwrap_or_default().to_string();
    payload["ref"] = json!(ref_);
    payload["before"] = json!(before);
    payload["after"] = json!(after);
    payload["created"] = json!(before.bytes().all(|b| b == b'0'));
    let full = payload["repository"]["full_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    payload["compare"] = json!(format!(
        "https://github.com/{full}/compare/{}...{}",
        &before[..12.min(before.len())],
        &after[..12.min(after.len())]
    ));
    let pick = |status: &str| -> Vec<&str> {
        files
            .iter()
            .filter(|(_, s)| *s == status)
            .map(|(p, _)| *p)
            .collect()
    };
    for (_, status) in files {
        assert!(
            ["added", "removed", "modified"].contains(status),
            "push: file status {status:?} is not added, removed or modified"
        );
    }
    let mut commit = payload["head_commit"].clone();
    commit["id"] = json!(after);
    commit["url"] = json!(
        commit["url"]
            .as_str()
            .unwrap_or_default()
            .replace(&old_after, after)
    );
    commit["added"] = json!(pick("added"));
    commit["removed"] = json!(pick("removed"));
    commit["modified"] = json!(pick("modified"));
    payload["commits"] = json!([commit.clone()]);
    payload["head_commit"] = commit;
    payload
}

/// Points every repository of the payload at `owner/name` (URLs included).
pub fn set_repo(payload: &mut Value, owner: &str, name: &str) {
    let Some(old) = payload["repository"]["full_name"]
        .as_str()
        .map(str::to_string)
    else {
        panic!("set_repo: the payload has no repository.full_name");
    };
    let new = format!("{owner}/{name}");
    rewrite(payload, &old, &new);
    set_repo_object(&mut payload["repository"], owner, name);
    if payload.get("pull_request").is_some() {
        for side in ["head", "base"] {
            let side = &mut payload["pull_request"][side];
            let label = format!("{owner}:{}", side["ref"].as_str().unwrap_or_default());
            side["label"] = json!(label);
            set_repo_object(&mut side["repo"], owner, name);
        }
    }
}

fn set_repo_object(repo: &mut Value, owner: &str, name: &str) {
    if repo.is_object() {
        repo["name"] = json!(name);
        repo["full_name"] = json!(format!("{owner}/{name}"));
        set_login(&mut repo["owner"], owner);
    }
}

/// Sets the pull request's number, head SHA and base branch in a
/// `pull_request` payload; in an `issue_comment` payload, which carries no
/// SHA or branch (the bot asks `GET /pulls/{n}`), only the number.
pub fn set_pr(payload: &mut Value, number: u64, head_sha: &str, base_ref: &str) {
    if payload.get("pull_request").is_some() {
        let old_number = payload["pull_request"]["number"]
            .as_u64()
            .expect("pull_request.number");
        let old_sha = payload["pull_request"]["head"]["sha"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        rewrite_numbered(&mut payload["pull_request"], old_number, number);
        if !old_sha.is_empty() {
            rewrite(&mut payload["pull_request"], &old_sha, head_sha);
        }
        payload["number"] = json!(number);
        let pr = &mut payload["pull_request"];
        pr["number"] = json!(number);
        pr["head"]["sha"] = json!(head_sha);
        pr["base"]["ref"] = json!(base_ref);
        let owner = pr["base"]["repo"]["owner"]["login"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        pr["base"]["label"] = json!(format!("{owner}:{base_ref}"));
    } else if payload.get("issue").is_some() {
        let old_number = payload["issue"]["number"].as_u64().expect("issue.number");
        rewrite_numbered(&mut payload["issue"], old_number, number);
        rewrite_numbered(&mut payload["comment"], old_number, number);
        payload["issue"]["number"] = json!(number);
    } else {
        panic!("set_pr: the payload has neither pull_request nor issue");
    }
}

/// Sets the `issue_comment` payload's comment id (the one the fake gave it).
pub fn set_comment_id(payload: &mut Value, id: u64) {
    let old = payload["comment"]["id"].as_u64().expect("comment.id");
    let comment = &mut payload["comment"];
    rewrite(
        comment,
        &format!("comments/{old}"),
        &format!("comments/{id}"),
    );
    rewrite(
        comment,
        &format!("issuecomment-{old}"),
        &format!("issuecomment-{id}"),
    );
    comment["id"] = json!(id);
}

/// Writes the payload to a temporary file, for `GITHUB_EVENT_PATH`.
pub fn event_file(payload: &Value) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .prefix("github-event-")
        .suffix(".json")
        .tempfile()
        .expect("temp file for the event");
    serde_json::to_writer_pretty(&mut file, payload).expect("write the event");
    file.flush().expect("flush the event");
    file
}

fn set_login(user: &mut Value, login: &str) {
    if !user.is_object() {
        return;
    }
    let old = user["login"].as_str().unwrap_or_default().to_string();
    if !old.is_empty() {
        rewrite(user, &format!("/{old}"), &format!("/{login}"));
    }
    user["login"] = json!(login);
    user["type"] = json!(if login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    });
}

/// Replaces `/N` (path segment) and `#N` by the new number in every string.
fn rewrite_numbered(value: &mut Value, old: u64, new: u64) {
    for (from, to) in [
        (format!("/{old}"), format!("/{new}")),
        (format!("#{old}"), format!("#{new}")),
    ] {
        rewrite_segment(value, &from, &to);
    }
}

/// Replaces `from` where it ends a path segment (not `/2` inside `/23`).
fn rewrite_segment(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find(from) {
                let after = &rest[i + from.len()..];
                out.push_str(&rest[..i]);
                if after.is_empty() || after.starts_with(['/', '.', '#', '?', '{']) {
                    out.push_str(to);
                } else {
                    out.push_str(from);
                }
                rest = after;
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_segment(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite_segment(v, from, to)),
        _ => {}
    }
}

fn rewrite(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite(v, from, to)),
        _ => {}
    }
}
