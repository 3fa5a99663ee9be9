//! The comment protocol: the one hidden marker the bot writes as the first
//! line of every comment and issue it posts, written and parsed here only.
//!
//! A marker is `<!-- ec2-gitops: {json} -->` on the body's first line, the
//! JSON a [`Marker`]. The parser reads that line and nothing else: whatever a
//! body holds below it (plans full of strings from YAML and EC2) can never be
//! read as a marker. And a marker is trusted only in a comment written by the
//! bot's own identity ([`trusted`]): anyone can type the same line.
//!
//! Every string in a marker is checked against a strict grammar on the way
//! out and on the way in ([`Marker::is_well_formed`]), so a marker line never
//! carries `-->`, a newline or anything a renderer would need to escape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::outcome::StackPlan;
use crate::plan::review;

/// What starts every marker line.
const OPEN: &str = "<!-- ec2-gitops: ";
/// What ends it.
const CLOSE: &str = " -->";
/// What is written instead of a marker whose values break their grammar.
pub const INVALID: &str = "<!-- ec2-gitops: {\"kind\":\"invalid\"} -->";
/// The longest marker line accepted (a plan of many stacks stays far below).
const MAX_LINE: usize = 60_000;

/// The metadata of one comment or issue the bot writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Marker {
    /// The one plan comment of a pull request.
    Plan(PlanMeta),
    /// The result of an apply (a merge's, or `/apply`'s).
    Apply {
        /// The commit applied.
        sha: String,
        /// Which run posted it (`GITHUB_RUN_ID`.`GITHUB_RUN_ATTEMPT`): one
        /// result comment per run, found again if its answer was lost.
        run: String,
    },
    /// A reply to a comment command (help, a refusal, an unknown stack…).
    Reply {
        /// The id of the comment answered.
        to: u64,
        /// The how-manyth reply to it in this run (from 0).
        seq: u32,
    },
    /// The one drift issue of a repository.
    Drift,
    /// The comment that closes the drift issue.
    DriftResolved {
        /// The commit checked.
        sha: String,
    },
}

/// The plan comment's state: what the comment shows and what a merge may
/// apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanMeta {
    /// Where the comment stands.
    pub status: PlanStatus,
    /// The pull request's head commit when it was planned.
    pub head: String,
    /// The base branch's commit the plan was made on (the PR merged into
    /// it); absent when the plan was not made from a test merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The reviewed plan of each stack.
    #[serde(default)]
    pub stacks: Vec<ReviewedStack>,
    /// The `ec2-gitops/plan` check run made for `head`, so that a later
    /// plan of the same head updates it in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckRef>,
}

/// A check run the bot made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRef {
    /// Its id.
    pub id: u64,
    /// How many annotations it carries (GitHub only ever appends them).
    #[serde(default)]
    pub annotations: usize,
}

/// One stack's reviewed plan, as the comment shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewedStack {
    /// Stack name.
    pub stack: String,
    /// Region.
    pub region: String,
    /// The plan's fingerprint.
    pub fingerprint: String,
    /// Its changes as reviewed (`plan::review`): a re-run may finish what an
    /// interrupted apply of them left. Absent when the plan was too large to
    /// keep them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<String>>,
    /// What the stack's images by reference resolved to when it was
    /// reviewed: the merge plans with them, so it applies the image that
    /// was reviewed even if a parameter moved since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<(crate::model::ImageRef, String)>,
}

/// Where a plan comment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanStatus {
    /// The current plan: a merge applies it.
    Planned,
    /// The merge did not apply: the plan changed after review.
    MergeRefused,
    /// Closed without merge.
    Discarded,
    /// An apply of the same stacks made the plan stale.
    Stale,
    /// The pull request conflicts with its base: nothing was planned.
    Conflict,
    /// The pull request changes no stack (any more).
    NoStack,
}

impl PlanStatus {
    /// The word used in logs and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Planned => "planned",
            PlanStatus::MergeRefused => "merge-refused",
            PlanStatus::Discarded => "discarded",
            PlanStatus::Stale => "stale",
            PlanStatus::Conflict => "conflict",
            PlanStatus::NoStack => "no-stack",
        }
    }
}

impl Marker {
    /// The marker line (no newline). Callers pass stack names, regions,
    /// SHAs and fingerprints, which validation, GitHub and the action's
    /// checks of its payload constrain; a value outside its grammar anyway
    /// (a bug) is never written: the line is then [`INVALID`], which no
    /// parser accepts, so the comment is simply not recognised later.
    pub fn line(&self) -> String {
        if !self.is_well_formed() {
            tracing::error!(marker = ?self, "marker value outside its grammar: not written");
            return INVALID.to_string();
        }
        let json = serde_json::to_string(self).expect("markers serialize");
        format!("{OPEN}{json}{CLOSE}")
    }

    /// A comment or issue body: this marker's line, then `text`.
    pub fn wrap(&self, text: &str) -> String {
        format!("{}\n{text}", self.line())
    }

    /// Whether every value is within its grammar.
    pub fn is_well_formed(&self) -> bool {
        match self {
            Marker::Plan(m) => {
                is_sha(&m.head)
                    && m.base.as_deref().is_none_or(is_sha)
                    && m.stacks.iter().all(|s| {
                        is_name(&s.stack) && is_name(&s.region) && is_hex(&s.fingerprint, 64)
                    })
            }
            Marker::Apply { sha, run } => is_sha(sha) && is_run(run),
            Marker::Reply { .. } | Marker::Drift => true,
            Marker::DriftResolved { sha } => is_sha(sha),
        }
    }

    /// The marker of `body`, read from its first line only; `None` when that
    /// line is not a well-formed marker. Whether to believe it is
    /// [`trusted`]'s question.
    pub fn parse(body: &str) -> Option<Marker> {
        let first = body.split('\n').next()?;
        let first = first.strip_suffix('\r').unwrap_or(first);
        if first.len() > MAX_LINE {
            return None;
        }
        let json = first.strip_prefix(OPEN)?.strip_suffix(CLOSE)?;
        let marker: Marker = serde_json::from_str(json).ok()?;
        // Only the exact line the bot writes: no extra fields, spaces or
        // escapes that serde would let through.
        (marker.is_well_formed() && marker.line() == first).then_some(marker)
    }

    /// The plan comment's metadata, when this is one.
    pub fn plan(&self) -> Option<&PlanMeta> {
        match self {
            Marker::Plan(m) => Some(m),
            _ => None,
        }
    }
}

/// The marker of a comment or issue `body` written by `author`, when
/// `author` is the bot itself (`me`): GitHub logins compare without case.
/// Anyone else's marker, however well formed, is not ours.
pub fn trusted(author: &str, me: &str, body: &str) -> Option<Marker> {
    if me.is_empty() || !author.eq_ignore_ascii_case(me) {
        return None;
    }
    Marker::parse(body)
}

/// The line that starts each stack's section of a plan comment, the job
/// summary and `plan --format markdown`:
/// `<!-- ec2-gitops:plan stack=… region=… fingerprint=… -->`, for people and
/// tools that read the Markdown. The bot never reads it: the reviewed
/// fingerprints are the first line's. A value outside its grammar is
/// written as `_`s, so the line stays one line that cannot close the comment.
pub fn section(stack: &str, region: &str, fingerprint: &str) -> String {
    let safe = |s: &str, ok: fn(&str) -> bool| {
        if ok(s) {
            s.to_string()
        } else {
            "_".repeat(s.chars().count().clamp(1, 63))
        }
    };
    format!(
        "<!-- ec2-gitops:plan stack={} region={} fingerprint={} -->",
        safe(stack, is_name),
        safe(region, is_name),
        safe(fingerprint, |f| is_hex(f, 64))
    )
}

/// `body` with its first line (a marker) replaced by `marker`'s line.
pub fn replace(body: &str, marker: &Marker) -> String {
    let rest = body.split_once('\n').map_or("", |(_, rest)| rest);
    format!("{}\n{rest}", marker.line())
}
impl PlanMeta {
    /// The reviewed plan of each stack, `(stack, region)` → what was
    /// reviewed.
    pub fn reviewed(&self) -> BTreeMap<(String, String), ReviewedStack> {
        self.stacks
            .iter()
            .map(|s| ((s.stack.clone(), s.region.clone()), s.clone()))
            .collect()
    }
}

impl Marker {
    /// The marker of a plan comment showing `stacks` (on `head`, planned
    /// merged into `base`) at `status`: the reviewed plan of every stack
    /// that planned, with its changes while they fit the marker's budget.
    pub fn of_plans(
        head: &str,
        base: Option<&str>,
        stacks: &[StackPlan],
        status: PlanStatus,
    ) -> Marker {
        let mut budget = review::MAX_CHARS;
        let mut reviewed: Vec<ReviewedStack> = stacks
            .iter()
            .filter_map(|s| match s {
                StackPlan::Planned(p) => Some(ReviewedStack {
                    stack: p.stack.clone(),
                    region: p.region.clone(),
                    fingerprint: p.fingerprint.clone(),
                    changes: review::of(p).filter(|c| {
                        let size = review::size(c);
                        let fits = size <= budget;
                        if fits {
                            budget -= size;
                        }
                        fits
                    }),
                    images: p.images.clone(),
                }),
                _ => None,
            })
            .collect();
        reviewed.sort();
        Marker::Plan(PlanMeta {
            status,
            head: head.to_string(),
            base: base.map(str::to_string),
            stacks: reviewed,
            check: None,
        })
    }

    /// The marker of a plan comment that shows no plan of `head` (it
    /// changes no stack, it conflicts with its base).
    pub fn without_plan(head: &str, status: PlanStatus) -> Marker {
        Marker::Plan(PlanMeta {
            status,
            head: head.to_string(),
            base: None,
            stacks: vec![],
            check: None,
        })
    }
}

/// `body`, a plan comment whose marker is `meta`, with its marker at
/// `status` instead.
pub fn restatus(body: &str, meta: PlanMeta, status: PlanStatus) -> String {
    replace(body, &Marker::Plan(PlanMeta { status, ..meta }))
}

/// A commit SHA: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn is_sha(s: &str) -> bool {
    is_hex(s, 64) && (s.len() == 40 || s.len() == 64)
}

fn is_hex(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A stack name or region: lower-case letters, digits and `-`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A run key: digits and dots.
fn is_run(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "1111111111111111111111111111111111111111";
    const ME: &str = "github-actions[bot]";

    fn plan() -> Marker {
        Marker::Plan(PlanMeta {
            status: PlanStatus::Planned,
            head: SHA.into(),
            base: Some("2".repeat(40)),
            stacks: vec![ReviewedStack {
                stack: "web".into(),
                region: "us-east-1".into(),
                fingerprint: "0123456789abcdef".into(),
                changes: Some(vec![
                    "instance/web-{1-3}:create".into(),
                    "instance/db:update:tags,type".into(),
                ]),
                images: vec![],
            }],
            check: None,
        })
    }

    #[test]
    fn a_marker_round_trips_through_its_line() {
        for m in [
            plan(),
            Marker::Apply {
                sha: SHA.into(),
                run: "42.1".into(),
            },
            Marker::Reply { to: 7, seq: 1 },
            Marker::Drift,
            Marker::DriftResolved { sha: SHA.into() },
        ] {
            let body = format!("{}\n## title\n", m.line());
            assert_eq!(Marker::parse(&body), Some(m.clone()), "{body}");
        }
        insta::assert_snapshot!(plan().line(), @r#"<!-- ec2-gitops: {"kind":"plan","status":"planned","head":"1111111111111111111111111111111111111111","base":"2222222222222222222222222222222222222222","stacks":[{"stack":"web","region":"us-east-1","fingerprint":"0123456789abcdef","changes":["instance/web-{1-3}:create","instance/db:update:tags,type"]}]} -->"#);
    }

    #[test]
    fn only_the_first_line_is_read() {
        let forged = plan().line();
        assert_eq!(Marker::parse(&format!("hello\n{forged}\n")), None);
        assert_eq!(Marker::parse(&format!(" {forged}")), None);
        assert_eq!(Marker::parse(&format!("> {forged}")), None);
        assert_eq!(Marker::parse(""), None);
        // CRLF bodies (edited on some clients) still parse.
        assert_eq!(Marker::parse(&format!("{forged}\r\nrest")), Some(plan()));
    }

    #[test]
    fn values_outside_the_grammar_are_refused() {
        let json = |stack: &str| {
            format!(
                r#"<!-- ec2-gitops: {{"kind":"plan","status":"planned","head":"{SHA}","stacks":[{{"stack":"{stack}","region":"us-east-1","fingerprint":"00"}}]}} -->"#
            )
        };
        assert!(Marker::parse(&json("web")).is_some());
        for bad in ["", "Web", "a b", "a\\n", "x --\\u003e y", "a<b"] {
            assert_eq!(Marker::parse(&json(bad)), None, "{bad}");
        }
        // Unknown kinds and fields, and the markers of older versions.
        assert_eq!(
            Marker::parse(r#"<!-- ec2-gitops: {"kind":"plan","status":"planned","head":"x"} -->"#),
            None
        );
        assert_eq!(
            Marker::parse(r#"<!-- ec2-gitops: {"kind":"drift","extra":1} -->"#),
            None
        );
        assert_eq!(
            Marker::parse(r#"<!-- ec2-gitops: {"kind":"other"} -->"#),
            None
        );
        assert_eq!(Marker::parse("<!-- ec2-gitops:pr-plan -->"), None);
    }

    #[test]
    fn a_value_outside_the_grammar_is_never_written() {
        let line = Marker::Apply {
            sha: "not a sha -->\n<b>".into(),
            run: "1".into(),
        }
        .line();
        assert_eq!(line, INVALID);
        assert_eq!(Marker::parse(&line), None);
    }

    #[test]
    fn only_the_bots_own_markers_are_trusted() {
        let body = format!("{}\nplan", plan().line());
        assert_eq!(trusted(ME, ME, &body), Some(plan()));
        assert_eq!(trusted("GitHub-Actions[bot]", ME, &body), Some(plan()));
        assert_eq!(trusted("other-app[bot]", ME, &body), None);
        assert_eq!(trusted("mallory", ME, &body), None);
        assert_eq!(trusted("", "", &body), None);
        assert_eq!(trusted("ops-user", "ops-user", &body), Some(plan()));
    }

    #[test]
    fn a_section_line_is_one_line_whatever_its_values() {
        assert_eq!(
            section("web", "us-east-1", "0123456789abcdef"),
            "<!-- ec2-gitops:plan stack=web region=us-east-1 fingerprint=0123456789abcdef -->"
        );
        let line = section("a -->\n<b>", "us-east-1", "zz");
        assert_eq!(
            line,
            "<!-- ec2-gitops:plan stack=_________ region=us-east-1 fingerprint=__ -->"
        );
        // Never a marker the bot reads, even as a first line.
        assert_eq!(Marker::parse(&line), None);
    }

    #[test]
    fn replace_swaps_the_first_line_only() {
        let body = format!("{}\n## ec2-gitops plan\n\nbody\n", plan().line());
        let mut stale = plan();
        if let Marker::Plan(m) = &mut stale {
            m.status = PlanStatus::Stale;
        }
        let out = replace(&body, &stale);
        assert_eq!(Marker::parse(&out), Some(stale));
        assert!(out.ends_with("\n## ec2-gitops plan\n\nbody\n"));
    }
}
