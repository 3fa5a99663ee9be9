//! Messages a person can act on for what the scanner refuses: tabs,
//! control characters, unfinished keys, unclosed brackets.

use super::*;

/// YAML forbids most control characters; finding one usually means a binary
/// file, so say so before the parser says something obscure.
pub(super) fn control_character(src: &str) -> Option<YamlError> {
    for (i, line) in src.split('\n').enumerate() {
        for (j, c) in line.chars().enumerate() {
            let bad = (c.is_control() && !matches!(c, '\t' | '\r' | '\u{85}'))
                || matches!(c, '\u{FFFE}' | '\u{FFFF}');
            if bad {
                return Some(
                    YamlError::new(
                        Pos {
                            line: i + 1,
                            col: j + 1,
                            file: 0,
                        },
                        format!(
                            "the file contains the control character U+{:04X}, which YAML does not allow",
                            c as u32
                        ),
                    )
                    .hint("is this a binary file? stack files are UTF-8 text"),
                );
            }
        }
    }
    None
}

/// Turns a scanner error into a message a person can act on.
pub(super) fn scan_error(src: &str, e: &ScanError) -> YamlError {
    let at = pos(e.marker());
    let info = e.info();
    // The scanner reports tabs at odd places (often the previous scalar):
    // find the tab itself.
    if info.contains("tab") {
        return tab_error(src, at);
    }
    let char_at = src
        .lines()
        .nth(at.line.saturating_sub(1))
        .and_then(|l| l.chars().nth(at.col - 1));
    if info.contains("':' must be followed by") && char_at == Some('\t') {
        return YamlError::new(at, "a tab after `:` is not allowed here; use a space")
            .hint("replace the tab with a space");
    }
    // A bracket left open makes the scanner fail lines later, with a
    // message about something else: point at the bracket.
    if info.contains("simple key expect") {
        return key_line_error(src, at);
    }
    if info.contains("recursion limit exceeded") {
        return YamlError::new(at, format!("the YAML nests deeper than {MAX_DEPTH} levels"))
            .hint("a stack file needs only a few levels: check the indentation and the brackets");
    }
    if let Some((open, c)) = unclosed_bracket(src, at) {
        let close = if c == '[' { ']' } else { '}' };
        return YamlError::new(open, format!("this `{c}` is never closed")).hint(format!(
            "close it with `{close}`; YAML gave up at line {}, column {} ({info})",
            at.line, at.col
        ));
    }
    let (message, hint) = scanner_message(info, char_at);
    YamlError::new(at, message).hint(hint)
}

/// A tab where YAML allows none: the first tab of an indentation from the
/// error's line on, or the error's position.
pub(super) fn tab_error(src: &str, at: Pos) -> YamlError {
    for (i, line) in src.lines().enumerate().skip(at.line.saturating_sub(1)) {
        let indent: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if let Some(col) = indent.find('\t')
            && indent.len() < line.len()
        {
            return YamlError::new(
                Pos {
                    line: i + 1,
                    col: col + 1,
                    file: 0,
                },
                "tabs are not allowed for indentation in YAML; use spaces",
            )
            .hint("replace the tab with spaces (set your editor to indent with spaces)");
        }
    }
    YamlError::new(at, "a tab is not allowed here in YAML; use spaces")
        .hint("replace the tab with a space")
}

/// A key the scanner could not finish: reported where it gave up looking for
/// the `:` (far to the right, or at the end of the file), so the error points
/// at the last line with content up to there, the key's line.
pub(super) fn key_line_error(src: &str, at: Pos) -> YamlError {
    let lines: Vec<&str> = src.lines().collect();
    let last = at.line.min(lines.len()).max(1);
    let (i, line) = (0..last)
        .rev()
        .map(|i| (i, lines.get(i).copied().unwrap_or("")))
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or((0, ""));
    let indent = line.chars().take_while(|c| *c == ' ').count();
    let at = Pos {
        line: i + 1,
        col: indent + 1,
        file: 0,
    };
    if line.chars().count() > 1024 {
        YamlError::new(at, "this key is longer than YAML allows (1024 characters)")
            .hint("use a short key")
    } else if line.contains(':') {
        YamlError::new(at, "YAML cannot read this line as `key: value`")
            .hint("check its indentation, and the lines above for a missing `:` or quote")
    } else {
        YamlError::new(at, "this line is not `key: value`: the `:` is missing")
            .hint("write `key: value`, or check the indentation of the line above")
    }
}

/// The message and hint for the scanner's `info`, one arm per scanner
/// message a stack file meets; `char_at` is the character at the error.
pub(super) fn scanner_message(info: &str, char_at: Option<char>) -> (String, &'static str) {
    match info {
        i if i.contains("mapping values are not allowed") => (
            "unexpected `:` here".to_string(),
            "check the indentation, or quote a value that contains `: `",
        ),
        i if i.contains("did not find expected '-' indicator") => (
            "expected another `- ` list item at this indentation".to_string(),
            "check the indentation",
        ),
        i if i.contains("did not find expected key") => (
            "expected a `key: value` line at this indentation".to_string(),
            "check the indentation",
        ),
        i if i.contains("while scanning a quoted scalar, found unexpected end of stream") => (
            "this quoted string is never closed".to_string(),
            "add the closing quote",
        ),
        i if i.contains("found unexpected end of stream") => (
            format!(
                "the file ends inside a value ({})",
                info.trim_start_matches("while ")
            ),
            "a quote or bracket is probably not closed",
        ),
        i if i.contains("invalid indentation in quoted scalar") => (
            "this quoted string is not closed on its line, and the next line is not indented under it".to_string(),
            "add the closing quote; a string that goes on over several lines is indented more than its key",
        ),
        i if i.contains("found unknown anchor") => (
            "this alias refers to an anchor that is not defined".to_string(),
            "define the anchor (`&name`) before the alias (`*name`) that repeats it",
        ),
        i if i.contains("':' must be followed by a valid YAML whitespace") => (
            "`:` must be followed by a space".to_string(),
            "write `key: value`, with a space after the `:`",
        ),
        i if i.contains("'-' must be followed by a valid YAML whitespace") => (
            "`-` must be followed by a space".to_string(),
            "write list items as `- value`, with a space after the `-`",
        ),
        i if i.contains("did not find expected ',' or '}'") => (
            "expected `,` or `}` here, inside a `{ … }` map".to_string(),
            "separate entries with `, `, and quote a value that contains `: `",
        ),
        i if i.contains("expected ',' or ']'") => (
            "expected `,` or `]` here, inside a `[ … ]` list".to_string(),
            "separate items with `, `, and quote an item that contains `: `",
        ),
        i if i.contains("misplaced bracket") => (
            "this closing bracket has no opening `[` or `{`".to_string(),
            "remove it, or open the list or map it closes",
        ),
        i if i.contains("comment intercepting the multiline text") => (
            "a `#` comment interrupts a value that goes on over several lines".to_string(),
            "put the value on one line, or quote it",
        ),
        i if i.contains("comments must be separated from other tokens") => (
            "a `#` comment must have a space before it".to_string(),
            "put a space before the `#`, or quote the value if `#` is part of it",
        ),
        i if i.contains("invalid trailing content after double-quoted scalar") => (
            "unexpected text after the closing quote".to_string(),
            "put the whole value inside the quotes",
        ),
        i if i.contains("unexpected character") => (
            format!("a value cannot start with {}", char_at.map_or("this character".to_string(), |c| format!("'{c}'"))),
            "quote the value: YAML reserves `@`, `` ` `` and `%` at the start of a value",
        ),
        i if i.contains("while scanning a block scalar, did not find expected comment") => (
            "after `|` or `>`, the text starts on the next line".to_string(),
            "move the text to the next line, indented under the key",
        ),
        i if i.contains("block sequence entries are not allowed") => (
            "a `- ` list item is not allowed here".to_string(),
            "start the list on the line after its key, indented",
        ),
        i if i.contains("did not find expected node content") => (
            "a value is missing here".to_string(),
            "check for a stray `,`, `:`, `-` or `?`",
        ),
        "invalid indentation" => (
            "this line's indentation does not match the lines above".to_string(),
            "keys of one map, and items of one list, start in the same column",
        ),
        i if i.contains("unknown escape character") || i.contains("Unicode character escape") => (
            format!("invalid YAML: {info}"),
            "in double quotes `\\` starts an escape: write `\\\\` for a backslash, or use single quotes",
        ),
        other => (
            format!("invalid YAML: {other}"),
            "check the syntax at this position: indentation, quotes and brackets",
        ),
    }
}

/// The `[` or `{` that is still open at `at` and never closed in the whole
/// file, if any: the likely cause of a scanner error there. A rough scan
/// (quotes, comments and block scalars skipped), used only to explain an
/// error the parser already found.
pub(super) fn unclosed_bracket(src: &str, at: Pos) -> Option<(Pos, char)> {
    let mut scan = BracketScan::default();
    for (i, line) in src.lines().enumerate() {
        scan.line(i + 1, line, at);
    }
    let unclosed_at_error = scan.open_at_error.unwrap_or_else(|| scan.open.clone());
    // Only a bracket open at the error and still open at the end of the
    // file: one closed later is not the cause.
    unclosed_at_error
        .into_iter()
        .rev()
        .find(|b| scan.open.contains(b) && b.0 < at)
}

/// What [`unclosed_bracket`]'s scan carries from one line to the next.
#[derive(Default)]
pub(super) struct BracketScan {
    /// The brackets open so far, innermost last.
    open: Vec<(Pos, char)>,
    /// The brackets that were open at the error, once the scan reached it.
    open_at_error: Option<Vec<(Pos, char)>>,
    /// The quote of the quoted scalar the scan is in, if any.
    quote: Option<char>,
    /// Lines of a block scalar (`|`, `>`) are skipped while indented more
    /// than the line that started it.
    block_indent: Option<usize>,
}

impl BracketScan {
    /// Scans line number `line_no` (1-based), noting the open brackets when
    /// it reaches `at`.
    fn line(&mut self, line_no: usize, line: &str, at: Pos) {
        let indent = line.chars().take_while(|c| *c == ' ').count();
        if let Some(b) = self.block_indent {
            if line.trim().is_empty() || indent > b {
                return;
            }
            self.block_indent = None;
        }
        let mut value_start = true;
        let mut prev = ' ';
        let chars: Vec<char> = line.chars().collect();
        for (j, &c) in chars.iter().enumerate() {
            let here = Pos {
                line: line_no,
                col: j + 1,
                file: 0,
            };
            if self.open_at_error.is_none() && here >= at {
                self.open_at_error = Some(self.open.clone());
            }
            if let Some(q) = self.quote {
                if c == q && !(q == '"' && prev == '\\') {
                    self.quote = None;
                }
                prev = if prev == '\\' && c == '\\' { ' ' } else { c };
                continue;
            }
            match c {
                '#' if prev == ' ' || prev == '\t' || j == 0 => break,
                '\'' | '"' if value_start => self.quote = Some(c),
                '[' | '{' if value_start || !self.open.is_empty() => self.open.push((here, c)),
                ']' | '}' if !self.open.is_empty() => {
                    self.open.pop();
                }
                '|' | '>' if value_start && self.open.is_empty() => {
                    self.block_indent = Some(indent);
                    break;
                }
                _ => {}
            }
            let next = chars.get(j + 1).copied().unwrap_or(' ');
            value_start = match c {
                '[' | '{' | ',' => true,
                ':' | '-' | '?' => next == ' ' || next == '\t',
                ' ' | '\t' => value_start,
                _ => false,
            };
            prev = c;
        }
    }
}
