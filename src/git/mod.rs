//! Which commit a Git work tree holds: `HEAD` read from its `.git`, without
//! running git (the action's image has none); and, for a person at a
//! terminal, the files of another revision ([`Revision`], with git). I/O only.

use std::fs;
use std::path::{Path, PathBuf};

mod revision;

pub use revision::Revision;

/// The commit checked out in the work tree at `dir` (its `.git` a
/// directory, or a file naming one as `actions/checkout` and worktrees make
/// it), with a symbolic `HEAD` followed through loose refs and
/// `packed-refs`. `None` when `dir` holds no work tree or `HEAD` does not
/// resolve to a commit.
pub fn head(dir: &Path) -> Option<String> {
    let git = git_dir(dir)?;
    let head = fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    match head.strip_prefix("ref:") {
        None => is_sha(head).then(|| head.to_ascii_lowercase()),
        Some(name) => resolve(&git, name.trim(), 0),
    }
}

fn git_dir(dir: &Path) -> Option<PathBuf> {
    let dot = dir.join(".git");
    let meta = fs::metadata(&dot).ok()?;
    if meta.is_dir() {
        return Some(dot);
    }
    let text = fs::read_to_string(&dot).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    let path = Path::new(target);
    Some(if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    })
}

fn resolve(git: &Path, name: &str, depth: u8) -> Option<String> {
    // A ref name is `refs/…` with no `..`: never a path out of `.git`.
    if depth > 5 || !name.starts_with("refs/") || name.split('/').any(|p| p == ".." || p.is_empty())
    {
        return None;
    }
    // A worktree's refs live in the common directory.
    let common = fs::read_to_string(git.join("commondir"))
        .ok()
        .map(|c| git.join(c.trim()))
        .unwrap_or_else(|| git.to_path_buf());
    for base in [git, common.as_path()] {
        if let Ok(text) = fs::read_to_string(base.join(name)) {
            let text = text.trim();
            return match text.strip_prefix("ref:") {
                Some(next) => resolve(git, next.trim(), depth + 1),
                None => is_sha(text).then(|| text.to_ascii_lowercase()),
            };
        }
    }
    let packed = fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (sha, r) = line.split_once(' ')?;
        (r.trim() == name && is_sha(sha)).then(|| sha.to_ascii_lowercase())
    })
}

fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef01234567";
    const B: &str = "89abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_detached_head_is_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(".git")).unwrap();
        fs::write(dir.path().join(".git/HEAD"), format!("{A}\n")).unwrap();
        assert_eq!(head(dir.path()).as_deref(), Some(A));
    }

    #[test]
    fn a_branch_is_followed_through_loose_and_packed_refs() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        fs::create_dir_all(git.join("refs/heads")).unwrap();
        fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(
            git.join("packed-refs"),
            format!("# pack-refs with: peeled\n{B} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(head(dir.path()).as_deref(), Some(B));
        fs::write(git.join("refs/heads/main"), format!("{A}\n")).unwrap();
        assert_eq!(head(dir.path()).as_deref(), Some(A));
    }

    #[test]
    fn a_gitdir_file_points_at_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.git");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("HEAD"), A).unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir(&tree).unwrap();
        fs::write(tree.join(".git"), "gitdir: ../real.git\n").unwrap();
        assert_eq!(head(&tree).as_deref(), Some(A));
    }

    #[test]
    fn no_work_tree_or_a_bad_head_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(head(dir.path()), None);
        fs::create_dir(dir.path().join(".git")).unwrap();
        fs::write(dir.path().join(".git/HEAD"), "ref: refs/../../etc/passwd").unwrap();
        assert_eq!(head(dir.path()), None);
        fs::write(dir.path().join(".git/HEAD"), "not a sha").unwrap();
        assert_eq!(head(dir.path()), None);
    }
}
