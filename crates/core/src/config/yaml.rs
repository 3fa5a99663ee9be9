//! A small YAML 1.2 front end over `saphyr-parser`: builds a located node tree
//! that keeps key order and duplicate keys, resolves plain scalars with the
//! core schema, expands aliases under a budget and refuses what a stack file
//! never needs (several documents, custom tags, tabs for indentation).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

/// Files above this size are refused unread.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// Cap on nodes after alias expansion (defeats "billion laughs").
pub const MAX_NODES: usize = 100_000;
/// Cap on nesting (keeps recursion in clone/drop/decoding shallow).
pub const MAX_DEPTH: usize = 64;

/// A position in the source: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Which file of the stack: 0 is the stack file, 1… the files it
    /// extends (see [`crate::config`]'s `extends`).
    pub file: u16,
}

/// A located YAML node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub start: Pos,
    /// Where it ends (exclusive).
    pub end: Pos,
    /// What it holds.
    pub kind: NodeKind,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar as written, with how it was written.
    Scalar {
        /// The text after unescaping.
        text: String,
        /// Quoted or block scalars are always strings.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order, duplicates kept.
    Map(Vec<(Node, Node)>),
}

/// A scalar resolved with the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false` (and their capitalised forms only).
    Bool(bool),
    /// A decimal, `0o` octal or `0x` hex integer.
    Int(i64),
    /// A float (`1.5`, `.inf`, `.nan`).
    Float(f64),
    /// Anything else, and every quoted scalar.
    Str(&'a str),
}

impl Node {
    /// The core-schema value of a scalar, `None` for collections.
    pub fn value(&self) -> Option<Value<'_>> {
        match &self.kind {
            NodeKind::Scalar { text, plain } => Some(if *plain {
                resolve(text)
            } else {
                Value::Str(text)
            }),
            _ => None,
        }
    }

    /// How a message names what this node is (`the string "two"`).
    pub fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Seq(_) => "a list".into(),
            NodeKind::Map(_) => "a map".into(),
            NodeKind::Scalar { .. } => match self.value() {
                Some(Value::Null) => "nothing (null)".into(),
                Some(Value::Bool(b)) => format!("the boolean {b}"),
                Some(Value::Int(i)) => format!("the integer {i}"),
                Some(Value::Float(_)) | None => {
                    format!("the number {}", self.text().unwrap_or_default())
                }
                Some(Value::Str(s)) => describe_str(s),
            },
        }
    }

    /// The raw text of a scalar.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    fn count(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar { .. } => 1,
            NodeKind::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            NodeKind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

/// `the string "…"`, shortened: a whole HTML page or user data pasted
/// where a name belongs must not flood the message.
fn describe_str(s: &str) -> String {
    const SHOWN: usize = 40;
    let n = s.chars().count();
    if n <= SHOWN + 20 {
        return format!("the string {s:?}");
    }
    let head: String = s.chars().take(SHOWN).collect();
    format!("the string {:?} ({n} characters)", format!("{head}…"))
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
pub fn resolve(text: &str) -> Value<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if !oct.is_empty()
            && oct.bytes().all(|b| (b'0'..=b'7').contains(&b))
            && let Ok(i) = i64::from_str_radix(oct, 8)
        {
            return Value::Int(i);
        }
        return Value::Str(text);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(i) = i64::from_str_radix(hex, 16)
        {
            return Value::Int(i);
        }
        return Value::Str(text);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
        // Too large for i64: still a number, never a string.
        return Value::Float(text.parse().unwrap_or(f64::INFINITY));
    }
    if is_core_float(digits)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text)
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` (sign stripped).
fn is_core_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && (!int.is_empty() || !frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

/// A problem that stops parsing: one per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where.
    pub at: Pos,
    /// What.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl YamlError {
    fn new(at: Pos, message: impl Into<String>) -> Self {
        Self {
            at,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
        file: 0,
    }
}

/// Parses one YAML document. `Ok(None)` for a file with no document at all.
pub fn parse(src: &str) -> Result<Option<Node>, YamlError> {
    let first = Pos {
        line: 1,
        col: 1,
        file: 0,
    };
    if src.len() > MAX_FILE_BYTES {
        return Err(YamlError::new(
            first,
            format!(
                "the file is {} bytes; stack files are limited to {} bytes (5 MB)",
                src.len(),
                MAX_FILE_BYTES
            ),
        )
        .hint("split the stack into several files"));
    }
    if let Some(err) = control_character(src) {
        return Err(err);
    }
    Builder::default().run(src)
}

/// YAML forbids most control characters; finding one usually means a binary
/// file, so say so before the parser says something obscure.
fn control_character(src: &str) -> Option<YamlError> {
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

enum Frame {
    Seq {
        start: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
    documents: usize,
}

impl Builder {
    fn run(mut self, src: &str) -> Result<Option<Node>, YamlError> {
        for event in Parser::new_from_str(src) {
            let (event, span) = event.map_err(|e| scan_error(src, &e))?;
            let start = pos(&span.start);
            let end = pos(&span.end);
            let is_seq_start = matches!(event, Event::SequenceStart(..));
            match event {
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(YamlError::new(
                            start,
                            "this file holds several YAML documents; a stack file holds one",
                        )
                        .hint(
                            "remove the `---` (or `...`) marker, or put each stack in its own file",
                        ));
                    }
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let mut plain = style == ScalarStyle::Plain;
                    if let Some(tag) = tag {
                        if tag.is_yaml_core_schema() && tag.suffix == "str" {
                            plain = false;
                        } else {
                            return Err(unsupported_tag(start, &tag.handle, &tag.suffix));
                        }
                    }
                    let node = Node {
                        start,
                        end,
                        kind: NodeKind::Scalar {
                            text: text.into_owned(),
                            plain,
                        },
                    };
                    self.push(node, anchor, 1)?;
                }
                Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                    let is_seq = is_seq_start;
                    if let Some(tag) = tag {
                        return Err(unsupported_tag(start, &tag.handle, &tag.suffix));
                    }
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(YamlError::new(
                            start,
                            format!("the YAML nests deeper than {MAX_DEPTH} levels"),
                        )
                        .hint("a stack file needs only a few levels: check the indentation and the brackets"));
                    }
                    self.stack.push(if is_seq {
                        Frame::Seq {
                            start,
                            anchor,
                            items: Vec::new(),
                        }
                    } else {
                        Frame::Map {
                            start,
                            anchor,
                            entries: Vec::new(),
                            key: None,
                        }
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let frame = self.stack.pop().expect("parser balances collections");
                    let (node, anchor) = match frame {
                        Frame::Seq {
                            start,
                            anchor,
                            items,
                        } => (
                            Node {
                                start,
                                end,
                                kind: NodeKind::Seq(items),
                            },
                            anchor,
                        ),
                        Frame::Map {
                            start,
                            anchor,
                            entries,
                            ..
                        } => (
                            Node {
                                start,
                                end,
                                kind: NodeKind::Map(entries),
                            },
                            anchor,
                        ),
                    };
                    self.push(node, anchor, 1)?;
                }
                Event::Alias(id) => {
                    let Some(target) = self.anchors.get(&id) else {
                        return Err(YamlError::new(
                            start,
                            "this alias refers to an anchor that is not defined before it",
                        )
                        .hint("an anchor (`&name`) must come before its alias (`*name`), and an alias cannot repeat the node it is inside"));
                    };
                    let mut node = target.clone();
                    let n = node.count();
                    relocate(&mut node, start, end);
                    self.push(node, 0, n)?;
                }
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
            }
        }
        Ok(self.root)
    }

    fn push(&mut self, node: Node, anchor: usize, count: usize) -> Result<(), YamlError> {
        self.nodes += count;
        if self.nodes > MAX_NODES {
            return Err(YamlError::new(
                node.start,
                format!("the YAML expands to more than {MAX_NODES} nodes"),
            )
            .hint("is an alias (`*name`) repeated many times? stack files need few aliases"));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

/// An alias stands where it is written: messages about its content point at
/// the alias, not at the anchor far away.
fn relocate(node: &mut Node, start: Pos, end: Pos) {
    node.start = start;
    node.end = end;
    match &mut node.kind {
        NodeKind::Scalar { .. } => {}
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| relocate(n, start, end)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            relocate(k, start, end);
            relocate(v, start, end);
        }),
    }
}

fn unsupported_tag(at: Pos, handle: &str, suffix: &str) -> YamlError {
    let handle = match handle {
        "tag:yaml.org,2002:" => "!!",
        h => h,
    };
    YamlError::new(
        at,
        format!("the YAML tag `{handle}{suffix}` is not supported"),
    )
    .hint("remove the tag; quote the value to make it a string")
}

/// Turns a scanner error into a message a person can act on.
fn scan_error(src: &str, e: &ScanError) -> YamlError {
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
fn tab_error(src: &str, at: Pos) -> YamlError {
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
fn key_line_error(src: &str, at: Pos) -> YamlError {
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
fn scanner_message(info: &str, char_at: Option<char>) -> (String, &'static str) {
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
fn unclosed_bracket(src: &str, at: Pos) -> Option<(Pos, char)> {
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
struct BracketScan {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn root(src: &str) -> Node {
        parse(src).unwrap().unwrap()
    }

    #[test]
    fn core_schema_keeps_yaml_11_words_as_strings() {
        for s in ["no", "yes", "on", "off", "y", "n", "NO", "Off"] {
            assert_eq!(resolve(s), Value::Str(s), "{s}");
        }
        assert_eq!(resolve("true"), Value::Bool(true));
        assert_eq!(resolve("FALSE"), Value::Bool(false));
        assert_eq!(resolve("~"), Value::Null);
        assert_eq!(resolve(""), Value::Null);
        assert_eq!(resolve("0x1F"), Value::Int(31));
        assert_eq!(resolve("0o17"), Value::Int(15));
        assert_eq!(resolve("-42"), Value::Int(-42));
        assert_eq!(resolve("1.5"), Value::Float(1.5));
        assert_eq!(resolve("1e3"), Value::Float(1000.0));
        assert_eq!(resolve("0777"), Value::Int(777));
        assert_eq!(resolve("1_000"), Value::Str("1_000"));
        assert_eq!(resolve("8000-8080"), Value::Str("8000-8080"));
        assert_eq!(resolve("t3.micro"), Value::Str("t3.micro"));
    }

    #[test]
    fn quoted_scalars_are_strings() {
        let n = root("a: \"1\"\nb: 'true'\nc: !!str 3\n");
        let NodeKind::Map(entries) = &n.kind else {
            panic!()
        };
        for (_, v) in entries {
            assert!(matches!(v.value(), Some(Value::Str(_))), "{v:?}");
        }
    }

    #[test]
    fn keeps_duplicate_keys_and_positions() {
        let n = root("a: 1\nb:\n  c: x\na: 2\n");
        let NodeKind::Map(entries) = &n.kind else {
            panic!()
        };
        let keys: Vec<_> = entries
            .iter()
            .map(|(k, _)| (k.text().unwrap(), k.start))
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "a",
                    Pos {
                        line: 1,
                        col: 1,
                        file: 0
                    }
                ),
                (
                    "b",
                    Pos {
                        line: 2,
                        col: 1,
                        file: 0
                    }
                ),
                (
                    "a",
                    Pos {
                        line: 4,
                        col: 1,
                        file: 0
                    }
                )
            ]
        );
    }

    #[test]
    fn aliases_are_expanded_at_the_alias() {
        let n = root("a: &x [1, 2]\nb: *x\n");
        let NodeKind::Map(entries) = &n.kind else {
            panic!()
        };
        assert_eq!(
            entries[1].1.start,
            Pos {
                line: 2,
                col: 4,
                file: 0
            }
        );
        assert!(matches!(&entries[1].1.kind, NodeKind::Seq(items) if items.len() == 2));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut src = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in 'b'..='j' {
            src.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = name;
        }
        let err = parse(&src).unwrap_err();
        assert!(err.message.contains("more than 100000 nodes"), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = "[".repeat(10_000);
        let err = parse(&src).unwrap_err();
        assert!(err.message.contains("nests deeper"), "{err:?}");
    }

    #[test]
    fn tabs_are_reported_where_they_are() {
        let err = parse("a:\n  b: 1\n\tc: 2\n").unwrap_err();
        assert_eq!(
            err.message,
            "tabs are not allowed for indentation in YAML; use spaces"
        );
        assert_eq!(
            err.at,
            Pos {
                line: 3,
                col: 1,
                file: 0
            }
        );
    }

    #[test]
    fn several_documents_are_refused() {
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("several YAML documents"));
        assert_eq!(err.at.line, 2);
    }

    #[test]
    fn empty_file_has_no_document() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# just a comment\n").unwrap(), None);
    }

    #[test]
    fn control_characters_are_refused() {
        let err = parse("a: 1\nb: \u{1}\u{2}\u{3}\n").unwrap_err();
        assert_eq!(
            err.at,
            Pos {
                line: 2,
                col: 4,
                file: 0
            }
        );
        assert!(err.message.contains("U+0001"));
    }

    #[test]
    fn huge_file_is_refused_unparsed() {
        let src = "#".repeat(MAX_FILE_BYTES + 1);
        let err = parse(&src).unwrap_err();
        assert!(err.message.contains("limited to 5242880 bytes"));
    }

    #[test]
    fn an_unclosed_bracket_is_named_where_it_opens() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.message, "this `[` is never closed");
        assert_eq!(
            err.at,
            Pos {
                line: 1,
                col: 4,
                file: 0
            }
        );
        // Brackets in block scalars, comments and quotes are not counted.
        let src = "a: |\n  if [ -f x\n# {\nc: 'x [y'\nb: {c: 1\n";
        assert_eq!(
            parse(src).unwrap_err().at,
            Pos {
                line: 5,
                col: 4,
                file: 0
            }
        );
    }

    #[test]
    fn a_bracket_closed_later_is_not_blamed() {
        let err = parse("a: [\n  {x: 1: 2},\n]\n").unwrap_err();
        assert!(err.message.contains("inside a `{ … }` map"), "{err:?}");
        assert_eq!(err.at.line, 2);
    }

    #[test]
    fn a_line_without_colon_is_pointed_at() {
        let err = parse("a:\n  b: 1\n  c 2\n").unwrap_err();
        assert_eq!(
            err.message,
            "this line is not `key: value`: the `:` is missing"
        );
        assert_eq!(
            err.at,
            Pos {
                line: 3,
                col: 3,
                file: 0
            }
        );
    }

    #[test]
    fn long_strings_are_shortened_in_messages() {
        let n = root(&format!("\"{}\"", "x".repeat(500)));
        assert_eq!(
            n.describe(),
            format!("the string \"{}…\" (500 characters)", "x".repeat(40))
        );
    }

    #[test]
    fn custom_tags_are_refused() {
        let err = parse("a: !secret x\n").unwrap_err();
        assert!(err.message.contains("`!secret`"), "{err:?}");
    }
}
