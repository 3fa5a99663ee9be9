//! Some files of the workspace replaced by other versions, removed, or all
//! read from a Git revision: how a pull request's or a commit's stack files
//! are loaded without writing them to disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::read::{ReadError, decode, load};
use super::{DEFAULT_GLOB, Root, find_stack_files, is_stack_path};
use crate::config::normalize;
use crate::config::{self, Diagnostic, FileError};
use crate::model::Desired;

/// Some files of the workspace replaced by other versions (a pull request's,
/// fetched from GitHub) or removed; every other file is read from disk.
/// Paths are repository-relative, compared after [`normalize`].
#[derive(Debug, Default, Clone)]
pub struct Overlay {
    files: HashMap<String, Option<Vec<u8>>>,
    /// Every path read through it, found or not (refused paths are not).
    reads: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// Where stacks read files; discovered per stack file when not given.
    pub(super) root: Option<Root>,
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

    pub(super) fn read(&self, path: &Path, limit: u64) -> Option<Result<String, ReadError>> {
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
