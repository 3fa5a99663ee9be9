//! What a reviewer sees: a rendered comment as GitHub's own Markdown engine
//! turns it into HTML (tests only; the integration tests include this file
//! too, so it uses nothing of the crate).
//!
//! [`html`] runs `cmark-gfm` (GitHub's fork of cmark) with GitHub's
//! extensions. [`problems`] reads that HTML back:
//!
//! - structure, whatever the values: every `<details>` closed and opened by a
//!   `<summary>`, no strikethrough (the tool writes none, so one is a value or
//!   a marker that broke out), and as many headings, tables, code blocks and
//!   bold spans as the Markdown was written with (what `pulldown-cmark`, an
//!   independent CommonMark parser, reads in it);
//! - [`stray_problems`], for texts made of plain values: no `**`, `` ` ``,
//!   `~` or tag text left over in what the reader sees, which is what a
//!   marker that did not render leaves behind. The update marker `~` at the
//!   start of a bold resource header is the one tilde the tool shows.

use std::io::Write as _;
use std::process::{Command, Stdio};

use pulldown_cmark::{Event, Options, Parser, Tag};

/// The binary, `cmark-gfm` on `PATH` unless `CMARK_GFM` names another.
fn binary() -> String {
    std::env::var("CMARK_GFM").unwrap_or_else(|_| "cmark-gfm".into())
}

/// `md` rendered as GitHub renders a comment: tables, strikethrough,
/// autolinks, task lists and GitHub's tag filter; raw HTML kept (GitHub
/// keeps `<details>`, `<summary>` and `<sub>`).
///
/// Panics with how to install `cmark-gfm` when it is missing.
pub fn html(md: &str) -> String {
    let mut child = Command::new(binary())
        .args([
            "--unsafe",
            "-e",
            "table",
            "-e",
            "strikethrough",
            "-e",
            "autolink",
            "-e",
            "tasklist",
            "-e",
            "tagfilter",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): the comment tests render Markdown with GitHub's engine. \
                 Install it with `apt-get install cmark-gfm` (scripts/setup-test-deps.sh does), \
                 or point CMARK_GFM at the binary",
                binary()
            )
        });
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = md.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("cmark-gfm runs");
    writer
        .join()
        .expect("writer thread")
        .expect("cmark-gfm reads its input");
    assert!(
        out.status.success(),
        "cmark-gfm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cmark-gfm writes UTF-8")
}

/// One piece of the HTML: a tag (`<strong>`, `</pre>`) or decoded text.
#[derive(Debug, PartialEq)]
enum Piece {
    Open(String),
    Close(String),
    Text(String),
}

/// Splits cmark-gfm's HTML into tags and text (its output is regular: no
/// `>` inside attribute values, entities only for `<>&"`).
fn pieces(html: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix("<!--") {
            let end = tail.find("-->").map_or(tail.len(), |i| i + 3);
            rest = &tail[end..];
            continue;
        }
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            let tag = &rest[1..end.saturating_sub(1)];
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if tag.starts_with('/') {
                out.push(Piece::Close(name));
            } else {
                out.push(Piece::Open(name));
            }
            rest = &rest[end..];
            continue;
        }
        let end = rest.find('<').unwrap_or(rest.len());
        let text = rest[..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        out.push(Piece::Text(text));
        rest = &rest[end..];
    }
    out
}

/// The elements GitHub's engine makes of `md`, in order and without their
/// text: a hostile value escaped right gives the same as a plain one.
pub fn tags(md: &str) -> Vec<String> {
    pieces(&html(md))
        .into_iter()
        .filter_map(|p| match p {
            Piece::Open(n) => Some(format!("<{n}>")),
            Piece::Close(n) => Some(format!("</{n}>")),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Elements that hold no Markdown: their text is shown as written.
fn is_code(name: &str) -> bool {
    name == "code" || name == "pre"
}

/// What is wrong with `md` once GitHub renders it, whatever values are in
/// it. Empty when sound.
pub fn structure_problems(md: &str) -> Vec<String> {
    let html = html(md);
    let pieces = pieces(&html);
    let mut problems = Vec::new();
    let mut depth: i64 = 0;
    let count = |name: &str| {
        pieces
            .iter()
            .filter(|p| matches!(p, Piece::Open(n) if n == name))
            .count()
    };
    for (i, p) in pieces.iter().enumerate() {
        match p {
            Piece::Open(n) if n == "details" => {
                depth += 1;
                let next = pieces[i + 1..]
                    .iter()
                    .find(|p| !matches!(p, Piece::Text(t) if t.trim().is_empty()));
                if !matches!(next, Some(Piece::Open(s)) if s == "summary") {
                    problems.push(format!("a <details> without a <summary>: {next:?}"));
                }
            }
            Piece::Close(n) if n == "details" => {
                depth -= 1;
                if depth < 0 {
                    problems.push("a </details> that closes nothing".into());
                    depth = 0;
                }
            }
            Piece::Open(n) if n == "del" => {
                problems.push(format!(
                    "strikethrough: {:?}",
                    pieces.get(i + 1).map(|p| format!("{p:?}"))
                ));
            }
            _ => {}
        }
    }
    if depth != 0 {
        problems.push(format!("{depth} <details> never closed"));
    }
    let intended = intended(md);
    for (name, want) in [
        ("pre", intended.code_blocks),
        ("table", intended.tables),
        ("strong", intended.strong),
        ("h1", intended.headings[0]),
        ("h2", intended.headings[1]),
        ("h3", intended.headings[2]),
        ("h4", intended.headings[3]),
    ] {
        let got = count(name);
        if got != want {
            problems.push(format!(
                "{got} <{name}> rendered, {want} written (GitHub's engine reads the Markdown differently)"
            ));
        }
    }
    problems
}

/// What is wrong with `md`, a text made of plain values, once rendered:
/// [`structure_problems`] and [`stray_problems`].
pub fn problems(md: &str) -> Vec<String> {
    let mut p = structure_problems(md);
    p.extend(stray_problems(md));
    p
}

/// Markup that shows as text once GitHub renders `md`: `**`, a backtick, a
/// tilde (but the update marker at the start of a bold header), or a
/// `<details>`/`<summary>` tag. Only for texts of plain values: an escaped
/// value may show any of these.
pub fn stray_problems(md: &str) -> Vec<String> {
    let html = html(md);
    let pieces = pieces(&html);
    let mut problems = Vec::new();
    let mut in_code = 0usize;
    for (i, p) in pieces.iter().enumerate() {
        match p {
            Piece::Open(n) if is_code(n) => in_code += 1,
            Piece::Close(n) if is_code(n) => in_code = in_code.saturating_sub(1),
            Piece::Text(t) if in_code == 0 => {
                let header = i > 0 && matches!(&pieces[i - 1], Piece::Open(n) if n == "strong");
                let shown = if header {
                    t.strip_prefix("~! ")
                        .or_else(|| t.strip_prefix("~ "))
                        .unwrap_or(t)
                } else {
                    t
                };
                for stray in [
                    "**",
                    "`",
                    "~",
                    "<details",
                    "</details",
                    "<summary",
                    "</summary",
                ] {
                    if shown.contains(stray) {
                        problems.push(format!("{stray:?} shows as text in {t:?}"));
                    }
                }
            }
            _ => {}
        }
    }
    problems
}

/// What the Markdown was written with, as an independent parser reads it.
struct Intended {
    code_blocks: usize,
    tables: usize,
    strong: usize,
    headings: [usize; 4],
}

fn intended(md: &str) -> Intended {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    let mut i = Intended {
        code_blocks: 0,
        tables: 0,
        strong: 0,
        headings: [0; 4],
    };
    for event in Parser::new_ext(md, options) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => i.code_blocks += 1,
            Event::Start(Tag::Table(_)) => i.tables += 1,
            Event::Start(Tag::Strong) => i.strong += 1,
            Event::Start(Tag::Heading { level, .. }) => {
                let n = level as usize;
                if (1..=4).contains(&n) {
                    i.headings[n - 1] += 1;
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                // Raw HTML the tool writes itself counts as written.
                i.strong += h.matches("<strong>").count();
                i.code_blocks += h.matches("<pre>").count();
            }
            _ => {}
        }
    }
    i
}
