//! The plan for a terminal: Terraform-like symbols, colour only when asked
//! (the caller decides: a TTY and no `NO_COLOR`).

use std::fmt::Write as _;

use super::diff::field_lines;
use super::escape::{log_lines, terminal as t};
use super::groups::Entry;
use super::summary_line;
use crate::plan::{Action, FieldChange, Plan};

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn action(&self, a: Action, s: &str) -> String {
        let code = match a {
            Action::Create => "32",
            Action::Update => "33",
            Action::UpdateWithRestart => "33;1",
            Action::Replace => "35;1",
            Action::Destroy => "31;1",
            Action::NoOp => "0",
        };
        self.wrap(code, s)
    }
}

/// The symbol of an action (`+`, `~`, `-/+`, `-`).
pub fn symbol(a: Action) -> &'static str {
    match a {
        Action::Create => "+",
        Action::Update => "~",
        Action::UpdateWithRestart => "~!",
        Action::Replace => "-/+",
        Action::Destroy => "-",
        Action::NoOp => " ",
    }
}

/// Renders one plan as terminal text: every value from YAML or EC2 with its
/// controls shown escaped, colour added after, and no line a workflow
/// command (the text is also a CI log).
pub fn plan(p: &Plan, color: bool) -> String {
    log_lines(&render_plan(p, color))
}

fn render_plan(p: &Plan, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint.wrap(
            "1",
            &format!(
                "Stack {} ({}{}) — {}",
                t(&p.stack),
                t(&p.region),
                p.account
                    .as_deref()
                    .map(|a| format!(", account {}", t(a)))
                    .unwrap_or_default(),
                t(&p.file)
            )
        )
    );
    if !p.errors.is_empty() {
        for e in &p.errors {
            let at =
                e.at.as_ref()
                    .map(|l| format!("{}: ", t(&l.to_string())))
                    .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}{at}{}",
                paint.wrap("31;1", "error: "),
                t(&e.message)
            );
            if let Some(h) = &e.hint {
                let _ = writeln!(out, "      hint: {}", t(h));
            }
        }
        let _ = writeln!(
            out,
            "\nThe plan cannot be applied until these errors are fixed."
        );
        return out;
    }
    if p.is_empty() {
        let _ = writeln!(
            out,
            "  No changes: EC2 matches the YAML ({} resources).",
            p.summary.unchanged
        );
        // Where the site answers, even when nothing changes.
        for f in &p.fronts {
            let _ = writeln!(out, "  {}", super::front_line(f, |n| t(n).into_owned()));
        }
        // A plan with nothing to do still warns (resources tagged for the
        // stack that it does not manage, say).
        for w in &p.warnings {
            let _ = writeln!(
                out,
                "{} {}: {}",
                paint.wrap("33;1", "warning:"),
                t(&w.resource.to_string()),
                t(&w.message)
            );
        }
        let _ = writeln!(out, "Fingerprint: {}", t(&p.fingerprint));
        return out;
    }
    for e in super::groups::entries(&p.changes) {
        if e.is_group() {
            group(&mut out, &paint, &e);
            continue;
        }
        let c = e.first();
        let id = c
            .live_id
            .as_deref()
            .map(|i| format!(" ({})", t(i)))
            .unwrap_or_default();
        let head = format!("{:>3} {}{id}", symbol(c.action), t(&c.resource.to_string()));
        let _ = write!(
            out,
            "{}  {}",
            paint.action(c.action, &head),
            c.action.as_str()
        );
        if let Some(r) = &c.reason {
            let _ = write!(out, ": {}", t(r));
        }
        out.push('\n');
        if let Some(b) = &c.blocked {
            let _ = writeln!(out, "      {} {}", paint.wrap("31;1", "BLOCKED:"), t(b));
        }
        let fields: Vec<&FieldChange> = c.fields.iter().collect();
        field_diff(&mut out, &paint, &fields, c.action, "      ");
    }
    for s in &p.spreads {
        let _ = writeln!(out, "{}", super::spread_line(s, |n| t(n).into_owned()));
    }
    for f in &p.fronts {
        let _ = writeln!(out, "{}", super::front_line(f, |n| t(n).into_owned()));
    }
    for r in &p.rollouts {
        let _ = writeln!(out, "{}", super::rollout_line(r, |n| t(n).into_owned()));
    }
    for w in &p.warnings {
        let _ = writeln!(
            out,
            "{} {}: {}",
            paint.wrap("33;1", "warning:"),
            t(&w.resource.to_string()),
            t(&w.message)
        );
    }
    let _ = writeln!(out, "\n{}", paint.wrap("1", &summary_line(&p.summary)));
    let _ = writeln!(out, "Fingerprint: {}", t(&p.fingerprint));
    out
}

/// Ids of a group's members per line of the plan.
const IDS_PER_LINE: usize = 5;

/// The diff lines of `fields`, each indented by `indent`, with their reasons
/// but for a creation.
fn field_diff(
    out: &mut String,
    paint: &Paint,
    fields: &[&FieldChange],
    action: Action,
    indent: &str,
) {
    for f in fields {
        for line in field_lines(f) {
            let line = t(&line).into_owned();
            let colored = match line.chars().next() {
                Some('-') => paint.wrap("31", &line),
                Some('+') => paint.wrap("32", &line),
                _ => line.clone(),
            };
            let _ = writeln!(out, "{indent}{colored}");
        }
        if action != Action::Create {
            let _ = writeln!(out, "{indent}  ({}: {})", f.effect_word(), t(&f.reason));
        }
    }
}

/// A group of members that change alike: one line for all of them, the
/// shared diff once, their ids, then each member that differs.
fn group(out: &mut String, paint: &Paint, e: &Entry) {
    let action = e.action();
    let head = format!(
        "{:>3} {} ({})",
        symbol(action),
        e.label(|n| t(n).into_owned()),
        e.count()
    );
    let _ = write!(out, "{}  {}", paint.action(action, &head), action.as_str());
    if let Some(r) = e.reason {
        let _ = write!(out, ": {}", t(r));
    }
    out.push('\n');
    field_diff(out, paint, &e.shared, action, "      ");
    let own = e.own();
    let ids: Vec<String> = own
        .iter()
        .filter_map(|o| {
            o.change
                .live_id
                .as_deref()
                .map(|i| format!("{} ({})", t(&o.change.resource.name), t(i)))
        })
        .collect();
    for (n, line) in ids.chunks(IDS_PER_LINE).enumerate() {
        let label = if n == 0 { "ids:" } else { "    " };
        let _ = writeln!(out, "      {label} {}", line.join(", "));
    }
    for o in own.iter().filter(|o| o.differs()) {
        let c = o.change;
        let _ = write!(out, "      for {} only", t(&c.resource.name));
        if let Some(r) = o.reason {
            let _ = write!(out, ": {}", t(r));
        }
        out.push_str(if o.fields.is_empty() { "\n" } else { ":\n" });
        if let Some(b) = &c.blocked {
            let _ = writeln!(out, "        {} {}", paint.wrap("31;1", "BLOCKED:"), t(b));
        }
        field_diff(out, paint, &o.fields, action, "        ");
    }
}

/// Why `apply --plan` refuses: the live state moved since the reviewed plan
/// was made. Lists each resource whose planned change differs. Escaped for
/// a terminal like [`plan`]: the reviewed plan comes from a file.
pub fn plan_changed(reviewed: &Plan, fresh: &Plan) -> String {
    log_lines(&render_plan_changed(reviewed, fresh))
}

fn render_plan_changed(reviewed: &Plan, fresh: &Plan) -> String {
    use std::collections::BTreeMap;
    let key =
        |c: &crate::plan::Change| (t(&c.resource.to_string()).into_owned(), c.live_id.clone());
    let old: BTreeMap<_, _> = reviewed.changes.iter().map(|c| (key(c), c)).collect();
    let new: BTreeMap<_, _> = fresh.changes.iter().map(|c| (key(c), c)).collect();
    let mut out = format!(
        "error: stack {}: the plan changed since it was reviewed (fingerprint {} → {}); nothing was applied.\n\
         EC2 or the YAML moved after review. Differences:\n",
        t(&fresh.stack),
        t(&reviewed.fingerprint),
        t(&fresh.fingerprint)
    );
    let describe = |c: &crate::plan::Change| {
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|f| f.field.name().to_string())
            .collect();
        if fields.is_empty() {
            c.action.as_str().to_string()
        } else {
            format!("{} ({})", c.action.as_str(), fields.join(", "))
        }
    };
    for (k, c) in &old {
        match new.get(k) {
            None => {
                let _ = writeln!(
                    out,
                    "  {}: reviewed {}, now nothing to do",
                    k.0,
                    describe(c)
                );
            }
            Some(n) if n != c => {
                let _ = writeln!(
                    out,
                    "  {}: reviewed {}, now {}",
                    k.0,
                    describe(c),
                    describe(n)
                );
            }
            _ => {}
        }
    }
    for (k, c) in &new {
        if !old.contains_key(k) {
            let _ = writeln!(
                out,
                "  {}: not in the reviewed plan, now {}",
                k.0,
                describe(c)
            );
        }
    }
    if reviewed.errors != fresh.errors {
        let _ = writeln!(out, "  the plan's errors differ");
    }
    let _ = writeln!(
        out,
        "Review the new plan (`ec2-gitops plan`) and apply that one."
    );
    out
}

/// The warning when an apply's lease could not be given back (EC2's error
/// and the lease's name shown as terminal text: anyone with tag rights
/// writes the latter).
pub fn lease_not_released(lease: &str, error: &str, expires_in: std::time::Duration) -> String {
    format!(
        "warning: could not release the apply lease {} ({}); it expires within {} s",
        t(lease),
        t(error),
        expires_in.as_secs()
    )
}
