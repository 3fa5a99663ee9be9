//! The Markdown under `docs/benchmarks/`: one page per benchmark
//! (`plan.md`, `apply.md`, `scale.md`, `github.md`), and `README.md`, which every
//! benchmark rewrites from the pages there and the machine it ran on.

use std::fmt::Write as _;
use std::path::PathBuf;

/// The benchmarks' pages, in the order `README.md` shows them.
const PAGES: [&str; 4] = ["plan", "apply", "scale", "github"];

/// The one command that runs every benchmark and rewrites these pages.
pub const COMMAND: &str = "scripts/bench.sh";

/// `docs/benchmarks/` (made if missing).
pub fn dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/benchmarks"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Writes `docs/benchmarks/{name}.md`, then `README.md` from every page.
pub fn write(name: &str, markdown: &str) {
    assert!(PAGES.contains(&name), "unknown benchmark page {name:?}");
    let path = dir().join(format!("{name}.md"));
    std::fs::write(&path, markdown).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let readme = dir().join("README.md");
    std::fs::write(&readme, readme_text(name))
        .unwrap_or_else(|e| panic!("write {}: {e}", readme.display()));
    eprintln!("written: {} and {}", path.display(), readme.display());
}

fn readme_text(latest: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Benchmarks\n\n\
         <!-- Written by the benchmarks (benches/, see benches/support/pages.rs): \
         edits by hand are lost on the next run. -->\n\n\
         How `ec2-gitops` behaves at size: EC2 requests per plan and per apply, \
         counted by action name by a recording proxy in front of moto's EC2 \
         emulator on 127.0.0.1 (`tests/all/support/ec2_proxy.rs`); the tool's own \
         CPU time, wall time and peak memory; and the GitHub REST calls of the \
         action, counted by the stateful GitHub fake of the test suite. Every \
         figure and the chart are written by the benchmarks themselves. Run them all \
         (and rewrite this page) with:\n\n\
         ```sh\n{COMMAND}                # plan at 10, 100, 1000 and 5000 instances, apply, GitHub\n\
         {COMMAND} 10 100 1000    # other plan sizes (5000 takes ~15 min of moto)\n\
         ```\n\n\
         or one at a time: `cargo bench --bench plan -- 10 100 1000 5000`, \
         `cargo bench --bench apply`, `cargo bench --bench scale`, `cargo bench --bench github`. They need moto \
         (`scripts/setup-test-deps.sh`) and are never part of the test run \
         (`scripts/test.sh`, `cargo test`).\n\n\
         Wall times include moto's own time (one Python process, much slower than \
         EC2 for large accounts), so they are an upper bound of the tool's; the \
         tool's CPU time and peak memory are its own."
    );
    for name in PAGES {
        let path = dir().join(format!("{name}.md"));
        match std::fs::read_to_string(&path) {
            Ok(page) => {
                out.push('\n');
                out.push_str(&demote(&page));
            }
            Err(_) => {
                let _ = writeln!(
                    out,
                    "\n## {name}\n\nNot measured yet: `cargo bench --bench {name}`."
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "\n## Machine and versions\n\nOf the latest run (`cargo bench --bench {latest}`); each \
         section above says when it was measured.\n"
    );
    for (k, v) in super::machine::describe() {
        let _ = writeln!(out, "- {k}: {v}");
    }
    out
}

/// One heading level down outside code blocks, so that a page's `# Title`
/// becomes a section of `README.md`.
fn demote(page: &str) -> String {
    let mut out = String::new();
    let mut code = false;
    for line in page.lines() {
        if line.starts_with("```") {
            code = !code;
        }
        if !code && line.starts_with('#') {
            out.push('#');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
