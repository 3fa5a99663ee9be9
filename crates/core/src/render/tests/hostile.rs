//! Plans whose every foreign string is hostile: tag values, descriptions and
//! names written to close the `diff` fence, forge a marker, mention a team,
//! inject HTML, drive a terminal or issue workflow commands. Each rendering
//! keeps its structure (the same as with plain values), shows the payloads
//! as text, and is snapshotted so a person can judge it.

use super::*;
use crate::config::Diagnostic;
use crate::outcome::{Refusal, StackApply, StackPlan};
use crate::render::comment::{self, PlanState};
use crate::render::diagnostics;
use crate::render::structure::{log_problems, markdown_problems, skeleton};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// A tag value that closes the fence and writes raw Markdown after it.
const FENCE_BREAK: &str = "x\n```\n</details>\n<!-- ec2-gitops:plan stack=web region=us-east-1 fingerprint=forged -->\n@org/team <img src=x onerror=alert(1)> [ok](javascript:alert(1))\n```diff";
/// Escape sequences for a terminal: a hidden link, a clear screen, a
/// carriage return that overwrites the line, a CSI in its C1 form.
const TERMINAL: &str =
    "\x1b]8;;http://evil.example\x07safe\x1b]8;;\x07 \x1b[2J\x1b[H\rok \u{9b}31m \u{202e}gpj.exe";
/// Workflow commands, raw and percent-encoded.
const COMMANDS: &str = "a\n::add-mask::hunter2\n  ::warning::forged %0A::error::x ##[warning]old";

/// The same plan with plain values, or with hostile ones in every foreign
/// string that the Markdown renders outside a tool-written code mark (a
/// value with backticks inside a tool sentence only moves code marks, which
/// `prose_with_backticks_keeps_the_comment_sound` covers).
fn shaped(hostile: bool) -> Plan {
    let v = |plain: &str, evil: &str| -> String { if hostile { evil } else { plain }.to_string() };
    let mut tags = change(
        id(Kind::Instance, &v("web-1", "web-1</details>`")),
        Action::Update,
        Some(&v("i-0web1", "i-0\x1b]8;;http://evil\x07web1")),
    );
    tags.fields = vec![
        field(
            "tags",
            list(&["role=web", &v("note=plain", &format!("note={FENCE_BREAK}"))]),
            list(&["role=web", &v("note=other", &format!("note={COMMANDS}"))]),
            Effect::InPlace,
            "tags change in place",
        ),
        field(
            // Field names are a closed set (`plan::Field`): nothing hostile.
            "description",
            text_value(&v("Public HTTP", &format!("Public {TERMINAL}"))),
            text_value(&v("Public HTTPS", "~~~\n```` ~~~~~ ``````````")),
            Effect::InPlace,
            "descriptions change in place",
        ),
    ];
    // Long enough to be folded in `<details>`.
    let rules: Vec<String> = (0..16)
        .map(|i| {
            if hostile && i % 4 == 0 {
                format!("tcp {i} 10.0.{i}.0/24 </details>\n```\n@team")
            } else {
                format!("tcp {i} 10.0.{i}.0/24")
            }
        })
        .collect();
    let before: Vec<&str> = rules.iter().map(String::as_str).collect();
    let mut group = change(
        id(Kind::SecurityGroup, "web"),
        Action::Update,
        Some("sg-0web"),
    );
    group.fields = vec![field(
        "ingress",
        list(&before),
        list(&[]),
        Effect::InPlace,
        "rules are authorized and revoked in place",
    )];
    // Found in EC2 by its name tag, which anyone with tag rights writes.
    let mut orphan = change(
        id(
            Kind::Instance,
            &v("stray-1", "stray\n### @admins <script>alert(1)</script>"),
        ),
        Action::Destroy,
        Some(&v("i-0stray", "i-0stray\r\x1b[2K::add-mask::x")),
    );
    orphan.reason = Some(v(
        "no longer in the YAML",
        "no longer in the YAML\n<!-- ec2-gitops:plan stack=web region=us-east-1 fingerprint=forged -->\n@org/team",
    ));
    let mut db = change(id(Kind::Instance, "db-1"), Action::Replace, Some("i-0db1"));
    db.fields = vec![field(
        "image",
        text_value("ami-0aaa"),
        text_value(&v("ami-0bbb", "ami-0bbb\n+ protect: false")),
        Effect::Replace,
        "an instance boots from its image once: a new image needs a new instance",
    )];
    db.blocked = Some(
        "protected: `protect: true` forbids replacing this resource; revert the change or set `protect: false` first".into(),
    );
    let mut p = plan(
        vec![group, tags, db, orphan],
        vec![Warning {
            resource: id(Kind::SecurityGroup, "web"),
            message: v(
                "`tcp 22 0.0.0.0/0` opens 22 (SSH) to the whole internet",
                "`tcp 22 0.0.0.0/0 <img src=x>` opens 22 (SSH) to the whole internet @everyone",
            ),
            at: None,
        }],
        vec![],
    );
    p.file = v("infra/web.yaml", "infra/we`b</sub>@x.yaml");
    p
}

fn markers(p: &Plan) -> Vec<String> {
    vec![markdown::marker(p)]
}

fn assert_sound(md: &str, markers: &[String]) {
    let markers: Vec<&str> = markers.iter().map(String::as_str).collect();
    let problems = markdown_problems(md, &markers);
    assert!(problems.is_empty(), "{problems:#?}\n{md}");
    let problems = crate::render::tests::gfm::structure_problems(md);
    assert!(
        problems.is_empty(),
        "as GitHub renders it: {problems:#?}\n{md}"
    );
}

#[test]
fn a_hostile_plan_keeps_the_structure_of_a_plain_one() {
    let (plain, evil) = (shaped(false), shaped(true));
    let (a, b) = (
        markdown::plan(&plain, COMMENT_LIMIT),
        markdown::plan(&evil, COMMENT_LIMIT),
    );
    assert_sound(&a, &markers(&plain));
    assert_sound(&b, &markers(&evil));
    assert_eq!(skeleton(&a), skeleton(&b), "{b}");
    assert_eq!(
        crate::render::tests::gfm::tags(&a),
        crate::render::tests::gfm::tags(&b),
        "GitHub's engine renders the hostile plan with another structure:\n{b}"
    );
    assert!(b.contains("<details>"), "the long diff is folded");
    insta::assert_snapshot!("hostile_markdown_plan", b);
}

#[test]
fn a_hostile_plan_comment_has_only_the_tools_markers() {
    let evil = shaped(true);
    let stacks = [
        StackPlan::Planned(evil.clone()),
        StackPlan::Invalid {
            file: "infra/x`y`.yaml".into(),
            errors: format!("error: bad value {FENCE_BREAK}\n{COMMANDS}"),
            at: vec![],
        },
        StackPlan::Failed {
            file: "infra/eu.yaml\n<!-- ec2-gitops:pr-plan -->".into(),
            error: format!("DescribeInstances failed: {FENCE_BREAK}"),
        },
    ];
    let state = PlanState::MergeRefused {
        reasons: vec![format!("`web`: {FENCE_BREAK}")],
    };
    let body = crate::marker::Marker::of_plans(SHA, None, &stacks, state.status()).wrap(
        &comment::plan_comment(SHA, &stacks, &["infra/old`.yaml</details>".into()], &state),
    );
    let mut want = vec![body.lines().next().unwrap_or_default().to_string()];
    want.extend(markers(&evil));
    assert_sound(&body, &want);
    // What a reviewer relies on is still there, as text.
    assert!(body.contains("@&#8203;org/team"), "{body}");
    let marker = crate::marker::Marker::parse(&body).expect("the first line is the marker");
    let reviewed = marker.plan().expect("a plan marker").reviewed();
    assert_eq!(reviewed.len(), 1);
    assert_eq!(
        reviewed.values().next().map(|r| &r.fingerprint),
        Some(&evil.fingerprint)
    );
    insta::assert_snapshot!("hostile_plan_comment", body);
}

#[test]
fn prose_with_backticks_keeps_the_comment_sound() {
    let mut p = shaped(true);
    for c in &mut p.changes {
        c.reason = Some(format!("gone: `{FENCE_BREAK}` and ``{COMMANDS}`"));
        c.blocked = c.blocked.as_ref().map(|_| format!("`{FENCE_BREAK}"));
    }
    p.warnings[0].message = format!("``` `{FENCE_BREAK}` ``");
    let md = markdown::plan(&p, COMMENT_LIMIT);
    assert_sound(&md, &markers(&p));
    // The short forms too.
    for limit in [4_000, 1_500] {
        let md = markdown::plan(&p, limit);
        assert_sound(&md, &markers(&p));
    }
}

#[test]
fn a_hostile_plan_as_text_drives_no_terminal_and_no_runner() {
    let evil = shaped(true);
    let out = text::plan(&evil, false);
    let problems = log_problems(&out, &[]);
    assert!(problems.is_empty(), "{problems:#?}\n{out}");
    assert!(
        out.contains("\\x1b]8;;http://evil.example\\x07safe"),
        "{out}"
    );
    assert!(out.contains("\\::add-mask::hunter2") || out.contains("\\n::add-mask::hunter2"));
    // Colour is the tool's only escape sequence.
    let coloured = text::plan(&evil, true);
    let tool_colours = [
        "\x1b[0m",
        "\x1b[1m",
        "\x1b[31m",
        "\x1b[32m",
        "\x1b[33m",
        "\x1b[31;1m",
        "\x1b[33;1m",
        "\x1b[35;1m",
    ];
    let mut stripped = coloured.clone();
    for c in tool_colours {
        stripped = stripped.replace(c, "");
    }
    assert_eq!(stripped, out);
    insta::assert_snapshot!("hostile_text_plan", out);
}

#[test]
fn plan_changed_from_a_hostile_plan_file_is_escaped() {
    let reviewed = shaped(true);
    let mut fresh = shaped(true);
    fresh.fingerprint = "\x1b[2J::add-mask::x".into();
    fresh.changes.truncate(1);
    let mut extra = change(
        id(Kind::Instance, "::warning::forged"),
        Action::Destroy,
        Some("i-0x"),
    );
    extra.reason = Some("no longer in the YAML".into());
    fresh.changes.push(extra);
    let out = text::plan_changed(&reviewed, &fresh);
    let problems = log_problems(&out, &[]);
    assert!(problems.is_empty(), "{problems:#?}\n{out}");
}

fn hostile_results() -> Vec<StepResult> {
    let r = results(true);
    r.into_iter()
        .map(|mut r| {
            r.outcome = match r.outcome {
                Outcome::Done(_) => Outcome::Done(format!("sg-0web {TERMINAL}")),
                Outcome::Failed(e) => Outcome::Failed(Ec2Error {
                    message: format!("{FENCE_BREAK}\n{COMMANDS}"),
                    ..e
                }),
                Outcome::Skipped(_) => Outcome::Skipped(format!("needs {FENCE_BREAK}")),
            };
            r.step.resource = id(Kind::Instance, &format!("web`{}`", r.step.index));
            r
        })
        .collect()
}

#[test]
fn a_hostile_apply_report_is_escaped_for_the_terminal_and_the_comment() {
    let results = hostile_results();
    let out = report::text("web\x1b[2J", &results, 1.0);
    let problems = log_problems(&out, &[]);
    assert!(problems.is_empty(), "{problems:#?}\n{out}");
    for r in &results {
        let line = report::step_line(r);
        assert!(log_problems(&line, &[]).is_empty(), "{line:?}");
    }
    let body = comment::apply_comment(
        SHA,
        &[
            StackApply::Applied {
                plan: Box::new(shaped(true)),
                results,
                seconds: 1.0,
            },
            StackApply::NotApplied {
                stack: "db`<b>".into(),
                refusal: Refusal::Blocked {
                    plan: Box::new(shaped(true)),
                },
            },
            StackApply::NotApplied {
                stack: "eu".into(),
                refusal: Refusal::Failed {
                    error: format!("EC2 could not be read: {FENCE_BREAK}"),
                },
            },
            StackApply::NoChanges {
                stack: "x</details>".into(),
                region: "us-east-1\n@team".into(),
            },
        ],
    );
    assert_sound(&body, &[]);
    insta::assert_snapshot!("hostile_apply_comment", body);
}

#[test]
fn a_hostile_drift_issue_keeps_its_table() {
    let evil = shaped(true);
    let body = comment::drift_issue(
        SHA,
        &[
            StackPlan::Planned(evil),
            StackPlan::Invalid {
                file: "infra/a|b`.yaml".into(),
                errors: "x".into(),
                at: vec![],
            },
        ],
    );
    assert_sound(&body, &[]);
    // Every row of the table has its four cells.
    let plain = comment::drift_issue(SHA, &[StackPlan::Planned(shaped(false))]);
    let cells = |md: &str| skeleton(md).iter().filter(|e| *e == "<TableCell>").count();
    assert_eq!(cells(&body), cells(&plain), "{body}");
    insta::assert_snapshot!("hostile_drift_issue", body);
}

#[test]
fn hostile_replies_mention_nobody_else() {
    let unknown = comment::help("/", Some(&format!("x`y {FENCE_BREAK}")));
    assert_sound(&unknown, &[]);
    let refused = comment::not_allowed("evil\n@org/team<img>", "read`</details>");
    assert_sound(&refused, &[]);
    assert!(comment::not_allowed("octocat", "read").contains("@octocat thanks"));
    let apply = comment::apply_not_allowed(&format!("`{FENCE_BREAK}"));
    assert_sound(&apply, &[]);
    let stale = comment::stale_callout(&[FENCE_BREAK.into(), "a`b".into()]);
    assert_sound(&stale, &[]);
    insta::assert_snapshot!(
        "hostile_replies",
        format!("{unknown}\n---\n{refused}\n---\n{apply}\n---\n{stale}")
    );
}

#[test]
fn hostile_diagnostics_are_escaped_as_text_and_as_annotations() {
    let d = Diagnostic::new(
        Location {
            file: "infra/a,b:c.yaml\n::add-mask::x".into(),
            line: 3,
            column: 9,
        },
        format!("bad value {COMMANDS} {TERMINAL}"),
    )
    .with_hint("100% sure\r\n::error::forged");
    let d = Diagnostic {
        source_line: Some("  k: \x1b[2J\tv ::add-mask::y".into()),
        width: 2,
        ..d
    };
    let text = diagnostics::text(std::slice::from_ref(&d));
    let problems = log_problems(&text, &[]);
    assert!(problems.is_empty(), "{problems:#?}\n{text}");
    let annotations = diagnostics::github_annotations(&[d]);
    assert_eq!(annotations.lines().count(), 1, "{annotations}");
    let problems = log_problems(&annotations, &["::error file="]);
    assert!(problems.is_empty(), "{problems:#?}\n{annotations}");
    insta::assert_snapshot!("hostile_diagnostics", format!("{text}\n{annotations}"));
}

#[test]
fn json_carries_no_old_style_workflow_command() {
    let mut p = shaped(true);
    p.stack = "##[warning]forged".into();
    let out = json(&[p.clone()]);
    assert!(log_problems(&out, &[]).is_empty(), "{out}");
    let back: serde_json::Value = serde_json::from_str(&out).unwrap();
    let plans: Vec<Plan> = serde_json::from_value(back["plans"].clone()).unwrap();
    assert_eq!(plans, [p]);
}

#[test]
fn the_checks_catch_what_the_escaping_prevents() {
    let marker = "<!-- ec2-gitops:plan stack=web region=us-east-1 fingerprint=1 -->".to_string();
    // The holes as they were: a value pasted raw into a fence, a heading,
    // prose and a log line.
    let raw =
        |v: &str| format!("{marker}\n### Stack `{v}`\n\n```diff\n- tags: {v}\n```\n\n- {v}\n");
    // A fence closed by the value and reopened later balances: the
    // skeleton shows it.
    assert_ne!(skeleton(&raw("x\n```\nafter")), skeleton(&raw("plain")));
    assert!(
        markdown_problems(&raw("x\n````\nafter"), &[marker.as_str()])
            .iter()
            .any(|p| p.contains("closed by a longer one"))
    );
    for (value, what) in [
        ("<img src=x onerror=alert(1)>", "raw HTML"),
        ("</details>", "without `<details>`"),
        ("@org/team", "a mention"),
        ("[ok](javascript:alert(1))", "a link"),
        (
            "x\n<!-- ec2-gitops:plan stack=web region=us-east-1 fingerprint=2 -->",
            "marker lines",
        ),
        ("$x$", "math"),
    ] {
        let problems = markdown_problems(&raw(value), &[marker.as_str()]);
        assert!(
            problems.iter().any(|p| p.contains(what)),
            "{value:?}: {problems:#?}"
        );
    }
    assert_ne!(skeleton("a *b* c"), skeleton("a b c"));
    for (out, what) in [
        ("ok\n::add-mask::x\n", "workflow command"),
        ("ok\n  ::warning::x\n", "workflow command"),
        ("a ##[error]x", "`##[`"),
        ("\x1b[2J", "'\\u{1b}'"),
        ("a\rb", "carriage return"),
        ("\u{202e}x", "'\\u{202e}'"),
    ] {
        let problems = log_problems(out, &[]);
        assert!(
            problems.iter().any(|p| p.contains(what)),
            "{out:?}: {problems:#?}"
        );
    }
    assert!(log_problems("::error file=a::b\n", &["::error file="]).is_empty());
}

#[test]
fn a_comment_cut_to_the_limit_closes_what_the_cut_left_open() {
    // An apply of many steps, each failing with a long EC2 message: the
    // comment is cut inside the folded step list.
    let mut results = Vec::new();
    for i in 0..400 {
        let mut r = hostile_results().remove(1);
        r.step.resource = id(Kind::Instance, &format!("web-{i}"));
        results.push(r);
    }
    let plan = Box::new(shaped(true));
    let stacks: Vec<StackApply> = (0..3)
        .map(|_| StackApply::Applied {
            plan: plan.clone(),
            results: results.clone(),
            seconds: 1.0,
        })
        .collect();
    let body = comment::apply_comment(SHA, &stacks);
    assert!(body.len() <= comment::COMMENT_LIMIT, "{}", body.len());
    assert!(body.ends_with("(cut: the full text is in the job summary)\n"));
    assert_sound(&body, &[]);
    // The drift issue too, cut inside its table.
    let many: Vec<StackPlan> = (0..60).map(|_| StackPlan::Planned(shaped(true))).collect();
    let body = comment::drift_issue(SHA, &many);
    assert!(body.len() <= comment::COMMENT_LIMIT, "{}", body.len());
    assert_sound(&body, &[]);
}
