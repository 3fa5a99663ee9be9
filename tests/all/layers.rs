//! The layering rule, checked: the pure modules (configuration, model, plan,
//! rendering, the comment protocol, outcomes and the action's policy) import
//! no I/O — no tokio, AWS SDK, octocrab, `std::env` or `std::fs`, and none
//! of the I/O adapters (`ec2`, `github`). Their tests may (a snapshot test
//! writes a file), so only the code before a file's `#[cfg(test)]` counts.

use std::path::{Path, PathBuf};

const PURE: &[&str] = &[
    "crates/core/src",
    "src/action/touched.rs",
    "src/action/outputs.rs",
];

const FORBIDDEN: &[&str] = &[
    "tokio",
    "aws_sdk",
    "aws_config",
    "octocrab",
    "std::env",
    "std::fs",
    "crate::ec2",
    "crate::github",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            // Test-only files of a module (`tests.rs`, `tests/`, the
            // renderer's structure checks) are tests.
            let name = e.file_name().unwrap().to_string_lossy().to_string();
            if name == "tests.rs" || name == "tests" || name == "check.rs" || name == "snapshots" {
                continue;
            }
            rust_files(&e, out);
        }
    } else if path.extension().is_some_and(|x| x == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The offending lines of `code` (one file before its tests).
fn offences(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code_part = line.split("//").next().unwrap_or("");
        let grouped = code_part.contains("std::{")
            && (code_part.contains(" fs")
                || code_part.contains("{fs")
                || code_part.contains("env"));
        if grouped || FORBIDDEN.iter().any(|f| code_part.contains(f)) {
            out.push(line.trim().to_string());
        }
    }
    out
}

#[test]
fn pure_modules_import_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for p in PURE {
        let path = root.join(p);
        assert!(
            path.exists(),
            "{} is listed as pure but does not exist",
            path.display()
        );
        rust_files(&path, &mut files);
    }
    assert!(files.len() > 20, "only {} files found", files.len());
    let mut found = Vec::new();
    for f in &files {
        let code = std::fs::read_to_string(f).unwrap();
        for line in offences(&code) {
            found.push(format!(
                "{}: {line}",
                f.strip_prefix(root).unwrap().display()
            ));
        }
    }
    assert!(
        found.is_empty(),
        "pure modules import I/O (move the I/O to an adapter, or the code out of the pure module):\n  {}",
        found.join("\n  ")
    );
}

/// The core crate's manifest names no I/O dependency: the build, not this
/// grep, keeps it pure (a `use tokio` there would not compile).
#[test]
fn the_core_crate_depends_on_no_io() {
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/core/Cargo.toml"
    ))
    .expect("crates/core/Cargo.toml");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|d| d.split("\n[").next())
        .expect("a [dependencies] table");
    for io in [
        "tokio", "aws-", "octocrab", "hyper", "reqwest", "libc", "glob", "futures",
    ] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(io)),
            "crates/core depends on {io}: move that code to the binary crate"
        );
    }
}

#[test]
fn the_check_sees_what_it_must_refuse() {
    for bad in [
        "use tokio::sync::Mutex;",
        "let v = std::env::var(\"X\");",
        "use std::{collections::BTreeMap, fs};",
        "use crate::ec2::Outcome;",
        "    octocrab::Octocrab::builder()",
    ] {
        assert_eq!(offences(bad).len(), 1, "{bad}");
    }
    assert!(offences("// std::fs in a comment\nlet x = 1;").is_empty());
    assert!(offences("#[cfg(test)]\nuse std::fs;").is_empty());
}
