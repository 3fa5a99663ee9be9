//! One escaping function per output, for every string that comes from YAML,
//! EC2 or GitHub. The renderers call these on each such string; nothing else
//! in `render` writes a foreign string into its output.
//!
//! - Markdown: [`code_span`], [`code_block`], [`text`] (prose outside code),
//!   [`prose`] (a sentence whose `` `…` `` parts are code) and [`table_cell`].
//! - Terminal: [`terminal`] (one value) and [`terminal_text`] (several lines).
//! - GitHub workflow commands: [`workflow_data`] and [`workflow_property`].
//! - Logs (stdout and stderr of the action): [`log_lines`], so that no line a
//!   foreign string starts is a workflow command; [`json`] for JSON output.
//!
//! Every output shows a control or invisible formatting character the same
//! way: `\n`, `\r`, `\t`, `\x1b`, `\u{9b}`, `\u{202e}` (see [`visible`]).

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for what must never reach an output raw: C0 controls, DEL, C1
/// controls, and the invisible characters that reorder or hide text (bidi
/// overrides and isolates, zero-width characters, line and paragraph
/// separators, the byte-order mark).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_ascii() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` with every control and invisible character written as an escape
/// (`\n`, `\x1b`, `\u{9b}`, `\u{202e}`), so it is one visible line.
pub fn visible(s: &str) -> Cow<'_, str> {
    visible_keeping(s, &[])
}

/// Like [`visible`], but the characters of `keep` stay (`\n` of a
/// multi-line text, `\t` that aligns it).
fn visible_keeping<'a>(s: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !s.chars().any(|c| hidden(c) && !keep.contains(&c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hidden(c) && !keep.contains(&c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn longest_run(s: &str, of: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        if c == of {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

// --------------------------------------------------------------- Markdown ---

/// `s` as inline code: fenced by more backticks than its longest backtick
/// run (padded with a space when it starts or ends with one), with newlines
/// and other controls shown escaped, so the span cannot end early, end its
/// line, or hold Markdown, HTML or a mention.
pub fn code_span(s: &str) -> String {
    let v = visible(s);
    if v.is_empty() {
        return "` `".into();
    }
    let fence = "`".repeat(longest_run(&v, '`') + 1);
    let all_spaces = v.chars().all(|c| c == ' ');
    // CommonMark strips one space from each end of `` ` a ` ``: pad when the
    // text itself starts or ends with a backtick, or with spaces on both ends.
    let pad = !all_spaces
        && (v.starts_with('`') || v.ends_with('`') || (v.starts_with(' ') && v.ends_with(' ')));
    let sp = if pad { " " } else { "" };
    format!("{fence}{sp}{v}{sp}{fence}")
}

/// `body` as a fenced code block (info string `lang`, which the caller
/// writes: `diff` or nothing). The fence is longer than any run of its
/// character in the body, so no line inside can close it; controls other
/// than newline and tab are shown escaped; a line that would start with
/// `<!--` (a hidden marker) gets a `\` before it.
pub fn code_block(lang: &str, body: &str) -> String {
    let v = visible_keeping(body, &['\n', '\t']);
    let mut lines = String::with_capacity(v.len() + 16);
    for line in v.trim_end_matches('\n').split('\n') {
        let rest = line.trim_start();
        if rest.starts_with("<!--") {
            let indent = &line[..line.len() - rest.len()];
            lines.push_str(indent);
            lines.push('\\');
            lines.push_str(rest);
        } else {
            lines.push_str(line);
        }
        lines.push('\n');
    }
    let backticks = longest_run(&lines, '`');
    let tildes = longest_run(&lines, '~');
    let fence = if backticks < 3 || backticks <= tildes {
        "`".repeat(backticks.max(2) + 1)
    } else {
        "~".repeat(tildes.max(2) + 1)
    };
    format!("{fence}{lang}\n{lines}{fence}\n")
}

/// `s` as Markdown prose, on one line: HTML escaped (`<`, `>`, `&`, `"`),
/// `@` unable to mention, link, emphasis, code, table, math and strike
/// syntax escaped, no autolink, no block syntax at its start, and every
/// newline or other control shown escaped (so it never starts a line, and
/// never a marker line).
pub fn text(s: &str) -> String {
    escape_text(&visible(s), true)
}

/// A sentence the tool wrote, in which `` `…` `` marks code (`` the rule
/// `tcp 22 0.0.0.0/0` opens 22 ``) and which may carry foreign values: each
/// code part goes through [`code_span`], the rest through [`text`]. A value
/// holding backticks can only move where code starts and ends.
pub fn prose(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let mut out = String::with_capacity(s.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        let closed = i + 1 < parts.len();
        if i % 2 == 1 && closed {
            out.push_str(&code_span(part));
        } else if i % 2 == 1 {
            // An unpaired backtick: plain text.
            out.push_str(&escape_text(&visible(&format!("`{part}")), false));
        } else if !part.is_empty() {
            out.push_str(&escape_text(&visible(part), i == 0));
        }
    }
    out
}

/// Rendered inline Markdown as a table cell: every `|` escaped, which
/// GitHub's table parser honours even inside code spans.
pub fn table_cell(markdown: &str) -> String {
    markdown.replace('|', "\\|")
}

fn escape_text(v: &str, line_start: bool) -> String {
    let mut out = String::with_capacity(v.len() + 8);
    let mut digits_only = line_start;
    let chars: Vec<char> = v.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let first = line_start && i == 0;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // A zero-width space after `@`: no mention, no e-mail autolink.
            '@' => out.push_str("@&#8203;"),
            // An entity, not `\|`: a table splits cells before unescaping.
            '|' => out.push_str("&#124;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            // `http://…` and `www.…` would become links.
            ':' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') => {
                out.push_str("&#58;")
            }
            '.' if i >= 3
                && chars[i - 3..i]
                    .iter()
                    .collect::<String>()
                    .eq_ignore_ascii_case("www") =>
            {
                out.push_str("&#46;")
            }
            // At the start of a line: no list, heading, quote, rule or
            // indented code.
            '-' | '+' | '=' if first => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if digits_only && i > 0 => {
                out.push('\\');
                out.push(c);
            }
            c if first && c.is_whitespace() => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c => out.push(c),
        }
        digits_only &= c.is_ascii_digit();
    }
    out
}

// --------------------------------------------------------------- terminal ---

/// One value for a terminal: every control character (newline included) and
/// invisible character shown escaped, so it cannot move the cursor, clear
/// the screen, set a link or a title, or start a line. Colour is added by
/// the caller, after.
pub fn terminal(s: &str) -> Cow<'_, str> {
    visible(s)
}

/// Several lines for a terminal or a log (an error chain, rendered text):
/// newlines and tabs stay, every other control is shown escaped, and no line
/// can be a workflow command ([`log_lines`]).
pub fn terminal_text(s: &str) -> String {
    log_lines(&visible_keeping(s, &['\n', '\t']))
}

// ---------------------------------------------------------- workflow commands

/// A workflow command's message (`::error …::MESSAGE`), escaped as GitHub
/// documents (`%`, `\r`, `\n`); other controls are shown escaped first.
pub fn workflow_data(s: &str) -> String {
    visible_keeping(s, &['\r', '\n'])
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (`file=…`): as [`workflow_data`],
/// and `:` and `,` escaped too.
pub fn workflow_property(s: &str) -> String {
    workflow_data(s).replace(':', "%3A").replace(',', "%2C")
}

// ------------------------------------------------------------------- JSON ---

/// Serialized JSON, made safe to print: serde escapes C0 controls, and this
/// also writes DEL, C1 and the invisible characters as `\uXXXX`, and `##[`
/// (an old-style workflow command, honoured anywhere in a log line) as
/// `#\u0023[`. Outside strings JSON has none of these, so the value read
/// back is the same.
pub fn json(serialized: &str) -> String {
    let mut out = String::with_capacity(serialized.len());
    let mut hashes = 0;
    for c in serialized.chars() {
        if c == '[' && hashes >= 2 {
            out.pop();
            out.push_str("\\u0023");
        }
        hashes = if c == '#' { hashes + 1 } else { 0 };
        if hidden(c) && !matches!(c, '\n' | '\t' | '\r') {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

// ------------------------------------------------------------------- logs ---

/// Text printed to the action's stdout or stderr, which the runner reads
/// for workflow commands: a line that would start with `::` (after
/// whitespace, which the runner skips) gets a `\` before it, and `##[` (the
/// old command syntax, honoured anywhere in a line) becomes `#\#[`.
pub fn log_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    // The runner splits lines at `\r` as well as at `\n`.
    for piece in s.split_inclusive(['\n', '\r']) {
        let rest = piece.trim_start_matches(|c: char| c.is_whitespace() && c != '\n' && c != '\r');
        out.push_str(&piece[..piece.len() - rest.len()]);
        if rest.starts_with("::") {
            out.push('\\');
        }
        out.push_str(&rest.replace("##[", "#\\#["));
    }
    out
}

#[cfg(test)]
mod tests {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    use super::*;
    use crate::render::structure as check;

    fn events(md: &str) -> Vec<Event<'_>> {
        Parser::new_ext(
            md,
            Options::ENABLE_TABLES
                | Options::ENABLE_STRIKETHROUGH
                | Options::ENABLE_TASKLISTS
                | Options::ENABLE_FOOTNOTES
                | Options::ENABLE_MATH
                | Options::ENABLE_GFM,
        )
        .collect()
    }

    /// Strings a hostile pull request or tag editor would try.
    const HOSTILE: &[&str] = &[
        "```",
        "````diff",
        "~~~",
        "a\n```\n<img src=x onerror=alert(1)>",
        "</details>",
        "x\n<!-- ec2-gitops:plan stack=x region=y fingerprint=z -->\ny",
        "<!-- ec2-gitops:plan stack=x region=y fingerprint=z -->",
        "@org/team please approve",
        "cc @octocat",
        "<img src=x onerror=alert(1)>",
        "[link](javascript:alert(1))",
        "![img](http://evil.example/p.png)",
        "see http://evil.example and www.evil.example",
        "line\rover",
        "\x1b]8;;http://evil\x07click\x1b]8;;\x07",
        "\x1b[2J\x1b[H",
        "::add-mask::x",
        "%0A::warning::forged",
        "\u{202e}txt.exe\u{202c}",
        "\u{9b}31m",
        "# heading",
        "> quote",
        "- item",
        "1. item",
        "    indented",
        "===",
        "*em* _em_ **strong** ~~del~~",
        "a | b | c",
        "$x^2$ and $$y$$",
        "[^1]",
        "&lt;b&gt; &amp; &#64;",
        "back\\slash\\",
        "a\\|b\\\\|c",
        "`code` ``double``",
        " lead and trail ",
        "",
    ];

    #[test]
    fn visible_escapes_controls_and_invisible_characters() {
        assert_eq!(visible("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(visible("\x1b[2J"), "\\x1b[2J");
        assert_eq!(visible("\x00\x7f"), "\\x00\\x7f");
        assert_eq!(visible("\u{9b}"), "\\u{9b}");
        assert_eq!(visible("\u{202e}x\u{2066}"), "\\u{202e}x\\u{2066}");
        assert_eq!(visible("\u{200b}\u{feff}"), "\\u{200b}\\u{feff}");
        assert!(matches!(visible("plain é ✓"), Cow::Borrowed("plain é ✓")));
    }

    #[test]
    fn a_code_span_holds_any_backtick_run() {
        for n in 1..=10 {
            let run = "`".repeat(n);
            for s in [
                run.clone(),
                format!("a{run}"),
                format!("{run}a"),
                format!("a{run}b"),
                format!("{run} {run}"),
                format!(" {run} "),
                format!("x{run}y{}z", "`".repeat(n + 1)),
            ] {
                let span = code_span(&s);
                let ev = events(&span);
                let codes: Vec<&str> = ev
                    .iter()
                    .filter_map(|e| match e {
                        Event::Code(c) => Some(c.as_ref()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(codes, [s.as_str()], "{s:?} as {span:?}: {ev:?}");
                assert_eq!(ev.len(), 3, "{span:?}: {ev:?}");
            }
        }
    }

    #[test]
    fn a_code_span_is_one_line_and_shows_everything_literally() {
        for s in HOSTILE {
            let span = code_span(s);
            assert!(!span.contains(['\n', '\r', '\x1b']), "{span:?}");
            let ev = events(&span);
            let code: Vec<String> = ev
                .iter()
                .filter_map(|e| match e {
                    Event::Code(c) => Some(c.to_string()),
                    _ => None,
                })
                .collect();
            let want = visible(s);
            let want = if want.is_empty() { " " } else { &*want };
            assert_eq!(code, [want], "{s:?} as {span:?}");
            assert!(check::markdown_problems(&span, &[]).is_empty());
        }
        assert_eq!(code_span("web-1"), "`web-1`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a\nb"), "`a\\nb`");
    }

    #[test]
    fn nothing_inside_a_code_block_can_close_it() {
        let mut bodies: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        for n in 1..=10 {
            bodies.push(format!("x\n{}\ny", "`".repeat(n)));
            bodies.push(format!("x\n{}\ny", "~".repeat(n)));
            bodies.push(format!("{}\n{}", "`".repeat(n), "~".repeat(11 - n)));
            bodies.push(format!("   {}", "`".repeat(n)));
        }
        bodies.push("- a: 1\n</details>\n\n<img src=x>\n@octocat\n".into());
        for body in &bodies {
            let block = code_block("diff", body);
            let md = format!("before\n\n{block}\nafter <sub>x</sub>\n");
            let ev = events(&md);
            let blocks = ev
                .iter()
                .filter(|e| matches!(e, Event::Start(Tag::CodeBlock(_))))
                .count();
            assert_eq!(blocks, 1, "{body:?} as {block:?}");
            let inside: String = ev
                .iter()
                .skip_while(|e| !matches!(e, Event::Start(Tag::CodeBlock(_))))
                .take_while(|e| !matches!(e, Event::End(TagEnd::CodeBlock)))
                .filter_map(|e| match e {
                    Event::Text(t) => Some(t.to_string()),
                    _ => None,
                })
                .collect();
            let body_lines = visible_keeping(body, &['\n', '\t']);
            assert_eq!(
                inside.lines().count(),
                body_lines.trim_end_matches('\n').split('\n').count(),
                "{body:?}"
            );
            assert!(
                matches!(ev.last(), Some(Event::End(TagEnd::Paragraph))),
                "{body:?}: {ev:?}"
            );
            assert!(check::markdown_problems(&md, &[]).is_empty(), "{md}");
        }
    }

    #[test]
    fn a_code_block_neither_holds_a_marker_line_nor_a_raw_control() {
        let block = code_block(
            "",
            "ok\n  <!-- ec2-gitops:plan stack=x region=y fingerprint=z -->\r\x1b[2J",
        );
        assert_eq!(
            block,
            "```\nok\n  \\<!-- ec2-gitops:plan stack=x region=y fingerprint=z -->\\r\\x1b[2J\n```\n"
        );
        assert!(block.lines().all(|l| !l.trim_start().starts_with("<!--")));
        assert_eq!(code_block("diff", "a ``` b"), "~~~diff\na ``` b\n~~~\n");
        assert_eq!(
            code_block("diff", "a ``` ~~~ b"),
            "````diff\na ``` ~~~ b\n````\n"
        );
        assert_eq!(code_block("", "````\n~~~"), "~~~~\n````\n~~~\n~~~~\n");
    }

    /// What `text(s)` must show: `s` with controls made visible and nothing
    /// else changed (but the zero-width space that stops a mention).
    fn shown(s: &str) -> String {
        visible(s).replace('@', "@\u{200b}")
    }

    fn rendered_text(md: &str) -> (String, Vec<String>) {
        let mut text = String::new();
        let mut other = Vec::new();
        for e in events(md) {
            match e {
                Event::Text(t) => text.push_str(&t),
                Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) => {}
                e => other.push(format!("{e:?}")),
            }
        }
        (text, other)
    }

    #[test]
    fn prose_is_shown_literally_on_one_line() {
        for s in HOSTILE {
            let md = text(s);
            assert!(!md.contains(['\n', '\r', '<', '>', '\x1b']), "{md:?}");
            assert!(!md.contains("://") && !md.contains("www."), "{md:?}");
            let (shown_text, other) = rendered_text(&md);
            // A paragraph drops trailing spaces, which cannot make structure.
            assert_eq!(shown_text, shown(s).trim_end(), "{s:?} as {md:?}");
            assert!(other.is_empty(), "{s:?} as {md:?}: {other:?}");
            // Also after other text on a line, and inside a quote.
            let (t, other) = rendered_text(&format!("x {md}"));
            assert_eq!(t, format!("x {}", shown(s)).trim_end());
            assert!(other.is_empty(), "{md:?}: {other:?}");
            assert!(check::markdown_problems(&format!("> {md}\n"), &[]).is_empty());
        }
        assert_eq!(text("web-1 is fine"), "web-1 is fine");
        assert_eq!(text("- a | b"), "\\- a &#124; b");
        assert_eq!(text("@octocat"), "@&#8203;octocat");
        assert_eq!(text("<b>"), "&lt;b&gt;");
    }

    #[test]
    fn prose_marks_only_the_tools_code() {
        let md = prose("`tcp 22 0.0.0.0/0` opens 22 (SSH) to `*`");
        assert_eq!(md, "`tcp 22 0.0.0.0/0` opens 22 (SSH) to `*`");
        let md = prose("`a``b` <img> `unclosed");
        let ev = events(&md);
        assert!(
            ev.iter().all(|e| !matches!(e, Event::InlineHtml(_))),
            "{ev:?}"
        );
        for s in HOSTILE {
            let md = prose(&format!("`{s}`: {s} `{s}"));
            assert!(!md.contains('\n'), "{md:?}");
            assert!(check::markdown_problems(&md, &[]).is_empty(), "{md}");
            let (_, other) = rendered_text(&md);
            assert!(
                other.iter().all(|e| e.starts_with("Code(")),
                "{s:?} as {md:?}: {other:?}"
            );
        }
    }

    #[test]
    fn a_table_cell_holds_pipes_even_in_code() {
        for s in HOSTILE {
            let row = format!(
                "| a | b |\n| --- | --- |\n| {} | {} |\n",
                table_cell(&code_span(s)),
                table_cell(&text(s))
            );
            let cells = events(&row)
                .iter()
                .filter(|e| matches!(e, Event::Start(Tag::TableCell)))
                .count();
            assert_eq!(cells, 4, "{s:?} in {row:?}");
            assert!(check::markdown_problems(&row, &[]).is_empty(), "{row}");
        }
    }

    #[test]
    fn terminal_shows_every_control_escaped() {
        assert_eq!(
            terminal("\x1b]8;;http://evil\x07click\x1b]8;;\x07"),
            "\\x1b]8;;http://evil\\x07click\\x1b]8;;\\x07"
        );
        assert_eq!(terminal("\x1b[2J\rok\n"), "\\x1b[2J\\rok\\n");
        assert_eq!(terminal("\u{9b}2J"), "\\u{9b}2J");
        for s in HOSTILE {
            assert!(!terminal(s).chars().any(hidden), "{s:?}");
            let t = terminal_text(&format!("{s}\n  {s}\n"));
            assert!(check::log_problems(&t, &[]).is_empty(), "{t:?}");
        }
        assert_eq!(terminal_text("a\n\tb\r\n"), "a\n\tb\\r\n");
    }

    #[test]
    fn workflow_commands_escape_as_github_documents() {
        assert_eq!(workflow_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(workflow_data("%0A::warning::x"), "%250A::warning::x");
        assert_eq!(workflow_data("a\x1bb"), "a\\x1bb");
        assert_eq!(workflow_property("a,b:c%\n"), "a%2Cb%3Ac%25%0A");
        for s in HOSTILE {
            let line = format!(
                "::error file={}::{}",
                workflow_property(s),
                workflow_data(s)
            );
            assert_eq!(line.lines().count(), 1, "{line:?}");
            assert!(check::log_problems(&line, &["::error file="]).is_empty());
        }
    }

    #[test]
    fn json_reads_back_the_same_and_prints_no_command() {
        let v = serde_json::json!({ "s": "##[warning]x ###[ \u{7f}\u{9b}\u{202e}\x1b é" });
        let out = json(&serde_json::to_string_pretty(&v).unwrap());
        assert!(!out.contains("##["), "{out}");
        assert!(!out.chars().any(|c| hidden(c) && c != '\n'), "{out}");
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn no_log_line_a_string_starts_is_a_workflow_command() {
        assert_eq!(log_lines("::add-mask::x"), "\\::add-mask::x");
        assert_eq!(log_lines("ok\n  ::warning::y\n"), "ok\n  \\::warning::y\n");
        assert_eq!(
            log_lines("a\r::set-output name=x::y"),
            "a\r\\::set-output name=x::y"
        );
        assert_eq!(log_lines("see ##[warning]x"), "see #\\#[warning]x");
        assert_eq!(log_lines("a :: b"), "a :: b");
        for s in HOSTILE {
            let out = log_lines(&format!("{s}\n{s}"));
            for line in out.split(['\n', '\r']) {
                assert!(!line.trim_start().starts_with("::"), "{line:?}");
                assert!(!line.contains("##["), "{line:?}");
            }
        }
    }
}
