//! The reader that turns YAML nodes into typed values, recording a located
//! diagnostic for every problem instead of stopping at the first.

use std::collections::{BTreeMap, HashMap};

use super::diagnostic::{Diagnostic, Source};
use super::fields::{Object, Pattern};
use super::one_line;
use super::yaml::{Node, NodeKind, Pos, Value};
use crate::model::Location;

/// Collects diagnostics against one source file.
pub struct Ctx<'s> {
    /// The stack file (index 0) and the files it extends: how each is
    /// shown, its lines, and its folder relative to the stack file's.
    files: Vec<(String, Source<'s>, String)>,
    /// The key each scalar value was written under, by where the value
    /// starts: how a message about the value names it.
    keys: BTreeMap<Pos, &'static str>,
    /// Everything found so far.
    pub diags: Vec<Diagnostic>,
}

/// The recognised keys of one map, each with its key and value nodes.
pub struct Entries<'n> {
    items: Vec<(&'static str, &'n Node, &'n Node)>,
    /// Keys suggested for unknown keys (`type` for `tpye`): not reported
    /// missing again.
    pub suggested: Vec<&'static str>,
}

impl<'n> Entries<'n> {
    /// The key and value nodes of `name`, if present.
    pub fn get(&self, name: &str) -> Option<(&'n Node, &'n Node)> {
        self.items
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, k, v)| (*k, *v))
    }

    /// The value node of `name`, if present.
    pub fn value(&self, name: &str) -> Option<&'n Node> {
        self.get(name).map(|(_, v)| v)
    }

    /// The keys present, in source order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.items.iter().map(|(n, _, _)| *n)
    }
}

impl<'s> Ctx<'s> {
    /// A context for `source`, shown as `file` in locations.
    pub fn new(file: &str, source: &'s str) -> Self {
        Self {
            files: vec![(file.to_string(), Source::new(source), String::new())],
            keys: BTreeMap::new(),
            diags: Vec::new(),
        }
    }

    /// Adds a file the stack extends, shown as `file`, in folder `dir`
    /// (relative to the stack file's); positions in it carry the index
    /// returned.
    pub fn add_file(&mut self, file: &str, source: &'s str, dir: &str) -> u16 {
        self.files
            .push((file.to_string(), Source::new(source), dir.to_string()));
        (self.files.len() - 1) as u16
    }

    /// How the file at `index` is shown (the stack file for an index out
    /// of range).
    pub fn file_name(&self, index: u16) -> &str {
        &self.file(index).0
    }

    fn file(&self, index: u16) -> &(String, Source<'s>, String) {
        self.files.get(index as usize).unwrap_or(&self.files[0])
    }

    fn source(&self, at: Pos) -> &Source<'s> {
        &self.file(at.file).1
    }

    /// A path written in the file of `at`, relative to the stack file's
    /// folder (a path in an extended file is relative to that file).
    pub fn path_from_stack(&self, at: Pos, path: &str) -> String {
        let dir = &self.file(at.file).2;
        if dir.is_empty() {
            path.to_string()
        } else {
            super::files::normalize(&format!("{dir}/{path}"))
        }
    }

    /// Whether the stack file holds nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        self.files[0].1.is_blank()
    }

    /// The location of a position.
    pub fn loc(&self, p: Pos) -> Location {
        Location {
            file: self.file_name(p.file).to_string(),
            line: p.line,
            column: p.col,
        }
    }

    /// Records an error spanning `start..end` (underlined on `start`'s line,
    /// which is quoted unless it holds user data).
    pub fn error_span(&mut self, start: Pos, end: Pos, message: String, hint: Option<String>) {
        let mut d = Diagnostic::new(self.loc(start), message);
        d.hint = hint;
        let source = self.source(start);
        if let Some(line) = source.line(start.line) {
            let rest_len = line
                .chars()
                .skip(start.col.saturating_sub(1))
                .collect::<String>()
                .trim_end()
                .chars()
                .count();
            let width = if end.line == start.line && end.col > start.col {
                (end.col - start.col).min(rest_len.max(1))
            } else {
                rest_len
            };
            d = d.with_source(source, width);
        }
        self.diags.push(d);
    }

    /// Records an error on a node.
    pub fn error(&mut self, node: &Node, message: impl Into<String>, hint: Option<String>) {
        self.error_span(node.start, node.end, message.into(), hint);
    }

    /// Records an error at a position in the source, without a node.
    pub fn error_at(&mut self, at: Pos, message: impl Into<String>, hint: Option<String>) {
        let next = Pos {
            line: at.line,
            col: at.col + 1,
            file: at.file,
        };
        self.error_span(at, next, message.into(), hint);
    }

    /// Reports a value of the wrong type. `hint` says what to write instead
    /// of a wrong scalar; null and collections get their own hints.
    fn expected(&mut self, node: &Node, what: &str, hint: Option<String>) {
        let hint = match &node.kind {
            NodeKind::Scalar { .. } if node.value() == Some(Value::Null) => {
                Some(self.null_hint(node))
            }
            NodeKind::Seq(_) if hint.is_none() => {
                Some("write a single value here, not a list".into())
            }
            NodeKind::Map(_) if hint.is_none() => {
                Some("write a single value here, not a map".into())
            }
            _ => hint,
        };
        self.error(
            node,
            format!("expected {what}, found {}", node.describe()),
            hint,
        );
    }

    /// What to do about a null: depends on whether it is a value after
    /// `key:`, an empty list item, or an empty key.
    fn null_hint(&self, node: &Node) -> String {
        let line = self.source(node.start).line(node.start.line).unwrap_or("");
        // An empty value starts at its `:`; `~` and `null` start after it.
        let at = line.chars().nth(node.start.col.wrapping_sub(1));
        let before: String = line
            .chars()
            .take(node.start.col.saturating_sub(1))
            .collect();
        let before = if at == Some(':') {
            Some(':')
        } else {
            before.trim_end().chars().last()
        };
        match before {
            Some(':') => "write a value after the `:`".into(),
            Some('-') => "write a value after the `-`, or remove the empty list item".into(),
            Some('[' | ',') => "write a value, or remove the empty item".into(),
            _ => "this is empty (null): write a value".into(),
        }
    }

    /// Checks a map against an object's keys: reports a non-map, unknown and
    /// duplicate keys, and missing required keys (at `owner`).
    pub fn object<'n>(
        &mut self,
        node: &'n Node,
        obj: &Object,
        what: &str,
        owner: &Node,
    ) -> Option<Entries<'n>> {
        let NodeKind::Map(map) = &node.kind else {
            let keys: Vec<&str> = obj.fields().map(|f| f.name).collect();
            let hint = format!(
                "write `key: value` pairs; allowed keys: {}",
                keys.join(", ")
            );
            self.expected(node, &format!("a map for {what}"), Some(hint));
            return None;
        };
        let mut items: Vec<(&'static str, &'n Node, &'n Node)> = Vec::new();
        let mut suggested = Vec::new();
        for (k, v) in map {
            let Some(Value::Str(key)) = k.value() else {
                let hint = match k.text() {
                    Some(t) if !t.is_empty() && k.value() != Some(Value::Null) => {
                        format!(
                            "quote it (\"{t}\") if you meant the text; keys here are words such as `{}`",
                            first_key(obj)
                        )
                    }
                    _ => format!("keys here are words such as `{}`", first_key(obj)),
                };
                self.error(
                    k,
                    format!("keys must be strings, found {}", k.describe()),
                    Some(hint),
                );
                continue;
            };
            if !self.single_line(k, key, "the key") {
                continue;
            }
            let Some(field) = obj.field(key) else {
                if key == "<<" {
                    // A merge key would have supplied any of the keys: do not
                    // report them missing too.
                    suggested.extend(obj.fields().map(|f| f.name));
                }
                suggested.extend(self.unknown_key(k, key, obj, what));
                continue;
            };
            if let Some((_, first, _)) = items.iter().find(|(n, _, _)| *n == field.name) {
                let line = first.start.line;
                self.error(
                    k,
                    format!("duplicate key `{key}` in {what} (first set on line {line})"),
                    Some("remove one of them".into()),
                );
                continue;
            }
            if matches!(v.kind, NodeKind::Scalar { .. }) {
                self.keys.insert(v.start, field.name);
            }
            items.push((field.name, k, v));
        }
        for field in obj.fields().filter(|f| f.required) {
            if !items.iter().any(|(n, _, _)| *n == field.name) && !suggested.contains(&field.name) {
                self.error(
                    owner,
                    format!("{what} is missing the required key `{}`", field.name),
                    Some(format!("`{}`: {}", field.name, field.doc)),
                );
            }
        }
        Some(Entries { items, suggested })
    }

    /// Reports an unknown key; returns the key it is probably a typo of.
    fn unknown_key(
        &mut self,
        k: &Node,
        key: &str,
        obj: &Object,
        what: &str,
    ) -> Option<&'static str> {
        let allowed: Vec<&'static str> = obj.fields().map(|f| f.name).collect();
        let suggestion = did_you_mean(key, &allowed);
        let list = allowed.join(", ");
        let (message, hint) = if obj.exclude.contains(&key) {
            (
                format!("`{key}` cannot be set in {what}"),
                format!("set `{key}` on each instance instead"),
            )
        } else if key == "<<" {
            (
                format!("YAML merge keys (`<<`) are not supported in {what}"),
                "use `defaults` for settings shared by instances, or repeat the keys".into(),
            )
        } else {
            let hint = match suggestion {
                Some(s) => format!("did you mean `{s}`? allowed keys: {list}"),
                None => format!("allowed keys: {list}"),
            };
            (format!("unknown key `{key}` in {what}"), hint)
        };
        self.error(k, message, Some(hint));
        suggestion
    }

    /// A map from names to values (`instances:`): name syntax and duplicate
    /// names are checked; null counts as empty.
    pub fn named<'n>(&mut self, node: &'n Node, kind: &str) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let map = match &node.kind {
            NodeKind::Map(map) => map,
            NodeKind::Scalar { .. } if node.value() == Some(Value::Null) => return Vec::new(),
            _ => {
                let hint = format!(
                    "write one `<name>:` entry per {kind}, with its settings indented below it"
                );
                self.expected(node, &format!("a map of {kind} names"), Some(hint));
                return Vec::new();
            }
        };
        let mut seen: HashMap<&str, Pos> = HashMap::new();
        let mut out = Vec::new();
        for (k, v) in map {
            let Some(name) = self.name(k, kind) else {
                continue;
            };
            if let Some(first) = seen.get(name) {
                let line = first.line;
                self.error(
                    k,
                    format!("duplicate {kind} `{name}` (first declared on line {line})"),
                    Some("names must be unique: rename or remove one".into()),
                );
                continue;
            }
            seen.insert(name, k.start);
            out.push((name, k, v));
        }
        out
    }

    /// The `renamed_from` of an object, when written: the name of a
    /// `kind` it had before.
    pub fn renamed_from(&mut self, e: &Entries<'_>, kind: &str) -> Option<String> {
        let n = e.value("renamed_from")?;
        self.name(n, kind).map(String::from)
    }

    /// A logical name (`web-1`) written by the user.
    pub fn name<'n>(&mut self, node: &'n Node, kind: &str) -> Option<&'n str> {
        let s = match node.value() {
            Some(Value::Str(s)) => s,
            Some(Value::Null) => {
                self.expected(node, &format!("{} name", article(kind)), None);
                return None;
            }
            Some(_) => {
                let text = node.text().unwrap_or_default();
                let hint = Some(format!("put it in quotes: \"{text}\""));
                self.expected(node, &format!("{} name", article(kind)), hint);
                return None;
            }
            None => {
                let hint = Some("a name is one word such as `web-1`".to_string());
                self.expected(node, &format!("{} name", article(kind)), hint);
                return None;
            }
        };
        if !self.single_line(node, s, &format!("the {kind} name")) {
            return None;
        }
        if (super::fields::NAME.check)(s) {
            return Some(s);
        }
        let hint = if s.chars().any(|c| c.is_ascii_uppercase() || c == '_') {
            format!(
                "names use lowercase letters, digits and `-` (max 63 characters): did you mean `{}`?",
                s.to_ascii_lowercase().replace('_', "-")
            )
        } else {
            "names use lowercase letters, digits and `-`, start with a letter or digit, and have at most 63 characters".into()
        };
        let message = if s.is_empty() {
            format!("{} name cannot be empty", article(kind))
        } else {
            format!("invalid {kind} name `{s}`")
        };
        self.error(node, message, Some(hint));
        None
    }

    /// A string.
    pub fn str<'n>(&mut self, node: &'n Node) -> Option<&'n str> {
        let hint = node.text().map(|t| format!("put it in quotes: \"{t}\""));
        self.str_or(node, hint)
    }

    /// A one-line string; `hint` says what to write instead of another scalar.
    pub fn str_or<'n>(&mut self, node: &'n Node, hint: Option<String>) -> Option<&'n str> {
        match node.value() {
            Some(Value::Str(s)) => {
                let what = self
                    .keys
                    .get(&node.start)
                    .map_or("this value".to_string(), |k| format!("`{k}`"));
                self.single_line(node, s, &what).then_some(s)
            }
            _ => {
                self.expected(node, "a string", hint);
                None
            }
        }
    }

    /// Text that may span lines (user data): any string. Nothing of the
    /// value is ever repeated in a message, whatever it is.
    pub fn text<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        let found = match (&node.kind, node.value()) {
            (_, Some(Value::Str(s))) => return Some(s),
            (NodeKind::Seq(_), _) => "a list",
            (NodeKind::Map(_), _) => "a map",
            (_, Some(Value::Null)) => "nothing (null)",
            (_, Some(Value::Bool(_))) => "a boolean",
            _ => "a number",
        };
        self.error(
            node,
            format!("expected text for {what}, found {found}"),
            Some(format!(
                "{what} is text: write `{what}: |` and the lines indented below it"
            )),
        );
        None
    }

    /// The one check every one-line string of the file passes (names, tag
    /// keys and values, descriptions, ids, paths, keys): it refuses what can
    /// break a line or disguise text: control characters (C0, DEL, C1),
    /// line and paragraph separators, bidirectional-text controls and
    /// invisible characters. `what` names the value in the message.
    pub fn single_line(&mut self, node: &Node, s: &str, what: &str) -> bool {
        match one_line::refusal(s, what) {
            None => true,
            Some((message, hint)) => {
                self.error(node, message, Some(hint));
                false
            }
        }
    }

    /// A string that must match `p`.
    pub fn pattern(&mut self, node: &Node, p: &Pattern) -> Option<String> {
        let example = format!("{} look like `{}`", plural(p.what), p.example);
        let s = self.str_or(node, Some(example.clone()))?;
        if (p.check)(s) {
            return Some(s.to_string());
        }
        let hint = if (p.check)(&s.to_ascii_lowercase()) {
            format!("use lowercase: `{}`", s.to_ascii_lowercase())
        } else {
            example
        };
        self.error(node, format!("`{s}` is not a valid {}", p.what), Some(hint));
        None
    }

    /// An integer in `min..=max`; `range_hint` says what to do about one
    /// outside it.
    pub fn int(
        &mut self,
        node: &Node,
        (min, max): (i64, i64),
        what: &str,
        range_hint: &str,
    ) -> Option<i64> {
        match node.value() {
            Some(Value::Int(i)) if (min..=max).contains(&i) => Some(i),
            Some(Value::Int(i)) => {
                self.error(
                    node,
                    format!("{what} must be between {min} and {max}, found {i}"),
                    Some(range_hint.to_string()),
                );
                None
            }
            Some(Value::Str(s)) => {
                let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
                let hint = if s.trim().parse::<i64>().is_ok() {
                    format!("remove the quotes: `{}`", s.trim())
                } else if !digits.is_empty() {
                    format!("write the number alone, without a unit: `{digits}`")
                } else {
                    format!("write a whole number from {min} to {max}")
                };
                self.expected(node, "an integer", Some(hint));
                None
            }
            _ => {
                let hint = format!("write a whole number from {min} to {max}");
                self.expected(node, "an integer", Some(hint));
                None
            }
        }
    }

    /// `true` or `false`.
    pub fn bool(&mut self, node: &Node) -> Option<bool> {
        match node.value() {
            Some(Value::Bool(b)) => Some(b),
            Some(Value::Str(s))
                if matches!(
                    s.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                ) =>
            {
                self.error(
                    node,
                    format!("expected true or false, found the string {s:?}"),
                    Some("YAML 1.2 reads yes/no/on/off as strings: write true or false".into()),
                );
                None
            }
            Some(Value::Str(s @ ("true" | "false"))) => {
                let hint = format!("remove the quotes: `{s}`");
                self.expected(node, "true or false", Some(hint));
                None
            }
            _ => {
                let hint = Some("write `true` or `false`".to_string());
                self.expected(node, "true or false", hint);
                None
            }
        }
    }

    /// One of a few strings.
    pub fn one_of(&mut self, node: &Node, allowed: &[&str], what: &str) -> Option<String> {
        let list = allowed.join(", ");
        let s = self.str_or(node, Some(format!("allowed: {list}")))?;
        if allowed.contains(&s) {
            return Some(s.to_string());
        }
        let hint = match did_you_mean(s, allowed) {
            Some(m) => format!("did you mean `{m}`? allowed: {list}"),
            None => format!("allowed: {list}"),
        };
        self.error(node, format!("unknown {what} `{s}`"), Some(hint));
        None
    }

    /// A list.
    pub fn list<'n>(&mut self, node: &'n Node) -> Option<&'n [Node]> {
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            NodeKind::Map(_) => {
                let hint = Some("write each item on its own line, starting with `- `".to_string());
                self.expected(node, "a list", hint);
                None
            }
            NodeKind::Scalar { text, .. } => {
                let items = text.trim_matches(['[', ']', ' ']);
                let hint = Some(format!("write a list: `[{items}]`"));
                self.expected(node, "a list", hint);
                None
            }
        }
    }

    /// A string or a non-empty list of strings, each with its node; `hint`
    /// says what to write instead of another value.
    pub fn one_or_many<'n>(
        &mut self,
        node: &'n Node,
        hint: &str,
    ) -> Option<Vec<(&'n str, &'n Node)>> {
        match &node.kind {
            NodeKind::Seq(items) if items.is_empty() => {
                self.error(
                    node,
                    "this list is empty",
                    Some("give at least one value, or remove the key".into()),
                );
                None
            }
            NodeKind::Seq(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    match self.str_or(item, Some(hint.to_string())) {
                        Some(s) => out.push((s, item)),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => self
                .str_or(node, Some(hint.to_string()))
                .map(|s| vec![(s, node)]),
        }
    }

    /// A reference to a named thing of this stack; reports a dangling one.
    pub fn reference(
        &mut self,
        node: &Node,
        name: &str,
        kind: &str,
        section: &str,
        defined: &[&str],
    ) -> bool {
        if defined.contains(&name) {
            return true;
        }
        let hint = if kind == "security group" && name.starts_with("sg-") {
            "name a group this stack declares under `security_groups:`; a group made outside the stack cannot be used by its id".to_string()
        } else if kind == "security group" && name == "default" {
            "leave `security_groups` out (or empty) to use the VPC's default group".to_string()
        } else if defined.is_empty() {
            format!("this stack defines no {kind}s; declare `{name}` under `{section}:`")
        } else {
            let list = defined.join(", ");
            match did_you_mean(name, defined) {
                Some(m) => format!("did you mean `{m}`? {kind}s of this stack: {list}"),
                None => format!("{kind}s of this stack: {list}"),
            }
        };
        self.error(
            node,
            format!("no {kind} named `{name}` in this stack"),
            Some(hint),
        );
        false
    }
}

/// `a stack`, `an instance`, `an elastic IP`.
fn article(kind: &str) -> String {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {kind}")
    } else {
        format!("a {kind}")
    }
}

/// The first key of an object, as an example in hints.
fn first_key(obj: &Object) -> &'static str {
    obj.fields().next().map_or("name", |f| f.name)
}

fn plural(what: &str) -> String {
    match what.strip_suffix('s') {
        Some(_) => what.to_string(),
        None => format!("{what}s"),
    }
}

/// The closest candidate within a small edit distance.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let max = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (levenshtein(&word.to_ascii_lowercase(), c), *c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance where swapping two adjacent characters counts as one edit
/// (`tpye` → `type`).
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let keys = ["image", "type", "subnet", "count", "security_groups"];
        assert_eq!(did_you_mean("tpye", &keys), Some("type"));
        assert_eq!(did_you_mean("imgae", &keys), Some("image"));
        assert_eq!(did_you_mean("Count", &keys), Some("count"));
        assert_eq!(
            did_you_mean("security_group", &keys),
            Some("security_groups")
        );
        assert_eq!(did_you_mean("colour", &keys), None);
    }
}
