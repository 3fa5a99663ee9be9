//! The plan as the pull-request comment body: summary line first,
//! destroys, replacements and restarts called out, then a `diff` block per
//! resource, long parts folded in `<details>`.

use std::fmt::Write as _;

use super::diff::field_lines;
use super::escape::{code_block, code_span, prose, text};
use super::groups::{self, Entry};
use super::summary_line;
use crate::plan::{Action, FieldChange, Plan};

/// GitHub rejects comments over 65,536 characters; stay well below.
pub const COMMENT_LIMIT: usize = 60_000;
/// A resource's diff longer than this many lines is folded.
const FOLD_LINES: usize = 15;
/// A group's member ids beyond this many are folded.
const FOLD_IDS: usize = 10;

/// How a plan lists the members of a `count` group that change alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// One entry for the group: the shared diff once, then what differs
    /// per member (the comment).
    Condensed,
    /// Every change on its own (the job summary).
    Every,
}

fn entries(p: &Plan, listing: Listing) -> Vec<Entry<'_>> {
    match listing {
        Listing::Condensed => groups::entries(&p.changes),
        Listing::Every => groups::each(&p.changes),
    }
}

/// The hidden line that starts a stack's section of a plan (see
/// [`crate::marker::section`]: for readers of the comment; the bot never
/// reads it).
pub fn marker(p: &Plan) -> String {
    crate::marker::section(&p.stack, &p.region, &p.fingerprint)
}

/// Renders one stack's plan as Markdown for the comment (count groups
/// condensed), shortened to fit `limit` characters: per-resource diffs go
/// first, the summary and every destroy and replace line always stay.
pub fn plan(p: &Plan, limit: usize) -> String {
    plan_as(p, limit, Listing::Condensed)
}

/// [`plan`] with the changes listed as `listing` says.
pub fn plan_as(p: &Plan, limit: usize, listing: Listing) -> String {
    let full = render(p, true, listing, true);
    if full.len() <= limit {
        return full;
    }
    let without_picture = render(p, true, listing, false);
    if without_picture.len() <= limit {
        return without_picture;
    }
    let short = render(p, false, listing, false);
    if short.len() <= limit {
        return short;
    }
    // Even the resource list is too long: keep summary and callouts, as
    // names only when the callouts themselves are too long.
    let footer = format!(
        "\n_{} changed resources are not listed here: the full plan is in the job summary._\n",
        p.changes.len()
    );
    let mut s = header(p);
    let full_callouts = callouts(p, listing);
    if s.len() + full_callouts.len() + footer.len() <= limit {
        s.push_str(&full_callouts);
    } else {
        let budget = limit.saturating_sub(s.len() + footer.len());
        s.push_str(&compact_callouts(p, budget, listing));
    }
    s.push_str(&footer);
    s
}

/// The callouts as lists of names, as many as fit in `budget` bytes, the rest
/// counted: destroys first, then replacements, blocked changes and restarts.
fn compact_callouts(p: &Plan, budget: usize, listing: Listing) -> String {
    let all = entries(p, listing);
    // The names (a group's as its label) and how many resources they are.
    let names = |action: Action| -> (Vec<String>, usize) {
        let of: Vec<&Entry> = all.iter().filter(|e| e.action() == action).collect();
        let names = of
            .iter()
            .map(|e| {
                if e.is_group() {
                    format!("{} ({})", e.label(code_span), e.count())
                } else {
                    e.label(code_span)
                }
            })
            .collect();
        (names, of.iter().map(|e| e.members.len()).sum())
    };
    let blocked: Vec<String> = p
        .changes
        .iter()
        .filter(|c| c.blocked.is_some())
        .map(|c| code_span(&c.resource.to_string()))
        .collect();
    let blocked = (blocked.clone(), blocked.len());
    let sections = [
        ("CAUTION", "Destroyed", names(Action::Destroy)),
        (
            "WARNING",
            "Replaced (new resource, then the old one destroyed)",
            names(Action::Replace),
        ),
        ("CAUTION", "Blocked — apply will refuse this plan", blocked),
        (
            "WARNING",
            "Restarted (downtime)",
            names(Action::UpdateWithRestart),
        ),
    ];
    // Room kept for a section's `, and N more` and its blank line.
    const TAIL: usize = 32;
    let mut out = String::new();
    for (kind, title, (names, count)) in sections {
        if names.is_empty() {
            continue;
        }
        let mut line = format!("> [!{kind}]\n> **{title} ({count}):** ");
        let mut shown = 0;
        for n in &names {
            let sep = if shown == 0 { "" } else { ", " };
            if out.len() + line.len() + sep.len() + n.len() + TAIL > budget {
                break;
            }
            line.push_str(sep);
            line.push_str(n);
            shown += 1;
        }
        if shown < names.len() {
            let sep = if shown == 0 { "" } else { ", " };
            let _ = write!(line, "{sep}and {} more", names.len() - shown);
        }
        line.push_str("\n\n");
        if out.len() + line.len() > budget {
            break;
        }
        out.push_str(&line);
    }
    if !p.warnings.is_empty() {
        let line = format!(
            "> [!WARNING]\n> **Warnings:** {}, listed in the job summary.\n\n",
            p.warnings.len()
        );
        if out.len() + line.len() <= budget {
            out.push_str(&line);
        }
    }
    out
}

/// The action's symbol in Markdown: the terminal's, with the tilde escaped
/// (GitHub's strikethrough reads a bare `~` as a delimiter, and the bold
/// around `**~ …**` then shows as text).
fn symbol(a: Action) -> String {
    super::text::symbol(a).replace('~', "\\~")
}

fn header(p: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(p));
    let account = p
        .account
        .as_deref()
        .map(|a| format!(", account {}", code_span(a)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "### Stack {} ({}{account})\n",
        code_span(&p.stack),
        text(&p.region)
    );
    if !p.errors.is_empty() {
        let _ = writeln!(
            out,
            "**Plan failed: {} error(s)** in {}\n",
            p.errors.len(),
            code_span(&p.file)
        );
        for e in &p.errors {
            let at =
                e.at.as_ref()
                    .map(|l| format!("{}: ", code_span(&l.to_string())))
                    .unwrap_or_default();
            let hint = e
                .hint
                .as_ref()
                .map(|h| format!(" — {}", prose(h)))
                .unwrap_or_default();
            let _ = writeln!(out, "- {at}{}{hint}", prose(&e.message));
        }
        out.push('\n');
        return out;
    }
    if p.is_empty() {
        let _ = writeln!(
            out,
            "**No changes.** EC2 matches the YAML ({} resources).\n",
            p.summary.unchanged
        );
        for f in &p.fronts {
            let _ = writeln!(out, "{}\n", super::front_line(f, code_span));
        }
    } else {
        let _ = writeln!(out, "**{}**\n", summary_line(&p.summary));
    }
    out
}

fn callouts(p: &Plan, listing: Listing) -> String {
    let mut out = String::new();
    let all = entries(p, listing);
    let list = |action: Action| -> Vec<String> {
        all.iter()
            .filter(|e| e.action() == action)
            .map(|e| {
                let c = e.first();
                let id = match (&c.live_id, e.is_group()) {
                    (Some(i), false) => format!(" ({})", text(i)),
                    (_, true) => format!(" ({})", e.count()),
                    (None, false) => String::new(),
                };
                let why = e
                    .reason
                    .map(prose)
                    .or_else(|| {
                        let fields: Vec<String> = e
                            .shared
                            .iter()
                            .filter(|f| match action {
                                Action::Replace => f.effect == crate::plan::Effect::Replace,
                                _ => f.effect == crate::plan::Effect::Restart,
                            })
                            .map(|f| code_span(f.field.name()))
                            .collect();
                        (!fields.is_empty()).then(|| format!("because of {}", fields.join(", ")))
                    })
                    .map(|r| format!(" — {r}"))
                    .unwrap_or_default();
                let blocked = e.members.iter().filter(|m| m.blocked.is_some()).count();
                let blocked = match (blocked, e.is_group()) {
                    (0, _) => String::new(),
                    (_, false) => " **(blocked: protected)**".to_string(),
                    (n, true) => format!(" **({n} blocked: protected)**"),
                };
                format!("- {}{id}{why}{blocked}", e.label(code_span))
            })
            .collect()
    };
    for (action, title, kind) in [
        (Action::Destroy, "Destroyed", "CAUTION"),
        (
            Action::Replace,
            "Replaced (new resource, then the old one destroyed)",
            "WARNING",
        ),
        (Action::UpdateWithRestart, "Restarted (downtime)", "WARNING"),
    ] {
        let items = list(action);
        if !items.is_empty() {
            let _ = writeln!(out, "> [!{kind}]\n> **{title}:**");
            for i in items {
                let _ = writeln!(out, "> {i}");
            }
            out.push('\n');
        }
    }
    let blocked: Vec<_> = p.changes.iter().filter(|c| c.blocked.is_some()).collect();
    if !blocked.is_empty() {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **Blocked — apply will refuse this plan:**"
        );
        for c in blocked {
            let _ = writeln!(
                out,
                "> - {}: {}",
                code_span(&c.resource.to_string()),
                prose(c.blocked.as_deref().unwrap_or_default())
            );
        }
        out.push('\n');
    }
    if !p.warnings.is_empty() {
        let _ = writeln!(out, "> [!WARNING]\n> **Warnings:**");
        for w in &p.warnings {
            let _ = writeln!(
                out,
                "> - {}: {}",
                code_span(&w.resource.to_string()),
                prose(&w.message)
            );
        }
        out.push('\n');
    }
    out
}

fn render(p: &Plan, with_diffs: bool, listing: Listing, with_picture: bool) -> String {
    let mut out = header(p);
    if !p.errors.is_empty() {
        return out;
    }
    out.push_str(&callouts(p, listing));
    for e in entries(p, listing) {
        if e.is_group() {
            group(&mut out, &e, with_diffs);
            continue;
        }
        let c = e.first();
        let id = c
            .live_id
            .as_deref()
            .map(|i| format!(" {}", code_span(i)))
            .unwrap_or_default();
        let reason = c
            .reason
            .as_deref()
            .map(|r| format!(" — {}", prose(r)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "**{} {}**{id} — {}{reason}",
            symbol(c.action),
            code_span(&c.resource.to_string()),
            c.action.as_str()
        );
        if !with_diffs || c.fields.is_empty() {
            out.push('\n');
            continue;
        }
        let fields: Vec<&FieldChange> = c.fields.iter().collect();
        diff(&mut out, &fields, c.action);
    }
    for s in &p.spreads {
        let _ = writeln!(out, "{}\n", super::spread_line(s, code_span));
    }
    for f in &p.fronts {
        let _ = writeln!(out, "{}\n", super::front_line(f, code_span));
    }
    for r in &p.rollouts {
        let _ = writeln!(out, "{}\n", super::rollout_line(r, code_span));
    }
    if with_picture
        && !p.is_empty()
        && let Some(d) = super::mermaid::diagram(p)
    {
        let _ = writeln!(
            out,
            "<details><summary>The plan as a picture ({} resources)</summary>\n\n{}\n</details>\n",
            p.graph.nodes.len(),
            code_block("mermaid", &d)
        );
    }
    if !with_diffs {
        let _ = writeln!(
            out,
            "_Per-resource diffs are left out to fit GitHub's comment limit: the full plan is in the job summary._\n"
        );
    }
    let _ = writeln!(
        out,
        "<sub>Fingerprint {} · {}</sub>",
        code_span(&p.fingerprint),
        code_span(&p.file)
    );
    out
}

/// A field's diff as a `diff` block (folded when long) and, but for a
/// creation, why each field changes the way it does.
fn diff(out: &mut String, fields: &[&FieldChange], action: Action) {
    let mut diff = String::new();
    let mut lines = 0;
    let mut changed = 0;
    for f in fields {
        for l in field_lines(f) {
            changed += usize::from(l.starts_with(['+', '-']));
            diff.push_str(&l);
            diff.push('\n');
            lines += 1;
        }
    }
    let body = code_block("diff", &diff);
    if lines > FOLD_LINES {
        let _ = writeln!(
            out,
            "<details><summary>{changed} changed lines</summary>\n\n{body}\n</details>\n"
        );
    } else {
        let _ = writeln!(out, "\n{body}");
    }
    // A creation's values need no reason each.
    if action != Action::Create {
        let reasons: Vec<String> = fields
            .iter()
            .map(|f| {
                format!(
                    "- {} ({}): {}",
                    code_span(f.field.name()),
                    f.effect_word(),
                    prose(&f.reason)
                )
            })
            .collect();
        let _ = writeln!(out, "{}\n", reasons.join("\n"));
    }
}

/// A group of members that change alike: one header, the shared diff once,
/// then the members' ids and each member that differs with what it has of
/// its own.
fn group(out: &mut String, e: &Entry, with_diffs: bool) {
    let action = e.action();
    let reason = e
        .reason
        .map(|r| format!(" — {}", prose(r)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "**{} {}** ({}) — {}{reason}",
        symbol(action),
        e.label(code_span),
        e.count(),
        action.as_str()
    );
    let own = e.own();
    let differing: Vec<_> = own.iter().filter(|o| o.differs()).collect();
    if !with_diffs {
        if !differing.is_empty() {
            let names: Vec<String> = differing
                .iter()
                .map(|o| code_span(&o.change.resource.name))
                .collect();
            let _ = writeln!(out, "\nDiffering: {}.", names.join(", "));
        }
        out.push('\n');
        return;
    }
    if !e.shared.is_empty() {
        diff(out, &e.shared, action);
    } else {
        out.push('\n');
    }
    let ids: Vec<String> = own
        .iter()
        .filter_map(|o| {
            o.change
                .live_id
                .as_deref()
                .map(|i| format!("{} {}", code_span(&o.change.resource.name), code_span(i)))
        })
        .collect();
    if ids.len() > FOLD_IDS {
        let _ = writeln!(
            out,
            "<details><summary>{} ids</summary>\n\n{}\n\n</details>\n",
            ids.len(),
            ids.join(", ")
        );
    } else if !ids.is_empty() {
        let _ = writeln!(out, "{}\n", ids.join(", "));
    }
    for o in differing {
        let c = o.change;
        let id = c
            .live_id
            .as_deref()
            .map(|i| format!(" {}", code_span(i)))
            .unwrap_or_default();
        let why = o
            .reason
            .map(|r| format!(" — {}", prose(r)))
            .unwrap_or_default();
        let blocked = c
            .blocked
            .as_deref()
            .map(|b| format!(" **(blocked: {})**", prose(b)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "For {}{id} only{why}{blocked}{}",
            code_span(&c.resource.name),
            if o.fields.is_empty() { "\n" } else { ":" }
        );
        if !o.fields.is_empty() {
            diff(out, &o.fields, action);
        }
    }
}
