//! A release commit is what a pinned action can trust: the release check
//! (scripts/release-check.sh, which the release workflow runs) on a scratch
//! copy of the repository. As on main it is no release (action.yml runs a
//! moving tag, the changelog has no dated version); the commit the release
//! workflow makes (scripts/release.sh set-digest, the changelog dated) is,
//! `cargo package` of both crates included.

use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DIGEST: &str = "sha256:0d6f2c1b5e8a7d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b";

/// The repository's files that a release commit holds and `cargo package`
/// reads, copied into `to`.
fn copy_repo(to: &Path) {
    for item in [
        "Cargo.toml",
        "Cargo.lock",
        "CHANGELOG.md",
        "README.md",
        "LICENSE",
        "action.yml",
        "crates",
        "src",
        "benches",
        "tests",
        "scripts",
    ] {
        let status = Command::new("cp")
            .args(["-R", &format!("{ROOT}/{item}"), &to.display().to_string()])
            .status()
            .expect("cp");
        assert!(status.success(), "copy {item}");
    }
}

fn script(dir: &Path, name: &str, args: &[&str], target: &Path) -> Output {
    Command::new("bash")
        .arg(dir.join("scripts").join(name))
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("run bash")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_release_commit_names_its_image_by_digest_and_its_dated_version() {
    let dir = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    copy_repo(dir.path());
    let version = env!("CARGO_PKG_VERSION");

    // As on main: no release.
    let o = script(dir.path(), "release-check.sh", &[version], target.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("action.yml does not run an image by digest"),
        "{}",
        text(&o)
    );
    assert!(
        err.contains(&format!(
            "CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' heading"
        )),
        "{}",
        text(&o)
    );

    // A digest that is not one is refused, and action.yml left as it was.
    let before = std::fs::read_to_string(dir.path().join("action.yml")).unwrap();
    let o = script(
        dir.path(),
        "release.sh",
        &["set-digest", "ghcr.io/ec2-gitops/ec2-gitops", "sha256:abc"],
        target.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a digest"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("action.yml")).unwrap(),
        before
    );

    // The release commit: the digest in action.yml, the version dated.
    let o = script(
        dir.path(),
        "release.sh",
        &["set-digest", "ghcr.io/ec2-gitops/ec2-gitops", DIGEST],
        target.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let action = std::fs::read_to_string(dir.path().join("action.yml")).unwrap();
    assert!(
        action.contains(&format!(
            "  image: docker://ghcr.io/ec2-gitops/ec2-gitops@{DIGEST}\n"
        )),
        "{action}"
    );
    assert_eq!(
        action.lines().count(),
        before.lines().count(),
        "one line changed"
    );
    let changelog = std::fs::read_to_string(dir.path().join("CHANGELOG.md")).unwrap();
    // What a maintainer does before tagging: the unreleased notes become
    // the version's, dated.
    let dated = changelog.replacen(
        "## [Unreleased]",
        &format!("## [Unreleased]\n\n## [{version}] - 2026-12-07"),
        1,
    );
    std::fs::write(dir.path().join("CHANGELOG.md"), dated).unwrap();
    let o = script(dir.path(), "release-check.sh", &[version], target.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("{version} is ready")),
        "{}",
        text(&o)
    );
    // The GitHub release's notes: that section, without its heading.
    let o = script(dir.path(), "release.sh", &["notes", version], target.path());
    let notes = String::from_utf8_lossy(&o.stdout);
    assert!(notes.trim_start().starts_with("### "), "{notes}");
    assert!(notes.contains("Releases a user can pin"), "{notes}");
    assert!(!notes.contains("## ["), "{notes}");

    // Another version than Cargo.toml's is not this release.
    let o = script(
        dir.path(),
        "release-check.sh",
        &["9.9.9", "--no-package"],
        target.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains(&format!("Cargo.toml says version {version}, not 9.9.9")),
        "{}",
        text(&o)
    );
}
