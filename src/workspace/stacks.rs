//! The one stack loader: a set of stack files, each loaded on its own (one
//! invalid file does not hide the others), then what only the set can tell:
//! two files declaring one stack, a base no stack extends, `after:` names
//! that point nowhere or make a cycle. The command line, `plan --at` and the
//! action all load through it.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use super::Overlay;
use super::read::load;
use crate::config::normalize;
use crate::config::{self, Diagnostic};
use crate::model::{Desired, Location};

/// A set of stack files, loaded.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The stacks that load, in file order.
    pub valid: Vec<Desired>,
    /// The files that do not, each with its problems: the files' own in
    /// file order, then the set's (unextended bases, `after:`).
    pub invalid: Vec<(String, Vec<Diagnostic>)>,
}

impl Loaded {
    /// The stacks, or every problem of every file.
    pub fn into_result(self) -> Result<Vec<Desired>, Vec<Diagnostic>> {
        if self.invalid.is_empty() {
            Ok(self.valid)
        } else {
            Err(self.invalid.into_iter().flat_map(|(_, d)| d).collect())
        }
    }
}

/// Loads `files` through `overlay`. `elsewhere`: the names of the other
/// stacks an `after:` may name (the repository's stacks that were not
/// loaded; empty when `files` are all of them); `None` when they are not
/// known, and only cycles are checked. While a file is invalid, the stack
/// it declares is not known either: names are then not checked.
pub fn load_stacks(
    overlay: &Overlay,
    files: &[PathBuf],
    elsewhere: Option<&BTreeSet<String>>,
) -> Loaded {
    let mut out = Loaded::default();
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    let mut bases = Vec::new();
    for path in files {
        let file = path.display().to_string();
        match load(path, overlay) {
            (Some(source), Err(d)) if config::is_base(&source) => bases.push((file, d)),
            (source, Ok(desired)) => {
                let key = (desired.stack.clone(), desired.region.clone());
                if let Some(first) = seen.get(&key) {
                    let d = duplicate_stack(&desired, first, source.as_deref().unwrap_or(""));
                    out.invalid.push((desired.file.clone(), vec![d]));
                } else {
                    seen.insert(key, desired.file.clone());
                    out.valid.push(desired);
                }
            }
            (_, Err(d)) => out.invalid.push((file, d)),
        }
    }
    // A file without `stack:` that a stack extends is a base, loaded
    // through those stacks; any other is an invalid stack file.
    let extended = extended_files(&out.valid);
    out.invalid.extend(
        bases
            .into_iter()
            .filter(|(file, _)| !extended.contains(&normalize(file))),
    );
    let elsewhere = if out.invalid.is_empty() {
        elsewhere
    } else {
        None
    };
    let problems = config::after::check(&out.valid, elsewhere);
    if !problems.is_empty() {
        let (bad, good): (Vec<Desired>, Vec<Desired>) = std::mem::take(&mut out.valid)
            .into_iter()
            .partition(|d| problems.iter().any(|p| p.at.file == d.file));
        out.valid = good;
        for d in bad {
            let diags = problems
                .iter()
                .filter(|p| p.at.file == d.file)
                .cloned()
                .collect();
            out.invalid.push((d.file, diags));
        }
    }
    out
}

/// Every file the stacks read besides their own (bases and user data),
/// normalized.
pub fn extended_files(stacks: &[Desired]) -> BTreeSet<String> {
    stacks
        .iter()
        .flat_map(|s| s.sources.iter().map(|f| normalize(f)))
        .collect()
}

/// The names of the stacks among `files` that load (the others are some
/// other command's to report).
pub fn stack_names(files: &[PathBuf]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| super::load_stack(f).ok())
        .map(|d| d.stack)
        .collect()
}

fn duplicate_stack(desired: &Desired, first: &str, source: &str) -> Diagnostic {
    // Point at the `stack:` line when it is a plain top-level key.
    let found = source
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("stack:"));
    let (line, column, text) = match found {
        Some((i, l)) => {
            let value_col = l["stack:".len()..]
                .chars()
                .take_while(|c| *c == ' ')
                .count()
                + "stack:".len()
                + 1;
            (i + 1, value_col, Some(l))
        }
        None => (1, 1, None),
    };
    let mut d = Diagnostic::new(
        Location {
            file: desired.file.clone(),
            line,
            column,
        },
        format!(
            "stack `{}` in {} is declared in both {first} and {}",
            desired.stack, desired.region, desired.file
        ),
    )
    .with_hint("a stack is one file: rename one of the stacks, or merge the files");
    if text.is_some() {
        d = d.with_source(&config::Source::new(source), desired.stack.chars().count());
    }
    d
}
