//! Finding and reading stack files: the file-system edge of `config`.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::{self, Diagnostic, FileError, MAX_FILE_BYTES};
use crate::model::{Desired, Location};

mod root;

pub use root::Root;
use root::{open_no_wait, regular};

/// Where stacks are looked for when no path is given.
pub const DEFAULT_GLOB: &str = "infra/**/*.yaml";

/// Resolves PATHs (files, directories searched recursively for `*.yaml` and
/// `*.yml`, or globs) to stack files, in argument order, each group sorted, no
/// file twice. No PATH means [`DEFAULT_GLOB`]. A PATH matching nothing is an
/// error.
pub fn find_stack_files(paths: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let patterns: Vec<String> = if paths.is_empty() {
        vec![DEFAULT_GLOB.to_string()]
    } else {
        paths.to_vec()
    };
    let mut out: Vec<PathBuf> = Vec::new();
    let mut unmatched: Vec<&str> = Vec::new();
    for pattern in &patterns {
        let path = Path::new(pattern);
        let found = if path.is_file() {
            vec![path.to_path_buf()]
        } else if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files).with_context(|| format!("reading directory {pattern}"))?;
            files.sort();
            files
        } else {
            let mut files = Vec::new();
            for entry in glob::glob_with(
                pattern,
                // Like the directory walk: hidden files only when named.
                glob::MatchOptions {
                    require_literal_leading_dot: true,
                    ..glob::MatchOptions::new()
                },
            )
            .with_context(|| format!("invalid glob pattern `{pattern}`"))?
            {
                let file =
                    entry.with_context(|| format!("reading files matched by `{pattern}`"))?;
                if file.is_file() {
                    files.push(file);
                }
            }
            files.sort();
            files
        };
        if found.is_empty() {
            unmatched.push(pattern);
        }
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    if !unmatched.is_empty() {
        let list = unmatched
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let what = if unmatched.len() == 1 {
            "matches"
        } else {
            "match"
        };
        bail!("no stack file found: {list} {what} no file (stack files end in .yaml or .yml)");
    }
    Ok(out)
}

/// Collects `*.yaml` / `*.yml` files below `dir`; hidden entries are skipped
/// and symbolic links to directories are not followed.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ty = entry.file_type()?;
        if ty.is_dir() {
            walk(&path, out)?;
        } else if path.is_file()
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and validates one stack file; `user_data_file` paths are read
/// relative to its directory, inside the repository that holds it (see
/// [`Root::discover`]).
pub fn load_stack(path: &Path) -> Result<Desired, Vec<Diagnostic>> {
    load(path, &Overlay::default()).1
}

/// Some files of the workspace replaced by other versions (a pull request's,
/// fetched from GitHub) or removed; every other file is read from disk.
/// Paths are repository-relative, compared after [`normalize`].
#[derive(Debug, Default, Clone)]
pub struct Overlay {
    files: HashMap<String, Option<Vec<u8>>>,
    /// Every path read through it, found or not (refused paths are not).
    reads: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// Where stacks read files; discovered per stack file when not given.
    root: Option<Root>,
    /// Read every file from this Git revision instead of the disk.
    revision: Option<crate::git::Revision>,
}

impl Overlay {
    /// An overlay whose stacks read files only inside `root` (the action's
    /// workspace), whatever the Git layout.
    pub fn within(root: Root) -> Overlay {
        Overlay {
            root: Some(root),
            ..Overlay::default()
        }
    }

    /// Every file as it is in `revision` (the disk is not read): the stack
    /// files and what they name, at a Git commit (`plan --at`).
    pub fn at_revision(revision: crate::git::Revision) -> Overlay {
        Overlay {
            revision: Some(revision),
            ..Overlay::default()
        }
    }

    /// `path` reads as `content`.
    pub fn put(&mut self, path: &str, content: Vec<u8>) {
        self.files.insert(normalize(path), Some(content));
    }

    /// `path` does not exist.
    pub fn remove(&mut self, path: &str) {
        self.files.insert(normalize(path), None);
    }

    /// Whether `path` has a version here (or is removed here).
    pub fn holds(&self, path: &str) -> bool {
        self.files.contains_key(&normalize(path))
    }

    /// The stack files under `patterns` (as [`find_stack_files`] finds them
    /// on disk) with the overlay's removals taken out and its added files
    /// that match a pattern put in, sorted. Nothing found is no error here.
    pub fn stack_files(&self, patterns: &[String]) -> Vec<PathBuf> {
        if let Some(revision) = &self.revision {
            let patterns: Vec<String> = if patterns.is_empty() {
                vec![DEFAULT_GLOB.to_string()]
            } else {
                patterns.to_vec()
            };
            let mut out: Vec<PathBuf> = revision
                .files()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| is_stack_path(f, &patterns))
                .map(PathBuf::from)
                .collect();
            out.sort();
            return out;
        }
        let mut out: Vec<PathBuf> = find_stack_files(patterns)
            .unwrap_or_default()
            .into_iter()
            .filter(|f| {
                !matches!(
                    self.files.get(&normalize(&f.display().to_string())),
                    Some(None)
                )
            })
            .collect();
        let patterns: Vec<String> = if patterns.is_empty() {
            vec![DEFAULT_GLOB.to_string()]
        } else {
            patterns.to_vec()
        };
        let mut added: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(path, content)| content.is_some() && is_stack_path(path, &patterns))
            .map(|(path, _)| PathBuf::from(path))
            .filter(|p| {
                let n = normalize(&p.display().to_string());
                !out.iter().any(|f| normalize(&f.display().to_string()) == n)
            })
            .collect();
        added.sort();
        out.extend(added);
        out
    }

    /// The paths (normalized) read through the overlay so far, from disk or
    /// not, found or not: stack files and the user data they name.
    pub fn reads(&self) -> std::collections::BTreeSet<String> {
        self.reads.borrow().clone()
    }

    /// Like [`load_stack`], reading through the overlay.
    pub fn load_stack(&self, path: &Path) -> Result<Desired, Vec<Diagnostic>> {
        load(path, self).1
    }

    /// Like [`Overlay::load_stack`], and whether the file may be a base (it
    /// has no `stack:`): when a stack extends it, it is not a stack.
    pub fn load_stack_or_base(&self, path: &Path) -> (bool, Result<Desired, Vec<Diagnostic>>) {
        match load(path, self) {
            (Some(source), Err(d)) if config::is_base(&source) => (true, Err(d)),
            (_, result) => (false, result),
        }
    }

    fn read(&self, path: &Path, limit: u64) -> Option<Result<String, ReadError>> {
        let key = normalize(&path.display().to_string());
        self.reads.borrow_mut().insert(key.clone());
        if let (None, Some(revision)) = (self.files.get(&key), &self.revision) {
            return Some(match revision.read(&key) {
                Ok(Some(bytes)) if bytes.len() as u64 > limit => {
                    Err(ReadError::TooLarge(bytes.len() as u64))
                }
                Ok(Some(bytes)) => decode(bytes),
                Ok(None) => Err(ReadError::Refused(FileError::Unreadable(format!(
                    "No such file at {} ({})",
                    revision.name,
                    &revision.commit[..revision.commit.len().min(12)]
                )))),
                Err(e) => Err(ReadError::Refused(FileError::Unreadable(format!("{e:#}")))),
            });
        }
        let content = self.files.get(&key)?;
        Some(match content {
            None => Err(ReadError::Refused(FileError::Unreadable(
                "No such file or directory (removed by the pull request)".into(),
            ))),
            Some(bytes) if bytes.len() as u64 > limit => {
                Err(ReadError::TooLarge(bytes.len() as u64))
            }
            Some(bytes) => decode(bytes.clone()),
        })
    }
}

/// Whether a repository-relative `path` is a stack file some pattern (a
/// glob, a directory or a file, as given to [`find_stack_files`]) covers.
pub fn is_stack_path(path: &str, patterns: &[String]) -> bool {
    let path = normalize(path);
    if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
        return false;
    }
    patterns.iter().any(|p| {
        let p = normalize(p);
        path == p
            || path.starts_with(&format!("{p}/"))
            || glob::Pattern::new(&p).is_ok_and(|g| {
                g.matches_with(
                    &path,
                    glob::MatchOptions {
                        require_literal_separator: true,
                        require_literal_leading_dot: true,
                        ..glob::MatchOptions::new()
                    },
                )
            })
    })
}

pub use crate::config::normalize;

/// Loads several stack files, reporting every file's problems, and refuses two
/// files declaring the same stack in the same region.
pub fn load_stacks(paths: &[PathBuf]) -> Result<Vec<Desired>, Vec<Diagnostic>> {
    let mut stacks = Vec::new();
    let mut diags = Vec::new();
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    let mut bases = Vec::new();
    for path in paths {
        match load(path, &Overlay::default()) {
            (Some(source), Err(d)) if config::is_base(&source) => {
                bases.push((path.display().to_string(), d));
            }
            (source, Ok(desired)) => {
                let key = (desired.stack.clone(), desired.region.clone());
                if let Some(first) = seen.get(&key) {
                    diags.push(duplicate_stack(
                        &desired,
                        first,
                        source.as_deref().unwrap_or(""),
                    ));
                } else {
                    seen.insert(key, desired.file.clone());
                    stacks.push(desired);
                }
            }
            (_, Err(d)) => diags.extend(d),
        }
    }
    diags.extend(not_extended(bases, &stacks));
    if diags.is_empty() {
        Ok(stacks)
    } else {
        Err(diags)
    }
}

/// Every file the stacks read besides their own (bases and user data),
/// normalized.
pub fn extended_files(stacks: &[Desired]) -> std::collections::BTreeSet<String> {
    stacks
        .iter()
        .flat_map(|s| s.sources.iter().map(|f| normalize(f)))
        .collect()
}

/// Like [`load_stacks`], the stack files under `patterns` as `overlay`
/// has them (a Git revision's, for `--at`); `Err` with why when there is
/// none.
pub fn load_stacks_via(
    overlay: &Overlay,
    patterns: &[String],
) -> anyhow::Result<Result<Vec<Desired>, Vec<Diagnostic>>> {
    let files = overlay.stack_files(patterns);
    if files.is_empty() {
        bail!(
            "no stack file found: {} matches no file there (stack files end in .yaml or .yml)",
            if patterns.is_empty() {
                format!("`{DEFAULT_GLOB}`")
            } else {
                patterns
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    let mut stacks = Vec::new();
    let mut diags = Vec::new();
    let mut bases = Vec::new();
    for f in &files {
        match overlay.load_stack_or_base(f) {
            (_, Ok(d)) => stacks.push(d),
            (true, Err(d)) => bases.push((f.display().to_string(), d)),
            (false, Err(d)) => diags.extend(d),
        }
    }
    diags.extend(not_extended(bases, &stacks));
    let complete = patterns.is_empty().then(std::collections::BTreeSet::new);
    diags.extend(config::order::check(&stacks, complete.as_ref()));
    Ok(if diags.is_empty() {
        Ok(stacks)
    } else {
        Err(diags)
    })
}

/// The names of the stacks among `files` that load (the others are some
/// other command's to report).
pub fn stack_names(files: &[PathBuf]) -> std::collections::BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| load_stack(f).ok())
        .map(|d| d.stack)
        .collect()
}

/// The problems of the files without `stack:` that no stack extends (a
/// file a stack extends is a base, not a stack).
pub fn not_extended(
    candidates: Vec<(String, Vec<Diagnostic>)>,
    stacks: &[Desired],
) -> Vec<Diagnostic> {
    let extended = extended_files(stacks);
    candidates
        .into_iter()
        .filter(|(file, _)| !extended.contains(&normalize(file)))
        .flat_map(|(_, d)| d)
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

/// The source (when it could be read) and the result.
fn load(path: &Path, overlay: &Overlay) -> (Option<String>, Result<Desired, Vec<Diagnostic>>) {
    let sources = std::cell::RefCell::new(Vec::new());
    let read = with_readers(path, overlay, &sources, |source, file, readers| {
        config::parse_stack(source, file, readers)
    });
    match read {
        Err(d) => (None, Err(d)),
        Ok((source, result)) => {
            let result = result.map(|mut d| {
                // The bases (added by `parse_stack`) after the user data read.
                let bases = std::mem::take(&mut d.sources);
                d.sources = sources.take();
                d.sources.extend(bases);
                d
            });
            (Some(source), result)
        }
    }
}

/// The stack file at `path` with its bases merged in, as YAML with where
/// each value was written (`ec2-gitops resolve`).
pub fn resolve_stack_file(path: &Path) -> Result<String, Vec<Diagnostic>> {
    let sources = std::cell::RefCell::new(Vec::new());
    with_readers(path, &Overlay::default(), &sources, config::resolve_stack)?.1
}

/// Reads the stack file at `path` and runs `f` on its text with the
/// readers of its other files (user data, recorded in `sources`, and
/// bases), inside its repository.
fn with_readers<T>(
    path: &Path,
    overlay: &Overlay,
    sources: &std::cell::RefCell<Vec<String>>,
    f: impl FnOnce(&str, &str, &config::Readers<'_>) -> T,
) -> Result<(String, T), Vec<Diagnostic>> {
    let file = path.display().to_string();
    let root = overlay.root.clone().unwrap_or_else(|| Root::discover(path));
    let source = read_text(path, MAX_FILE_BYTES as u64, overlay, &root)
        .map_err(|e| vec![unreadable_stack_file(&file, e)])?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read_user_data = |rel: &str| -> Result<String, FileError> {
        let target = dir.join(rel);
        sources.borrow_mut().push(target.display().to_string());
        // Anything far above EC2's limit is refused without reading it all;
        // the exact limit is checked by `config`.
        read_text(&target, 1024 * 1024, overlay, &root).map_err(ReadError::into_file_error)
    };
    let read_base = |rel: &str| -> Result<String, FileError> {
        read_text(&dir.join(rel), MAX_FILE_BYTES as u64, overlay, &root)
            .map_err(ReadError::into_file_error)
    };
    let readers = config::Readers {
        user_data: &read_user_data,
        base: &read_base,
    };
    let out = f(&source, &file, &readers);
    Ok((source, out))
}

/// Why the stack file itself could not be read.
fn unreadable_stack_file(file: &str, e: ReadError) -> Diagnostic {
    match e {
        ReadError::NotUtf8(bad) if !bad.utf16 => {
            let at = Location {
                file: file.to_string(),
                line: bad.line,
                column: bad.column,
            };
            let (message, hint) = FileError::NotUtf8 {
                line: bad.line,
                column: bad.column,
            }
            .stack_file();
            let d = Diagnostic::new(at, message).with_hint(hint);
            // Text before the bad byte shows where it is; a binary
            // file's first line shows nothing useful.
            if bad.column > 1 {
                d.with_source(&config::Source::new(&bad.text), 1)
            } else {
                d
            }
        }
        e => {
            let (message, hint) = e.into_file_error().stack_file();
            let at = Location {
                file: file.to_string(),
                line: 1,
                column: 1,
            };
            Diagnostic::new(at, message).with_hint(hint)
        }
    }
}

enum ReadError {
    /// Not read: outside the root, not a regular file, or unreadable.
    Refused(FileError),
    TooLarge(u64),
    NotUtf8(NotUtf8),
}

impl ReadError {
    fn into_file_error(self) -> FileError {
        match self {
            ReadError::Refused(e) => e,
            ReadError::TooLarge(bytes) => FileError::TooLarge { bytes },
            ReadError::NotUtf8(bad) if bad.utf16 => FileError::Utf16,
            ReadError::NotUtf8(bad) => FileError::NotUtf8 {
                line: bad.line,
                column: bad.column,
            },
        }
    }
}

/// Where a file stops being UTF-8.
struct NotUtf8 {
    line: usize,
    column: usize,
    /// The file up to the end of the bad line, bad bytes shown as U+FFFD:
    /// the context that decides whether the line may be quoted.
    text: String,
    /// The file starts with a UTF-16 byte-order mark.
    utf16: bool,
}

/// Reads a UTF-8 text file of at most `limit` bytes (a leading BOM
/// dropped), from the overlay when it holds the file. Only a regular file
/// inside `root`, links followed, is opened; anything else is refused
/// before it is.
fn read_text(path: &Path, limit: u64, overlay: &Overlay, root: &Root) -> Result<String, ReadError> {
    root.check_lexically(path).map_err(ReadError::Refused)?;
    if let Some(read) = overlay.read(path, limit) {
        return read;
    }
    let canonical = root.resolve(path).map_err(ReadError::Refused)?;
    let unreadable = |e: std::io::Error| ReadError::Refused(FileError::Unreadable(e.to_string()));
    let f = open_no_wait(&canonical).map_err(unreadable)?;
    // What was opened is what was checked: a file swapped since is refused.
    let meta = f.metadata().map_err(unreadable)?;
    regular(&meta.file_type()).map_err(ReadError::Refused)?;
    let len = meta.len();
    if len > limit {
        return Err(ReadError::TooLarge(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    decode(bytes)
}

fn decode(bytes: Vec<u8>) -> Result<String, ReadError> {
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(s)),
        Err(e) => {
            let bytes = e.as_bytes();
            let valid_up_to = e.utf8_error().valid_up_to();
            let valid = String::from_utf8_lossy(&bytes[..valid_up_to]);
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let line_end = bytes[valid_up_to..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |i| valid_up_to + i);
            Err(ReadError::NotUtf8(NotUtf8 {
                line,
                column,
                text: String::from_utf8_lossy(&bytes[..line_end]).into_owned(),
                utf16: bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "version: 1\nstack: web\nregion: us-east-1\ninstances:\n  web:\n    image: ami-12345678\n    type: t3.micro\n    user_data_file: init/web.sh\n";

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("infra/prod/init")).unwrap();
        fs::create_dir_all(root.join("infra/.hidden")).unwrap();
        fs::write(root.join("infra/prod/web.yaml"), STACK).unwrap();
        fs::write(root.join("infra/prod/init/web.sh"), "#!/bin/sh\n").unwrap();
        fs::write(
            root.join("infra/b.yml"),
            STACK
                .replace("web\nregion", "b\nregion")
                .replace("    user_data_file: init/web.sh\n", ""),
        )
        .unwrap();
        fs::write(
            root.join("infra/a.yaml"),
            "version: 1\nstack: a\nregion: us-east-1\n",
        )
        .unwrap();
        fs::write(root.join("infra/notes.txt"), "not yaml").unwrap();
        fs::write(root.join("infra/.hidden/x.yaml"), "junk").unwrap();
        dir
    }

    fn names(root: &Path, files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn directories_are_searched_recursively_and_sorted() {
        let dir = tree();
        let root = dir.path();
        let files = find_stack_files(&[root.join("infra").display().to_string()]).unwrap();
        assert_eq!(
            names(root, &files),
            ["infra/a.yaml", "infra/b.yml", "infra/prod/web.yaml"]
        );
    }

    #[test]
    fn files_and_globs_keep_argument_order_without_repeats() {
        let dir = tree();
        let root = dir.path();
        let args = [
            root.join("infra/prod/web.yaml").display().to_string(),
            root.join("infra/**/*.yaml").display().to_string(),
        ];
        let files = find_stack_files(&args).unwrap();
        assert_eq!(names(root, &files), ["infra/prod/web.yaml", "infra/a.yaml"]);
    }

    #[test]
    fn patterns_matching_nothing_are_named() {
        let dir = tree();
        let root = dir.path();
        let args = [
            root.join("infra/a.yaml").display().to_string(),
            "nowhere/*.yaml".to_string(),
            "missing.yaml".to_string(),
        ];
        let err = find_stack_files(&args).unwrap_err().to_string();
        assert_eq!(
            err,
            "no stack file found: `nowhere/*.yaml`, `missing.yaml` match no file (stack files end in .yaml or .yml)"
        );
    }

    /// A base and two stacks on it, as `examples/environments/` lays them out.
    fn environments() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(".git")).unwrap();
        for d in ["infra/base", "infra/staging", "infra/production"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(
            root.join("infra/base/web.yaml"),
            "version: 1\nregion: us-east-1\ninstances:\n  web:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n    user_data_file: web.sh\n",
        )
        .unwrap();
        fs::write(root.join("infra/base/web.sh"), "#!/bin/sh\n").unwrap();
        fs::write(
            root.join("infra/staging/web.yaml"),
            "extends: ../base/web.yaml\nstack: web-staging\n",
        )
        .unwrap();
        fs::write(
            root.join("infra/production/web.yaml"),
            "extends: ../base/web.yaml\nstack: web-production\ninstances:\n  web:\n    count: 4\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn a_base_is_not_a_stack_and_a_change_to_it_touches_every_stack_on_it() {
        let dir = environments();
        let root = dir.path();
        let files = find_stack_files(&[root.join("infra").display().to_string()]).unwrap();
        assert_eq!(files.len(), 3, "the base is found like any YAML file");
        let stacks = load_stacks(&files).unwrap();
        let names: Vec<&str> = stacks.iter().map(|s| s.stack.as_str()).collect();
        assert_eq!(names, ["web-production", "web-staging"]);
        assert_eq!(stacks[0].instances.len(), 4);
        let base = root.join("infra/base/web.yaml").display().to_string();
        let touched = crate::action::touched::touched(&stacks, &[base]);
        assert_eq!(touched.len(), 2, "both stacks extend the base");
        let user_data = root.join("infra/base/web.sh").display().to_string();
        assert_eq!(
            crate::action::touched::touched(&stacks, &[user_data]).len(),
            2,
            "and the user data the base names"
        );
        // A file without `stack:` that nothing extends is still an error.
        fs::write(
            root.join("infra/stray.yaml"),
            "version: 1\nregion: us-east-1\n",
        )
        .unwrap();
        let files = find_stack_files(&[root.join("infra").display().to_string()]).unwrap();
        let diags = load_stacks(&files).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert!(diags[0].at.file.ends_with("infra/stray.yaml"));
        assert!(diags[0].message.contains("stack"), "{diags:#?}");
    }

    #[test]
    fn user_data_file_is_read_next_to_the_stack() {
        let dir = tree();
        let d = load_stack(&dir.path().join("infra/prod/web.yaml")).unwrap();
        assert_eq!(d.instances["web"].user_data.as_deref(), Some("#!/bin/sh\n"));
    }

    #[test]
    fn unreadable_and_binary_files_are_one_diagnostic() {
        let dir = tree();
        let missing = load_stack(&dir.path().join("nope.yaml")).unwrap_err();
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].message.starts_with("cannot read the file"),
            "{missing:?}"
        );
        let bin = dir.path().join("bin.yaml");
        fs::write(&bin, b"version: 1\nstack: \xff\xfe\n").unwrap();
        let diags = load_stack(&bin).unwrap_err();
        assert_eq!(diags.len(), 1);
        assert_eq!((diags[0].at.line, diags[0].at.column), (2, 8));
        assert_eq!(diags[0].message, "the file is not valid UTF-8 text");
    }

    #[test]
    fn the_example_stack_loads() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/web-hosting/infra/web.yaml");
        let d = load_stack(&path)
            .unwrap_or_else(|e| panic!("{}", crate::render::diagnostics::text(&e)));
        let names: Vec<&str> = d.instances.keys().map(String::as_str).collect();
        assert_eq!(names, ["db", "web-1", "web-2"]);
        assert!(
            d.instances["web-1"]
                .user_data
                .as_deref()
                .is_some_and(|u| u.starts_with("#cloud-config"))
        );
        assert_eq!(d.volumes["db/data"].size_gb, 100);
    }

    #[test]
    fn an_overlay_replaces_adds_and_removes_files() {
        let dir = tree();
        let root = dir.path();
        let at = |rel: &str| root.join(rel).display().to_string();
        let mut overlay = Overlay::default();
        overlay.put(
            &at("infra/prod/init/web.sh"),
            b"#!/bin/sh\necho head\n".to_vec(),
        );
        overlay.put(
            &at("infra/new.yaml"),
            b"version: 1\nstack: new\nregion: us-east-1\n".to_vec(),
        );
        overlay.put(&at("docs/readme.yaml"), b"not a stack".to_vec());
        overlay.remove(&at("infra/a.yaml"));
        let files = overlay.stack_files(&[at("infra/**/*.yaml")]);
        assert_eq!(
            names(root, &files),
            ["infra/prod/web.yaml", "infra/new.yaml"]
        );
        let web = overlay
            .load_stack(&root.join("infra/prod/web.yaml"))
            .unwrap();
        assert_eq!(
            web.instances["web"].user_data.as_deref(),
            Some("#!/bin/sh\necho head\n")
        );
        assert_eq!(
            overlay
                .load_stack(&root.join("infra/new.yaml"))
                .unwrap()
                .stack,
            "new"
        );
        let gone = overlay.load_stack(&root.join("infra/a.yaml")).unwrap_err();
        assert!(
            gone[0].message.contains("removed by the pull request"),
            "{gone:?}"
        );
        // Binary content from GitHub gets the same diagnostic as on disk.
        overlay.put(&at("infra/a.yaml"), b"version: 1\nstack: \xff\n".to_vec());
        let bin = overlay.load_stack(&root.join("infra/a.yaml")).unwrap_err();
        assert_eq!(bin[0].message, "the file is not valid UTF-8 text");
    }

    #[test]
    fn stack_paths_follow_globs_directories_and_files() {
        let pats = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_stack_path("infra/a/b.yaml", &pats(&["infra/**/*.yaml"])));
        assert!(is_stack_path("./infra/b.yml", &pats(&["infra"])));
        assert!(is_stack_path("stack.yaml", &pats(&["./stack.yaml"])));
        assert!(!is_stack_path("infra/a/b.yaml", &pats(&["infra/*.yaml"])));
        assert!(!is_stack_path(
            "infra/.hidden.yaml",
            &pats(&["infra/*.yaml"])
        ));
        assert!(!is_stack_path("infra/notes.txt", &pats(&["infra"])));
    }

    #[test]
    fn same_stack_and_region_twice_is_an_error() {
        let dir = tree();
        let root = dir.path();
        let copy = root.join("infra/copy.yaml");
        fs::write(&copy, "version: 1\nstack:  a\nregion: us-east-1\n").unwrap();
        let first = root.join("infra/a.yaml");
        let diags = load_stacks(&[first.clone(), copy.clone()]).unwrap_err();
        assert_eq!(diags.len(), 1);
        assert_eq!(
            diags[0].message,
            format!(
                "stack `a` in us-east-1 is declared in both {} and {}",
                first.display(),
                copy.display()
            )
        );
        assert_eq!((diags[0].at.line, diags[0].at.column), (2, 9));
        // The same name in another region is another stack.
        fs::write(&copy, "version: 1\nstack: a\nregion: eu-west-1\n").unwrap();
        assert_eq!(load_stacks(&[first, copy]).unwrap().len(), 2);
    }

    /// A Git work tree (a `.git` directory is all discovery looks for)
    /// holding `infra/web.yaml`, whose user data is `path`.
    fn repo(path: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::create_dir_all(root.join("infra")).unwrap();
        fs::create_dir_all(root.join("cloud-init")).unwrap();
        fs::write(root.join("cloud-init/web.sh"), "#!/bin/sh\n").unwrap();
        fs::write(
            root.join("infra/web.yaml"),
            STACK.replace("init/web.sh", path),
        )
        .unwrap();
        dir
    }

    /// The one diagnostic of loading `infra/web.yaml`: message and hint.
    fn refusal(dir: &Path) -> (String, String) {
        let diags = load_stack(&dir.join("infra/web.yaml")).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        let d = &diags[0];
        assert_eq!((d.at.line, d.at.column), (8, 21), "{d:?}");
        (d.message.clone(), d.hint.clone().unwrap_or_default())
    }

    #[test]
    fn user_data_may_leave_the_stack_folder_but_not_the_repository() {
        let dir = repo("../cloud-init/web.sh");
        let d = load_stack(&dir.path().join("infra/web.yaml")).unwrap();
        assert_eq!(d.instances["web"].user_data.as_deref(), Some("#!/bin/sh\n"));

        let up = "../".repeat(dir.path().components().count() + 2);
        for path in [
            "../../outside.sh".to_string(),
            format!("{up}proc/self/environ"),
            format!("{up}etc/passwd"),
            "../cloud-init/../../x/../../etc/hostname".to_string(),
        ] {
            let dir = repo(&path);
            let (message, hint) = refusal(dir.path());
            assert_eq!(
                message,
                format!("user data file `{path}` is outside the repository")
            );
            assert!(hint.contains("never the repository"), "{hint}");
        }
    }

    /// `extends` reads inside the repository only: a path that climbs out,
    /// or a link to a file outside it, is refused at the `extends` value,
    /// unopened.
    #[cfg(unix)]
    #[test]
    fn a_base_outside_the_repository_is_refused() {
        let dir = environments();
        let root = dir.path();
        let outside = tempfile::tempdir().unwrap();
        fs::write(
            outside.path().join("secret.yaml"),
            "version: 1\nregion: us-east-1\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.yaml"),
            root.join("infra/base/link.yaml"),
        )
        .unwrap();
        let up = "../".repeat(root.components().count() + 2);
        for (path, says) in [
            (format!("{up}etc/passwd"), "is outside the repository"),
            ("../../../x.yaml".to_string(), "is outside the repository"),
            (
                "../base/link.yaml".to_string(),
                "is a symbolic link (or goes through one) to a file outside the repository",
            ),
        ] {
            fs::write(
                root.join("infra/staging/web.yaml"),
                format!("extends: {path}\nstack: web-staging\n"),
            )
            .unwrap();
            let diags = load_stack(&root.join("infra/staging/web.yaml")).unwrap_err();
            assert_eq!(diags.len(), 1, "{diags:#?}");
            assert_eq!(diags[0].message, format!("base file `{path}` {says}"));
            assert_eq!(diags[0].at.line, 1);
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_out_devices_fifos_and_directories_are_refused_unopened() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "TOKEN=abc").unwrap();
        /// Path, how to make it, what the refusal says.
        type Case<'a> = (&'a str, &'a dyn Fn(&Path), &'a str);
        let cases: [Case; 5] = [
            (
                "link.sh",
                &|r| symlink(outside.path().join("secret"), r.join("infra/link.sh")).unwrap(),
                "is a symbolic link (or goes through one) to a file outside the repository",
            ),
            (
                "linked/secret",
                &|r| symlink(outside.path(), r.join("infra/linked")).unwrap(),
                "is a symbolic link (or goes through one) to a file outside the repository",
            ),
            (
                "zero",
                &|r| symlink("/dev/zero", r.join("infra/zero")).unwrap(),
                "is a symbolic link (or goes through one) to a file outside the repository",
            ),
            (
                "pipe",
                &|r| {
                    let c = std::ffi::CString::new(
                        r.join("infra/pipe").into_os_string().into_encoded_bytes(),
                    )
                    .unwrap();
                    // SAFETY: a valid NUL-terminated path; mkfifo only creates the file.
                    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
                },
                "is a named pipe (FIFO), not a regular file",
            ),
            (
                "../cloud-init",
                &|_| {},
                "is a directory, not a regular file",
            ),
        ];
        for (path, make, says) in cases {
            let dir = repo(path);
            make(dir.path());
            let (message, _) = refusal(dir.path());
            assert_eq!(message, format!("user data file `{path}` {says}"));
            assert!(!message.contains("TOKEN"), "{message}");
        }
        // A link that stays in the repository is followed.
        let dir = repo("here.sh");
        symlink("../cloud-init/web.sh", dir.path().join("infra/here.sh")).unwrap();
        assert!(load_stack(&dir.path().join("infra/web.yaml")).is_ok());
    }

    #[test]
    fn without_a_git_work_tree_only_the_stack_folder_is_readable() {
        let dir = tempfile::tempdir().unwrap();
        // Not a repository: no `.git` anywhere up to `/` (the temp dir is
        // not inside one here; the test would pass vacuously otherwise).
        assert!(
            dir.path()
                .ancestors()
                .all(|a| fs::symlink_metadata(a.join(".git")).is_err())
        );
        fs::create_dir_all(dir.path().join("infra/init")).unwrap();
        fs::write(dir.path().join("infra/init/web.sh"), "x").unwrap();
        fs::write(dir.path().join("web.sh"), "x").unwrap();
        fs::write(dir.path().join("infra/web.yaml"), STACK).unwrap();
        assert!(load_stack(&dir.path().join("infra/web.yaml")).is_ok());
        fs::write(
            dir.path().join("infra/web.yaml"),
            STACK.replace("init/web.sh", "../web.sh"),
        )
        .unwrap();
        let (message, hint) = refusal(dir.path());
        assert_eq!(
            message,
            "user data file `../web.sh` is outside the stack file's folder"
        );
        assert!(
            hint.contains("no Git work tree holds this stack file"),
            "{hint}"
        );
        // A root given by the caller (the action's workspace) widens it.
        let overlay = Overlay::within(Root::given(dir.path()).unwrap());
        assert!(
            overlay
                .load_stack(&dir.path().join("infra/web.yaml"))
                .is_ok()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_stack_file_linked_from_outside_is_not_read() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("web.yaml"), STACK).unwrap();
        let dir = repo("../cloud-init/web.sh");
        let link = dir.path().join("infra/linked.yaml");
        std::os::unix::fs::symlink(outside.path().join("web.yaml"), &link).unwrap();
        let files = find_stack_files(&[dir.path().join("infra").display().to_string()]).unwrap();
        assert!(files.contains(&link), "{files:?}");
        let diags = load_stack(&link).unwrap_err();
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].at.file, link.display().to_string());
        assert_eq!(
            diags[0].message,
            "the stack file is a symbolic link (or goes through one) to a file outside the repository; it was not read"
        );
    }

    #[test]
    fn normalize_keeps_what_climbs_out() {
        assert_eq!(
            normalize("./infra/../cloud-init/web.yaml"),
            "cloud-init/web.yaml"
        );
        assert_eq!(normalize("infra/../../etc/passwd"), "../etc/passwd");
        assert_eq!(normalize("../../etc/passwd"), "../../etc/passwd");
        assert_eq!(normalize("a/../../b/../c"), "../c");
        assert_eq!(normalize("/a/../../etc"), "/etc");
    }

    #[test]
    fn the_overlay_is_not_consulted_for_a_path_out_of_the_repository() {
        let up = "../".repeat(8);
        let dir = repo(&format!("{up}etc/passwd"));
        let root = dir.path();
        let mut overlay = Overlay::within(Root::given(root).unwrap());
        // What the old lexical normalization made of the path.
        overlay.put("etc/passwd", b"from the pull request".to_vec());
        overlay.put("/etc/passwd", b"from the pull request".to_vec());
        let diags = overlay
            .load_stack(&root.join("infra/web.yaml"))
            .unwrap_err();
        assert!(
            diags[0].message.ends_with("is outside the repository"),
            "{diags:?}"
        );
        assert!(
            !overlay.reads().iter().any(|r| r.contains("passwd")),
            "a refused path is not fetched: {:?}",
            overlay.reads()
        );
    }
}
