//! The repository boundary: the one directory a stack may read files in,
//! and the checks a path passes before anything under it is opened.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::{FileError, NotRegular, Scope};

/// The directory a stack reads files in: nothing outside it, symbolic links
/// followed, is ever opened.
#[derive(Debug, Clone)]
pub struct Root {
    /// Canonical (links resolved): what resolved paths are compared with.
    canonical: PathBuf,
    /// Absolute as found, links not resolved: what paths written lexically
    /// (the overlay's) are compared with.
    lexical: PathBuf,
    scope: Scope,
}

impl Root {
    /// The repository checked out at `dir` (the action's `GITHUB_WORKSPACE`).
    pub fn given(dir: &Path) -> std::io::Result<Root> {
        let lexical = lexical_absolute(dir)?;
        Ok(Root {
            canonical: fs::canonicalize(&lexical)?,
            lexical,
            scope: Scope::Repository,
        })
    }

    /// The Git work tree holding `stack_file`: its nearest ancestor directory
    /// with a `.git` entry (a directory, or the file of a worktree or
    /// submodule). Without one, the stack file's own folder (strict: `..`
    /// cannot leave it).
    pub fn discover(stack_file: &Path) -> Root {
        let file = lexical_absolute(stack_file).unwrap_or_else(|_| stack_file.to_path_buf());
        let folder = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let repository = folder
            .ancestors()
            .find(|dir| fs::symlink_metadata(dir.join(".git")).is_ok())
            .map(Path::to_path_buf);
        let (lexical, scope) = match repository {
            Some(dir) => (dir, Scope::Repository),
            None => (folder, Scope::StackFolder),
        };
        Root {
            // A folder only the overlay holds does not exist on disk.
            canonical: fs::canonicalize(&lexical).unwrap_or_else(|_| lexical.clone()),
            lexical,
            scope,
        }
    }

    /// The directory (canonical).
    pub fn dir(&self) -> &Path {
        &self.canonical
    }

    fn outside(&self, through_link: bool) -> FileError {
        FileError::Outside {
            scope: self.scope,
            through_link,
        }
    }

    /// Refuses a path that leaves the root as written (`..`, absolute),
    /// without touching the file system.
    pub(super) fn check_lexically(&self, path: &Path) -> Result<(), FileError> {
        let absolute = lexical_absolute(path).map_err(|e| FileError::Unreadable(e.to_string()))?;
        if absolute.starts_with(&self.lexical) || absolute.starts_with(&self.canonical) {
            Ok(())
        } else {
            Err(self.outside(false))
        }
    }

    /// The canonical path of a regular file inside the root, links
    /// followed; the file is not opened.
    pub(super) fn resolve(&self, path: &Path) -> Result<PathBuf, FileError> {
        self.check_lexically(path)?;
        let canonical = fs::canonicalize(path).map_err(|e| FileError::Unreadable(e.to_string()))?;
        if !canonical.starts_with(&self.canonical) {
            return Err(self.outside(true));
        }
        let meta = fs::metadata(&canonical).map_err(|e| FileError::Unreadable(e.to_string()))?;
        regular(&meta.file_type())?;
        Ok(canonical)
    }
}

/// Refuses what is not a regular file.
pub(super) fn regular(ty: &fs::FileType) -> Result<(), FileError> {
    if ty.is_file() {
        return Ok(());
    }
    if ty.is_dir() {
        return Err(FileError::NotRegular(NotRegular::Directory));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ty.is_fifo() {
            return Err(FileError::NotRegular(NotRegular::Fifo));
        }
        if ty.is_char_device() || ty.is_block_device() {
            return Err(FileError::NotRegular(NotRegular::Device));
        }
        if ty.is_socket() {
            return Err(FileError::NotRegular(NotRegular::Socket));
        }
    }
    Err(FileError::NotRegular(NotRegular::Other))
}

/// `path` made absolute against the current directory, `.` and `..`
/// resolved lexically (links are not looked at).
fn lexical_absolute(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let absolute = std::path::absolute(path)?;
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Opens a file for reading without ever waiting (a FIFO put in place of a
/// checked file opens at once instead of blocking), without following a
/// link in its last component and without taking a terminal.
pub(super) fn open_no_wait(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY);
    }
    options.open(path)
}
