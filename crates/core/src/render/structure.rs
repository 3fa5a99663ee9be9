//! Checks that rendered output kept its structure whatever strings went into
//! it (tests only; the integration tests include this file too, so it uses
//! nothing of the crate).
//!
//! - [`markdown_problems`]: every code fence closed by a fence of the same
//!   length, `<details>` balanced, no HTML but the tool's own tags, exactly
//!   the expected hidden marker lines, no mention, link, image, math or
//!   footnote.
//! - [`skeleton`]: the block and inline structure of a Markdown text, to
//!   compare a rendering of hostile values with one of plain values.
//! - [`log_problems`]: no control character, no line that is a workflow
//!   command unless it starts with one of the tool's own prefixes.

use pulldown_cmark::{Event, Options, Parser, Tag};

/// GitHub-flavoured parsing: tables, strikethrough, task lists, footnotes,
/// math, alerts.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM
}

/// The HTML the renderers write themselves.
const OWN_TAGS: [&str; 7] = [
    "<details>",
    "</details>",
    "<summary>",
    "</summary>",
    "<sub>",
    "</sub>",
    "<br>",
];

/// What is wrong with the structure of `md`, a rendered comment whose hidden
/// marker lines must be exactly `markers`, in order. Empty when sound.
pub fn markdown_problems(md: &str, markers: &[&str]) -> Vec<String> {
    let mut problems = fence_problems(md);
    let found: Vec<&str> = md
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("<!--"))
        .collect();
    if found != markers {
        problems.push(format!("marker lines {found:?}, expected {markers:?}"));
    }
    let mut depth: i64 = 0;
    let mut in_code = 0usize;
    for event in Parser::new_ext(md, options()) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => {
                let mut rest: &str = &h;
                while let Some(at) = rest.find('<') {
                    rest = &rest[at..];
                    if let Some(tag) = OWN_TAGS.iter().find(|t| rest.starts_with(**t)) {
                        match *tag {
                            "<details>" => depth += 1,
                            "</details>" => depth -= 1,
                            _ => {}
                        }
                        if depth < 0 {
                            problems.push("`</details>` without `<details>`".into());
                        }
                        rest = &rest[tag.len()..];
                    } else if let Some(m) = markers.iter().find(|m| rest.starts_with(**m)) {
                        rest = &rest[m.len()..];
                    } else {
                        let end = rest.char_indices().nth(40).map_or(rest.len(), |(i, _)| i);
                        problems.push(format!("raw HTML: {:?}", &rest[..end]));
                        rest = &rest[1..];
                    }
                }
            }
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code -= 1,
            Event::Text(t) if in_code == 0 => {
                let chars: Vec<char> = t.chars().collect();
                for w in chars.windows(2) {
                    if w[0] == '@' && (w[1].is_ascii_alphanumeric() || w[1] == '-') {
                        problems.push(format!("a mention in {t:?}"));
                        break;
                    }
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                problems.push(format!("a link to {dest_url:?}"));
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                problems.push(format!("an image from {dest_url:?}"));
            }
            Event::InlineMath(m) | Event::DisplayMath(m) => {
                problems.push(format!("math: {m:?}"));
            }
            Event::FootnoteReference(f) => problems.push(format!("a footnote: {f:?}")),
            _ => {}
        }
    }
    if depth != 0 {
        problems.push(format!("{depth} `<details>` left open"));
    }
    problems
}

/// Every fenced code block opened is closed by a fence of the same
/// character and length (a longer or missing close means the content
/// closed it, or it swallowed the rest).
fn fence_problems(md: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut open: Option<(char, usize, usize)> = None;
    for (n, line) in md.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        let Some(c) = rest.chars().next().filter(|c| *c == '`' || *c == '~') else {
            continue;
        };
        let len = rest.chars().take_while(|x| *x == c).count();
        if indent > 3 || len < 3 {
            continue;
        }
        match open {
            // A backtick fence's info string holds no backtick.
            None if c == '`' && rest[len..].contains('`') => {}
            None => open = Some((c, len, n + 1)),
            Some((oc, olen, at)) if oc == c && len >= olen && rest[len..].trim().is_empty() => {
                if len != olen {
                    problems.push(format!(
                        "the fence opened on line {at} ({olen}) is closed by a longer one on line {}",
                        n + 1
                    ));
                }
                open = None;
            }
            Some(_) => {}
        }
    }
    if let Some((_, _, at)) = open {
        problems.push(format!("the fence opened on line {at} is never closed"));
    }
    problems
}

/// The structure of `md`: its block and inline elements in order, without
/// their text.
pub fn skeleton(md: &str) -> Vec<String> {
    let name = |debug: String| -> String {
        debug
            .split(['(', ' ', '{'])
            .next()
            .unwrap_or_default()
            .to_string()
    };
    Parser::new_ext(md, options())
        .filter_map(|e| match e {
            Event::Start(Tag::Heading { level, .. }) => Some(format!("<{level:?}>")),
            Event::Start(t) => Some(format!("<{}>", name(format!("{t:?}")))),
            Event::End(t) => Some(format!("</{}>", name(format!("{t:?}")))),
            Event::Html(_) => Some("html".into()),
            Event::InlineHtml(h) => Some(format!("inline-html {h}")),
            Event::Code(_) => Some("code".into()),
            Event::Text(_) | Event::SoftBreak => None,
            other => Some(name(format!("{other:?}"))),
        })
        .collect()
}

/// What is wrong with `out`, text printed to a terminal or to the action's
/// log: a control character (newline and tab apart) or an invisible one, a
/// line that is a workflow command (after leading whitespace, as the runner
/// reads it) unless it starts with one of `own` (the tool's annotations),
/// or the old `##[` command syntax. Empty when clean.
pub fn log_problems(out: &str, own: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, line) in out.split(['\n', '\r']).enumerate() {
        if let Some(c) = line.chars().find(|c| {
            (c.is_control() && *c != '\t')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        }) {
            problems.push(format!("line {}: {c:?} in {line:?}", n + 1));
        }
        let trimmed = line.trim_start();
        let ours = own.iter().any(|p| line.starts_with(p));
        if trimmed.starts_with("::") && !ours {
            problems.push(format!("line {}: a workflow command: {line:?}", n + 1));
        }
        // The runner reads `##[` only in a line that is not a `::` command.
        if line.contains("##[") && !ours {
            problems.push(format!("line {}: `##[` in {line:?}", n + 1));
        }
    }
    if out.contains('\r') {
        problems.push("a carriage return".into());
    }
    problems
}
