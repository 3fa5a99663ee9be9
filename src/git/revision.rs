//! The files of a Git revision, read with `git` (`git show REV:PATH`, the
//! tree listed with `git ls-tree`), nothing checked out: what `plan --at`
//! and `apply --at` read instead of the work tree. I/O only.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// A commit of the repository that holds the current directory.
#[derive(Debug, Clone)]
pub struct Revision {
    /// The work tree's top directory.
    top: PathBuf,
    /// The current directory relative to `top` (`""` or `infra/`).
    prefix: String,
    /// The full commit id.
    pub commit: String,
    /// As the user wrote it (`HEAD~1`, a tag, a sha).
    pub name: String,
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<std::process::Output> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run git: --at reads the stack files with git, which must be installed")
}

fn stdout_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Revision {
    /// `rev` of the repository holding the current directory.
    pub fn find(rev: &str) -> anyhow::Result<Revision> {
        if rev.starts_with('-') || rev.is_empty() {
            bail!("--at takes a Git revision (a commit, a tag, HEAD~1), not {rev:?}");
        }
        let here = std::env::current_dir().context("reading the current directory")?;
        let top = git(&here, &["rev-parse", "--show-toplevel"])?;
        if !top.status.success() {
            bail!(
                "--at {rev}: the current directory is not in a Git repository; run it inside the repository that holds the stack files"
            );
        }
        let top = PathBuf::from(stdout_line(&top));
        let prefix = stdout_line(&git(&here, &["rev-parse", "--show-prefix"])?);
        let spec = format!("{rev}^{{commit}}");
        let commit = git(
            &here,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ],
        )?;
        if !commit.status.success() {
            bail!(
                "--at {rev}: no such commit in this repository (try `git log --oneline` for one)"
            );
        }
        Ok(Revision {
            top,
            prefix,
            commit: stdout_line(&commit),
            name: rev.to_string(),
        })
    }

    /// The path in the repository of `path` (relative to the current
    /// directory, `..` resolved), or `None` when it leaves the repository.
    fn in_repository(&self, path: &str) -> Option<String> {
        let joined = crate::config::normalize(&format!("{}{path}", self.prefix));
        (!joined.starts_with("..") && !joined.starts_with('/')).then_some(joined)
    }

    /// The content of `path` (relative to the current directory) at this
    /// revision; `Ok(None)` when the revision has no such file.
    pub fn read(&self, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(in_repo) = self.in_repository(path) else {
            return Ok(None);
        };
        let out = git(
            &self.top,
            &["cat-file", "blob", &format!("{}:{in_repo}", self.commit)],
        )?;
        Ok(out.status.success().then_some(out.stdout))
    }

    /// Every file of this revision under the current directory, relative
    /// to it.
    pub fn files(&self) -> anyhow::Result<Vec<String>> {
        let out = git(
            &self.top,
            &[
                "ls-tree",
                "-r",
                "-z",
                "--name-only",
                "--full-tree",
                &self.commit,
            ],
        )?;
        if !out.status.success() {
            bail!(
                "--at {}: git could not list the files of {}: {}",
                self.name,
                self.commit,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter_map(|p| std::str::from_utf8(p).ok())
            .filter_map(|p| p.strip_prefix(self.prefix.as_str()))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect())
    }
}
