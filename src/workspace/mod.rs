//! Finding and reading stack files: the file-system edge of `config`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

mod overlay;
mod read;
mod root;
mod stacks;
#[cfg(test)]
mod tests;

pub use overlay::Overlay;
pub use read::{load_stack, resolve_stack_file};
pub use root::Root;
pub use stacks::{Loaded, extended_files, load_stacks, stack_names};

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

use crate::config::normalize;

/// Why a Git revision's stack files under `patterns` are none.
pub fn nothing_found(patterns: &[String]) -> String {
    let named = if patterns.is_empty() {
        format!("`{DEFAULT_GLOB}`")
    } else {
        patterns
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("no stack file found: {named} matches no file there (stack files end in .yaml or .yml)")
}
