//! Hostile comments and payloads through `ec2-gitops action`: the real
//! binary, real webhook payloads (bent the way an attacker or a broken runner
//! would bend them), the stateful GitHub fake and moto behind a recording
//! proxy. Every case checks what the fake holds afterwards (comments,
//! reactions, statuses, the requests it got), that EC2 was never called,
//! and the exit code documented in the README ("Exit codes": the action
//! exits 0 when the event was handled, refusals and "nothing to do"
//! included, and 1 when a plan or apply failed or the event could not be
//! handled).

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::action::{BIN, HEAD, REPO, Run, World};
use crate::support::github::BOT_LOGIN;
use crate::support::{plan_meta, webhooks};

/// The pull request every case comments on; it changes the stack file.
const PR: u64 = 50;
/// GitHub's limit on a comment body, in characters.
const COMMENT_LIMIT: usize = 65_536;

/// A world with PR 50 open and users of every role.
fn world(stack: &str) -> World {
    let w = World::new(stack);
    w.pull(PR, HEAD, &["infra/web.yaml"]);
    w.gh.set_permission("nobody", "none");
    w.gh.set_permission("triager", "triage");
    w.gh.set_permission("maintainer", "maintain");
    w
}

/// Checks what every case must hold, whatever the event: no panic, the
/// expected exit code, no EC2 call, nothing the fake did not expect.
fn check(case: &str, w: &World, r: &Run, code: i32) {
    let stderr = String::from_utf8_lossy(&r.out.stderr);
    assert!(!stderr.contains("panicked"), "{case}: {}", r.text());
    assert_eq!(r.code(), Some(code), "{case}: {}", r.text());
    assert_eq!(
        w.proxy.total(),
        0,
        "{case}: EC2 was called: {:?}\n{}",
        w.proxy.actions(),
        r.text()
    );
    assert_eq!(
        w.gh.unexpected(),
        Vec::<String>::new(),
        "{case}: {}",
        r.text()
    );
}

/// Runs `body` as a new comment by `user` on PR 50 and checks that the
/// action did nothing at all: no GitHub request, no EC2 call, exit 0.
fn ignored(w: &World, case: &str, body: &str, user: &str) {
    let ev = w.comment_event(PR, body, user);
    let before = w.gh.comments(PR).len();
    w.gh.clear_requests();
    let r = w.run("issue_comment", ev, HEAD);
    check(case, w, &r, 0);
    assert_eq!(w.gh.requests(), vec![], "{case}: {}", r.text());
    assert_eq!(w.gh.comments(PR).len(), before, "{case}");
}

/// Runs the action on a payload file with these exact bytes (no repository
/// rewritten: the payload may not even be JSON), as `World::run` does
/// otherwise.
fn run_raw(w: &World, event: &str, payload: &[u8]) -> Run {
    let file = w.dir.path().join("event.json");
    std::fs::write(&file, payload).unwrap();
    run_file(w, event, &file)
}

fn run_file(w: &World, event: &str, file: &Path) -> Run {
    let summary = w.dir.path().join("summary.md");
    let outputs = w.dir.path().join("outputs.txt");
    let _ = std::fs::remove_file(&summary);
    let _ = std::fs::remove_file(&outputs);
    let out = Command::new(BIN)
        .arg("action")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", file)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_API_URL", w.gh.url())
        .env("GITHUB_SHA", HEAD)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_WORKSPACE", w.dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("INPUT_GITHUB-TOKEN", "ghs_test")
        .env("EC2_GITOPS_GITHUB_BACKOFF_MS", "20")
        .env("AWS_ENDPOINT_URL", w.proxy.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        out,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
    }
}

/// The bot's comments on PR 50 that are not the plan comment.
fn replies(w: &World) -> Vec<String> {
    w.bot_comments(PR)
        .into_iter()
        .map(|c| c.body)
        .filter(|b| plan_meta(b).is_none())
        .collect()
}

/// The methods and paths of the requests since the last clear, in order.
fn requests(w: &World) -> Vec<String> {
    w.gh.requests().iter().map(|r| r.line()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_from_people_without_write_access_are_refused_politely() {
    let w = world("hs1");
    let cases = [
        ("/plan by a read user", "/plan", "reader", "read"),
        ("/apply by a read user", "/apply", "reader", "read"),
        (
            "/apply by a user with no access",
            "/apply",
            "nobody",
            "none",
        ),
        (
            "/plan by a triage user",
            "please\n/plan web",
            "triager",
            "triage",
        ),
    ];
    for (case, body, user, permission) in cases {
        let ev = w.comment_event(PR, body, user);
        let id = ev["comment"]["id"].as_u64().unwrap();
        let before = replies(&w).len();
        w.gh.clear_requests();
        let r = w.run("issue_comment", ev, HEAD);
        check(case, &w, &r, 0);
        // The reply is all that is written for someone who may not run
        // commands: not even a reaction.
        assert_eq!(w.gh.reactions(id), Vec::<String>::new(), "{case}");
        let new = &replies(&w)[before..];
        assert_eq!(new.len(), 1, "{case}: {new:#?}");
        assert!(
            new[0].contains(&format!("@{user} thanks — only people with write access"))
                && new[0].contains(&format!("(your permission: `{permission}`)"))
                && new[0].contains("Nothing was run"),
            "{case}: {}",
            new[0]
        );
        // Exactly: the permission, then the reply. No reaction, plan or status.
        assert_eq!(
            requests(&w),
            [
                format!("GET /repos/{REPO}/collaborators/{user}/permission"),
                format!("POST /repos/{REPO}/issues/{PR}/comments"),
            ],
            "{case}"
        );
        assert!(w.gh.checks(HEAD).is_empty(), "{case}");
        assert!(
            r.summary.contains("may not run commands: refused"),
            "{case}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn text_that_only_looks_like_a_command_does_nothing() {
    let w = world("hs2");
    ignored(
        &w,
        "fenced code block",
        "Run this:\n```sh\n/apply\n```\n~~~\n/plan\n~~~",
        "writer",
    );
    ignored(
        &w,
        "indented code block",
        "Like so:\n\n    /apply\n\n\t/plan\n",
        "writer",
    );
    ignored(
        &w,
        "quote",
        "> /apply\n>\n> /plan\nI would not do that.",
        "writer",
    );
    ignored(
        &w,
        "inline code",
        "`/apply` after the merge, and `/plan` before\n`/plan`",
        "writer",
    );
    ignored(
        &w,
        "path and number",
        "/usr/bin/env\n/5 minutes\n/ plan",
        "writer",
    );
    ignored(
        &w,
        "1 MB without a command",
        &"lorem ipsum plan apply ".repeat(45_000),
        "writer",
    );
    // Our own comments hold commands (the help table): a bot is never obeyed.
    ignored(&w, "github-actions[bot]", "/plan\n/apply", BOT_LOGIN);
    ignored(&w, "another bot", "/apply", "dependabot[bot]");

    // Not a new comment on a pull request: edited, deleted, on an issue.
    for (case, action) in [("edited", "edited"), ("deleted", "deleted")] {
        let mut ev = w.comment_event(PR, "/apply", "writer");
        ev["action"] = json!(action);
        if action == "edited" {
            ev["changes"] = json!({ "body": { "from": "looks good" } });
        }
        w.gh.clear_requests();
        let r = w.run("issue_comment", ev, HEAD);
        check(case, &w, &r, 0);
        assert_eq!(requests(&w), Vec::<String>::new(), "{case}");
        assert!(
            String::from_utf8_lossy(&r.out.stdout).contains("not a new comment on a pull request"),
            "{case}: {}",
            r.text()
        );
    }
    let mut ev = w.comment_event(PR, "/plan", "writer");
    ev["issue"].as_object_mut().unwrap().remove("pull_request");
    w.gh.clear_requests();
    let r = w.run("issue_comment", ev, HEAD);
    check("comment on an issue", &w, &r, 0);
    assert_eq!(requests(&w), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn floods_get_one_answer_each_and_replies_stay_under_githubs_limit() {
    let w = world("hs3");
    // A command buried in 1 MB of text is still a command (one per line,
    // anywhere); /help needs no EC2.
    let filler = "x".repeat(80) + "\n";
    let body = format!("{}/help\n{}", filler.repeat(6_500), filler.repeat(6_500));
    assert!(body.len() > 1_000_000);
    let ev = w.comment_event(PR, &body, "writer");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let r = w.run("issue_comment", ev, HEAD);
    check("1 MB with a buried /help", &w, &r, 0);
    assert_eq!(w.gh.reactions(id), ["eyes", "rocket"]);
    let all = replies(&w);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(all[0].contains("**ec2-gitops commands**"), "{}", all[0]);

    // The same command 100 times is answered once.
    let ev = w.comment_event(PR, &"/help\n".repeat(100), "maintainer");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let r = w.run("issue_comment", ev, HEAD);
    check("100 × /help", &w, &r, 0);
    assert_eq!(w.gh.reactions(id), ["eyes", "rocket"]);
    assert_eq!(replies(&w).len(), 2, "{:#?}", replies(&w));

    // 100 unknown commands: one reply, about the first.
    let body: String = (0..100)
        .map(|i| format!("/destroy-{i} everything\n"))
        .collect();
    let ev = w.comment_event(PR, &body, "writer");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let r = w.run("issue_comment", ev, HEAD);
    check("100 unknown commands", &w, &r, 1);
    assert_eq!(w.gh.reactions(id), ["eyes", "confused"]);
    let all = replies(&w);
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(
        all[2].contains("`/destroy-0` is not an ec2-gitops command"),
        "{}",
        all[2]
    );

    // A 1 MB command word: the reply quotes it cut short.
    let ev = w.comment_event(PR, &format!("/{}", "a".repeat(1_000_000)), "writer");
    let r = w.run("issue_comment", ev, HEAD);
    check("1 MB command word", &w, &r, 1);
    let all = replies(&w);
    assert_eq!(all.len(), 4);
    assert!(
        all[3].chars().count() < COMMENT_LIMIT,
        "{} chars",
        all[3].len()
    );
    assert!(
        all[3].contains("is not an ec2-gitops command"),
        "{}",
        &all[3][..200]
    );

    // From a read user, 100 commands are one refusal.
    let ev = w.comment_event(PR, &"/apply\n/plan\n".repeat(50), "reader");
    let id = ev["comment"]["id"].as_u64().unwrap();
    let r = w.run("issue_comment", ev, HEAD);
    check("100 commands by a read user", &w, &r, 0);
    assert_eq!(w.gh.reactions(id), Vec::<String>::new());
    assert_eq!(replies(&w).len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_names_with_shell_metacharacters_are_only_names() {
    let w = world("hs4");
    // The PR's plan comment as the bot wrote it earlier.
    let plan: &str = &format!(
        "{}\n## ec2-gitops plan\n\nPlan: 8 to create\n",
        r#"<!-- ec2-gitops: {"kind":"plan","status":"planned","head":"1111111111111111111111111111111111111111","stacks":[]} -->"#
    );
    let plan_id = w.gh.add_comment(REPO, PR, BOT_LOGIN, plan);
    let canary = w.dir.path().join("pwned");
    let hostile = [
        format!(
            "/plan $(touch {}) ; rm -rf / | cat `id` && echo",
            canary.display()
        ),
        format!("/plan {}", "s".repeat(10_000)),
        "/plan hs4x".to_string(),
        "/plan ../../etc/passwd <script>alert(1)</script> @octocat".to_string(),
    ];
    for body in &hostile {
        let case = &body[..body.len().min(60)];
        let ev = w.comment_event(PR, body, "writer");
        let id = ev["comment"]["id"].as_u64().unwrap();
        let before = replies(&w).len();
        let r = w.run("issue_comment", ev, HEAD);
        check(case, &w, &r, 1);
        assert!(!canary.exists(), "{case}: a shell ran the stack names");
        assert_eq!(
            w.gh.reactions(id),
            ["eyes", "confused"],
            "{case}: {}",
            r.text()
        );
        // The reviewed plan is untouched; one reply says what exists.
        let c =
            w.gh.comments(PR)
                .into_iter()
                .find(|c| c.id == plan_id)
                .unwrap();
        assert_eq!((c.body.as_str(), c.updates), (plan, 0), "{case}");
        let new = &replies(&w)[before..];
        assert_eq!(new.len(), 1, "{case}: {new:#?}");
        assert!(new[0].chars().count() < 2_000, "{case}: {}", new[0]);
        assert!(
            new[0].contains("changes no stack named") && new[0].contains("`hs4`"),
            "{case}: {}",
            new[0]
        );
        assert!(
            // Quoted as code: no HTML, no mention.
            !new[0].contains(" <script>") && !new[0].contains(" @octocat"),
            "{}",
            new[0]
        );
        assert!(w.gh.checks(HEAD).is_empty(), "{case}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_it_does_not_handle_and_fork_pull_requests_call_nobody() {
    let w = world("hs5");
    // With a personal access token too: the bot's login is asked from
    // GitHub only when an event needs it.
    let pat = [(
        "INPUT_GITHUB-TOKEN",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
    )];
    for (event, env) in [
        ("star", &[][..]),
        ("watch", &[][..]),
        ("fork", &[][..]),
        ("watch", &pat[..]),
    ] {
        let payload = webhooks::example(event, |_| true);
        w.gh.clear_requests();
        let r = w.run_with(event, payload, HEAD, env);
        check(event, &w, &r, 0);
        assert_eq!(requests(&w), Vec::<String>::new(), "{event}");
        assert!(
            String::from_utf8_lossy(&r.out.stdout)
                .contains(&format!("nothing to do for event {event}")),
            "{}",
            r.text()
        );
    }
    let r = run_raw(
        &w,
        "definitely_not_an_event",
        b"{\"zen\": \"Keep it logically awesome.\"}",
    );
    check("invented event", &w, &r, 0);
    assert_eq!(requests(&w), Vec::<String>::new());

    // A pull request from a fork: in the documented workflow it has no AWS
    // credentials and a read-only token. Nothing is planned or written; the
    // log and the job summary say why and what to do.
    for action in ["opened", "synchronize"] {
        let mut ev = w.pr_event(action, PR, HEAD);
        webhooks::set_repo(&mut ev, "octo", "infra");
        let head_repo = &mut ev["pull_request"]["head"]["repo"];
        head_repo["full_name"] = json!("mallory/infra");
        head_repo["owner"]["login"] = json!("mallory");
        head_repo["fork"] = json!(true);
        w.gh.clear_requests();
        let r = run_raw(&w, "pull_request", &serde_json::to_vec(&ev).unwrap());
        check(&format!("fork PR {action}"), &w, &r, 0);
        assert_eq!(requests(&w), Vec::<String>::new(), "{}", r.text());
        let stdout = String::from_utf8_lossy(&r.out.stdout);
        assert!(
            stdout.contains("comes from the fork mallory/infra") && stdout.contains("/plan"),
            "{}",
            r.text()
        );
        assert!(r.summary.contains("mallory/infra"), "{}", r.text());
    }
    assert!(w.bot_comments(PR).is_empty());
    assert!(w.gh.checks(HEAD).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_github_never_sends_fail_with_a_clear_error_and_call_nobody() {
    let w = world("hs6");
    let mut no_pr = w.pr_event("opened", PR, HEAD);
    webhooks::set_repo(&mut no_pr, "octo", "infra");
    no_pr.as_object_mut().unwrap().remove("pull_request");
    let mut no_user = w.comment_event(PR, "/apply", "writer");
    webhooks::set_repo(&mut no_user, "octo", "infra");
    no_user["comment"].as_object_mut().unwrap().remove("user");
    let mut bad_number = w.pr_event("opened", PR, HEAD);
    bad_number["pull_request"]["number"] = json!("fifty");
    let mut huge_number = w.pr_event("opened", PR, HEAD);
    huge_number["pull_request"]["number"] = json!(1e30);
    let push = webhooks::push("refs/heads/main", HEAD, HEAD, &[]);
    let comment = w.comment_event(PR, "/plan", "writer");
    let json = |v: &Value| serde_json::to_vec(v).unwrap();
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "no pull_request",
            "pull_request",
            json(&no_pr),
            "missing field `pull_request`",
        ),
        (
            "no comment.user",
            "issue_comment",
            json(&no_user),
            "missing field `user`",
        ),
        (
            "number is text",
            "pull_request",
            json(&bad_number),
            "invalid type: string \"fifty\"",
        ),
        (
            "number is 1e30",
            "pull_request",
            json(&huge_number),
            "invalid type: floating point",
        ),
        (
            "not JSON",
            "pull_request",
            b"<html>502 Bad Gateway</html>".to_vec(),
            "expected value",
        ),
        (
            "empty file",
            "issue_comment",
            Vec::new(),
            "EOF while parsing",
        ),
        (
            "binary",
            "push",
            vec![0xff, 0xfe, 0x00, 0x9c],
            "expected value",
        ),
        (
            "a push as issue_comment",
            "issue_comment",
            json(&push),
            "missing field `action`",
        ),
        (
            "a comment as pull_request",
            "pull_request",
            json(&comment),
            "missing field `pull_request`",
        ),
        (
            "a comment as push",
            "push",
            json(&comment),
            "missing field `ref`",
        ),
    ];
    for (case, event, bytes, says) in cases {
        w.gh.clear_requests();
        let r = run_raw(&w, event, &bytes);
        check(case, &w, &r, 1);
        assert_eq!(requests(&w), Vec::<String>::new(), "{case}");
        let stderr = String::from_utf8_lossy(&r.out.stderr);
        assert!(
            stderr.contains(&format!("the {event} event payload"))
                && stderr.contains(says)
                && stderr.contains("GITHUB_EVENT_PATH"),
            "{case}: {}",
            r.text()
        );
    }
    // A login GitHub never makes: it would end up in an API path.
    let mut ev = w.comment_event(PR, "/plan", "writer");
    ev["comment"]["user"]["login"] = json!("../../../orgs/octo/members");
    w.gh.clear_requests();
    let r = w.run("issue_comment", ev, HEAD);
    check("a login with slashes", &w, &r, 1);
    assert_eq!(requests(&w), Vec::<String>::new());
    assert!(
        String::from_utf8_lossy(&r.out.stderr).contains("is not a GitHub login"),
        "{}",
        r.text()
    );

    w.gh.clear_requests();
    let r = run_file(
        &w,
        "issue_comment",
        &w.dir.path().join("no-such-event.json"),
    );
    check("missing payload file", &w, &r, 1);
    assert_eq!(requests(&w), Vec::<String>::new());
    assert!(
        String::from_utf8_lossy(&r.out.stderr).contains("cannot read the event payload"),
        "{}",
        r.text()
    );
    assert!(w.bot_comments(PR).is_empty());
}
