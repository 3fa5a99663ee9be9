//! A user-facing validation error, located in a stack file, and the one way
//! a line of the file gets quoted under it.

use crate::model::Location;

/// One problem found in a stack file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the offending key or value starts.
    pub at: Location,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
    /// The text of the source line at `at.line`, for the rendered snippet.
    pub source_line: Option<String>,
    /// How many characters to underline from `at.column` (at least 1).
    pub width: usize,
}

impl Diagnostic {
    /// A diagnostic without a source snippet (for file-level problems).
    pub fn new(at: Location, message: impl Into<String>) -> Self {
        Self {
            at,
            message: message.into(),
            hint: None,
            source_line: None,
            width: 1,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Quotes the line at `at` from `source`, underlining `width` characters,
    /// unless the line may not be quoted (see [`Source`]).
    pub fn with_source(mut self, source: &Source<'_>, width: usize) -> Self {
        if let Some((shown, width)) = source.snippet(self.at.line, self.at.column, width) {
            self.source_line = Some(shown);
            self.width = width.max(1);
        }
        self
    }
}

/// Sorts diagnostics by file and position, keeping the order of those at the
/// same place.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| a.at.cmp(&b.at));
}

/// Errors further right than this get no source snippet.
const MAX_SNIPPET_COLUMN: usize = 200;
/// A snippet underlines at most this many characters.
const MAX_UNDERLINE: usize = 80;

/// A stack file's text as diagnostics see it. Lines that hold user data (a
/// `user_data` value, inline or as a `|`/`>` block) or any other block of
/// text are never quoted: they may hold a secret, and an error pointing into
/// them must not print it.
pub struct Source<'s> {
    lines: Vec<&'s str>,
    /// Per line (0-based): may not be quoted.
    hidden: Vec<bool>,
}

impl<'s> Source<'s> {
    /// The lines of `text`, with those that may not be quoted marked.
    pub fn new(text: &'s str) -> Self {
        let lines = yaml_lines(text);
        let hidden = hidden_lines(&lines);
        Self { lines, hidden }
    }

    /// The text of a 1-based line, for decisions (never for printing).
    pub fn line(&self, line: usize) -> Option<&'s str> {
        self.lines.get(line.wrapping_sub(1)).copied()
    }

    /// Whether the text holds nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }

    /// Whether the 1-based line may be quoted under an error.
    pub fn quotable(&self, line: usize) -> bool {
        self.hidden.get(line.wrapping_sub(1)) == Some(&false)
    }

    /// The line as shown under an error, and the underline width: control
    /// characters (a NUL, an escape sequence) shown as U+FFFD so they cannot
    /// garble a terminal or a log, and a long line cut a little after the
    /// underlined part. `None` for a line that may not be quoted, or an
    /// error so far right that a snippet would only repeat a huge line.
    fn snippet(&self, line: usize, col: usize, width: usize) -> Option<(String, usize)> {
        if !self.quotable(line) || col > MAX_SNIPPET_COLUMN {
            return None;
        }
        let text = self.line(line)?;
        Some(snippet(text, col, width))
    }
}

fn snippet(line: &str, col: usize, width: usize) -> (String, usize) {
    let width = width.min(MAX_UNDERLINE);
    let keep = (col.saturating_sub(1) + width + 20).max(120);
    let mut shown: String = line
        .chars()
        .take(keep)
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if line.chars().count() > keep {
        shown.push_str(" …");
    }
    (shown, width)
}

/// The source lines as YAML counts them: `\r\n`, `\n` and a lone `\r` all
/// end a line.
fn yaml_lines(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find(['\n', '\r']) {
        out.push(&rest[..i]);
        let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + skip..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

fn indent(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ').count()
}

/// Marks the lines that may not be quoted: a line naming the key
/// `user_data` and every line after it indented deeper (its value, however
/// it is written, even where the YAML is broken), and the lines of any
/// `|`/`>` block. A text scan, not the parsed tree, so that it holds for
/// files that do not parse too; it errs on the side of hiding.
fn hidden_lines(lines: &[&str]) -> Vec<bool> {
    let mut hidden = vec![false; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let user_data = names_user_data(line);
        if user_data || opens_block(line) {
            hidden[i] = user_data;
            let base = indent(line);
            let mut j = i + 1;
            while j < lines.len() && (lines[j].trim().is_empty() || indent(lines[j]) > base) {
                hidden[j] = true;
                j += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    hidden
}

/// Whether the line has `user_data` as a key (plain or quoted, block or
/// flow style); `user_data_file` is not it.
fn names_user_data(line: &str) -> bool {
    const KEY: &str = "user_data";
    line.match_indices(KEY).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + KEY.len()..].trim_start_matches(['"', '\'']);
        matches!(
            before,
            None | Some(' ' | '\t' | '{' | ',' | '"' | '\'' | '-')
        ) && after.starts_with(':')
            && after[1..].chars().next().is_none_or(char::is_whitespace)
    })
}

/// Whether the line ends with a block scalar indicator (`key: |`, `- >-`,
/// `key: |2 # comment`): the lines below it are text.
fn opens_block(line: &str) -> bool {
    let code = line.split(" #").next().unwrap_or(line).trim_end();
    let Some(last) = code.split_whitespace().next_back() else {
        return false;
    };
    let before = code[..code.len() - last.len()].trim_end();
    (last.starts_with('|') || last.starts_with('>'))
        && last[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
        && (before.ends_with(':') || before.ends_with('-') || before.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_every_yaml_line_break() {
        assert_eq!(yaml_lines("a\r\nb\rc\nd"), ["a", "b", "c", "d"]);
        assert_eq!(yaml_lines("a\n\n"), ["a", ""]);
    }

    #[test]
    fn snippets_hide_control_characters_and_cut_long_lines() {
        assert_eq!(
            snippet("a: \u{0}\u{1b}[31m", 4, 1),
            ("a: \u{FFFD}\u{FFFD}[31m".into(), 1)
        );
        let long = "x".repeat(10_000);
        let (shown, width) = snippet(&long, 5, 10_000);
        assert_eq!(width, MAX_UNDERLINE);
        assert_eq!(shown, format!("{} …", "x".repeat(120)));
        let (shown, _) = snippet(&long, 150, 10_000);
        assert_eq!(shown, format!("{} …", "x".repeat(149 + MAX_UNDERLINE + 20)));
    }

    #[test]
    fn user_data_lines_are_never_quoted() {
        let src = Source::new(
            "instances:\n  web:\n    user_data: |\n      password=hunter2\n\n      x: [\n    type: t3.micro\n  db: { user_data: \"token=abc\", type: t3.micro }\n  api:\n    user_data_file: a.sh\n",
        );
        let quotable: Vec<bool> = (1..=10).map(|l| src.quotable(l)).collect();
        assert_eq!(
            quotable,
            [
                true, true, false, false, false, false, true, false, true, true
            ]
        );
    }

    #[test]
    fn block_text_lines_are_never_quoted_but_their_key_is() {
        let src = Source::new("a:\n  b: >-\n    text\n  c: 1\n  - |\n   x\n");
        let quotable: Vec<bool> = (1..=6).map(|l| src.quotable(l)).collect();
        assert_eq!(quotable, [true, true, false, true, true, false]);
    }

    #[test]
    fn a_diagnostic_inside_user_data_has_no_snippet() {
        let src = Source::new("user_data: |\n  secret\n");
        let at = |line| Location {
            file: "s.yaml".into(),
            line,
            column: 3,
        };
        assert_eq!(
            Diagnostic::new(at(2), "m").with_source(&src, 6).source_line,
            None
        );
        assert_eq!(
            Diagnostic::new(at(1), "m").with_source(&src, 6).source_line,
            None
        );
        let other = Source::new("a: 1\nb: 2\n");
        assert_eq!(
            Diagnostic::new(at(2), "m")
                .with_source(&other, 1)
                .source_line
                .as_deref(),
            Some("b: 2")
        );
    }
}
