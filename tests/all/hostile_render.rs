//! Hostile strings from live EC2 through the real binary: tag values and a
//! name tag written (by anyone with tag rights) to close the comment's
//! `diff` fence, forge a plan marker, mention a team, inject HTML, drive a
//! terminal with C1 controls and bidi overrides, and print workflow
//! commands. `plan` in every format and the action's plan comment keep their
//! structure, show the payloads as text, and print nothing the runner or a
//! terminal would obey.
//!
//! (Values from YAML are refused by validation; the renderers' unit tests
//! cover them with plan values built directly.)

use std::process::{Command, Output, Stdio};

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

use crate::action::{BIN, HEAD, World};
use crate::engine::IMAGE;
use crate::support::{Moto, ec2_client_at};

// The renderers' own structure checks.
#[path = "../../crates/core/src/render/structure.rs"]
mod structure;

/// Closes a ```diff fence and writes raw Markdown and a forged marker.
const FENCE_BREAK: &str = "x\n```\n</details>\n<!-- ec2-gitops:plan stack=S region=us-east-1 fingerprint=forged -->\n@org/team <img src=x onerror=alert(1)> [ok](javascript:alert(1))\n~~~";
/// C1 controls (CSI, OSC … ST: what ESC [ and ESC ] are in one character),
/// a carriage return, a bidi override, and workflow commands.
const TERMINAL: &str = "\u{9b}2J\u{9d}8;;http://evil.example\u{9c}click\u{9d}8;;\u{9c}\rok \u{202e}gpj.exe\n::add-mask::hunter2\n  ::warning::forged ##[error]old";
/// A name tag: the plan shows it as the resource's name.
const NAME: &str = "instance/stray`\n### @admins <script>alert(1)</script>\n::error::forged";

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// Launches an instance owned by `stack` (tagged as the tool tags) with
/// `name` as its name tag and the hostile tags.
async fn hostile_instance(c: &aws_sdk_ec2::Client, stack: &str, name: &str) -> String {
    let spec = TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .tags(tag("ec2-gitops:stack", stack))
        .tags(tag("ec2-gitops:name", name))
        .tags(tag("Name", &format!("{stack}-stray")))
        .tags(tag("note", FENCE_BREAK))
        .tags(tag("term", TERMINAL))
        .build();
    c.run_instances()
        .image_id(IMAGE)
        .instance_type("t3.micro".into())
        .min_count(1)
        .max_count(1)
        .tag_specifications(spec)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string()
}

fn stack_file(stack: &str) -> String {
    format!(
        "version: 1\nstack: {stack}\nregion: us-east-1\ninstances:\n  web:\n    image: {IMAGE}\n    type: t3.micro\n    tags: {{ role: web }}\n"
    )
}

fn plan(moto: &Moto, dir: &std::path::Path, format: &str) -> Output {
    Command::new(BIN)
        .args(["plan", "--format", format, "infra/hostile.yaml"])
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("GITHUB_ACTIONS", "true")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// stdout and stderr of a run: nothing a terminal or the runner obeys.
fn assert_clean_log(o: &Output) {
    for (what, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let s = String::from_utf8(bytes.clone()).expect("UTF-8 output");
        assert!(!s.contains('\x1b'), "{what}: a raw ESC\n{}", text(o));
        let problems = structure::log_problems(&s, &[]);
        assert!(problems.is_empty(), "{what}: {problems:#?}\n{}", text(o));
    }
}

/// How many times `element` is in the structure of `md`.
fn count(md: &str, element: &str) -> usize {
    structure::skeleton(md)
        .iter()
        .filter(|e| *e == element)
        .count()
}

/// The hidden marker lines of `md`: exactly `prefixes.len()`, each starting
/// with its prefix, in order.
fn marker_lines<'a>(md: &'a str, prefixes: &[&str]) -> Vec<&'a str> {
    let found: Vec<&str> = md
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("<!--"))
        .collect();
    assert_eq!(found.len(), prefixes.len(), "{found:#?}\n{md}");
    for (l, p) in found.iter().zip(prefixes) {
        assert!(l.starts_with(p), "{l:?} is not {p:?}…\n{md}");
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_of_hostile_live_tags_in_every_format() {
    let moto = Moto::start();
    let c = moto.ec2_client("us-east-1");
    let stray = hostile_instance(&c, "hostile", NAME).await;
    // The YAML's own instance, found with the hostile tags added by hand.
    hostile_instance(&c, "hostile", "instance/web").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("infra")).unwrap();
    std::fs::write(dir.path().join("infra/hostile.yaml"), stack_file("hostile")).unwrap();

    let md = plan(&moto, dir.path(), "markdown");
    assert_eq!(md.status.code(), Some(0), "{}", text(&md));
    assert_clean_log(&md);
    let body = String::from_utf8(md.stdout.clone()).unwrap();
    let markers = marker_lines(
        &body,
        &["<!-- ec2-gitops:plan stack=hostile region=us-east-1 fingerprint="],
    );
    let problems = structure::markdown_problems(&body, &markers);
    assert!(problems.is_empty(), "{problems:#?}\n{body}");
    // One heading, one diff (of `web`'s tags) and the picture: nothing the
    // values added.
    assert_eq!(count(&body, "<H3>"), 1, "{body}");
    assert_eq!(count(&body, "<CodeBlock>"), 2, "{body}");
    assert!(body.contains("```mermaid\nflowchart LR\n"), "{body}");
    assert_eq!(count(&body, "<H1>") + count(&body, "<H2>"), 0, "{body}");
    // The payloads are there, as text a reviewer can read; the instance
    // whose name tag is hostile is not the stack's (a warning names its id,
    // nothing touches it), so its name is never shown.
    assert!(
        body.contains(&format!("{stray} carries `ec2-gitops:stack=hostile`")),
        "{body}"
    );
    assert!(!body.contains("@admins"), "{body}");
    assert!(body.contains("\\u{9b}2J"), "{body}");
    assert!(body.contains("\\u{202e}gpj.exe"), "{body}");

    let txt = plan(&moto, dir.path(), "text");
    assert_eq!(txt.status.code(), Some(0), "{}", text(&txt));
    assert_clean_log(&txt);
    let out = String::from_utf8_lossy(&txt.stdout);
    assert!(
        out.contains("\\u{9d}8;;http://evil.example\\u{9c}click"),
        "{out}"
    );
    assert!(out.contains("\\n::add-mask::hunter2"), "{out}");

    let json = plan(&moto, dir.path(), "json");
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    assert_clean_log(&json);
    // The JSON still holds the values exactly.
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v.to_string().contains("##[error]old"), "{v}");

    // The picture: the stack's resources, the hostile instance not among
    // them (it is not the stack's), nothing that leaves a label.
    let mermaid = plan(&moto, dir.path(), "mermaid");
    assert_eq!(mermaid.status.code(), Some(0), "{}", text(&mermaid));
    assert_clean_log(&mermaid);
    let out = String::from_utf8_lossy(&mermaid.stdout);
    assert!(
        out.starts_with("%% stack hostile (us-east-1)\nflowchart LR\n"),
        "{out}"
    );
    assert!(out.contains("[\"instance.web · update\"]"), "{out}");
    assert!(!out.contains("stray") && !out.contains('@'), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pull_request_comment_of_hostile_live_tags_is_sound() {
    let w = World::new("hostile-pr");
    // Escaped hostile values show `**` and backticks as text: GitHub's
    // engine checks the structure only.
    w.gh.allow_literal_markup();
    let c = ec2_client_at(&w.proxy.endpoint(), "us-east-1");
    hostile_instance(&c, "hostile-pr", NAME).await;
    hostile_instance(&c, "hostile-pr", "instance/web-1").await;
    w.pull(9, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 9, HEAD), HEAD);
    assert_eq!(r.code(), Some(0), "{}", r.text());
    assert_clean_log(&r.out);
    let comments = w.bot_comments(9);
    assert_eq!(comments.len(), 1, "{}", r.text());
    let body = &comments[0].body;
    let markers = marker_lines(
        body,
        &[
            "<!-- ec2-gitops: {\"kind\":\"plan\",\"status\":\"planned\",",
            "<!-- ec2-gitops:plan stack=hostile-pr region=us-east-1 fingerprint=",
        ],
    );
    let problems = structure::markdown_problems(body, &markers);
    assert!(problems.is_empty(), "{problems:#?}\n{body}");
    assert_eq!(count(body, "<H2>"), 1, "{body}");
    assert_eq!(count(body, "<H3>"), 1, "{body}");
    assert!(!body.contains("@admins"), "{body}");
    assert!(body.contains("will not be touched"), "{body}");
    // The job summary holds the same plan, without the comment's own
    // marker (the bot finds its comment by it; a summary is never read back).
    let problems = structure::markdown_problems(&r.summary, &markers[1..]);
    assert!(problems.is_empty(), "{problems:#?}\n{}", r.summary);

    // Without summary and output files the action prints both to its log:
    // the plan's Markdown, hostile values included, reaches the runner.
    let r = w.run_with(
        "pull_request",
        w.pr_event("synchronize", 9, HEAD),
        HEAD,
        &[("GITHUB_STEP_SUMMARY", ""), ("GITHUB_OUTPUT", "")],
    );
    let out = r.out;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\\n::add-mask::hunter2"), "{}", text(&out));
    assert_clean_log(&out);
}
