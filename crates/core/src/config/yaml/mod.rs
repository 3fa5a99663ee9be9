//! A small YAML 1.2 front end over `saphyr-parser`: builds a located node tree
//! that keeps key order and duplicate keys, resolves plain scalars with the
//! core schema, expands aliases under a budget and refuses what a stack file
//! never needs (several documents, custom tags, tabs for indentation).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

use builder::TreeBuilder;
use errors::{control_character, scan_error};

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
    TreeBuilder::default().run(src)
}

mod builder;
mod errors;
#[cfg(test)]
mod tests;
