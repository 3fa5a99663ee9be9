//! The IAM policies the docs show are the ones the tool prints: every
//! `<!-- generated: iam … -->` block of `docs/action.md` is the output of
//! `ec2-gitops iam …` with those arguments. `EC2_GITOPS_UPDATE_DOCS=1`
//! rewrites the blocks instead of failing.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/action.md");
const MARK: &str = "<!-- generated: ";

/// The tool's output for `args` (after `ec2-gitops`).
fn printed(args: &str) -> String {
    let out = Command::new(BIN)
        .args(args.split_whitespace())
        .output()
        .expect("run ec2-gitops");
    assert!(
        out.status.success(),
        "ec2-gitops {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The document with every generated block as the tool prints it, and the
/// blocks that differed.
fn regenerate(doc: &str) -> (String, Vec<String>, usize) {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut differ = Vec::new();
    let mut blocks = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        out.push(line.to_string());
        i += 1;
        let Some(args) = line
            .trim_start()
            .strip_prefix(MARK)
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        blocks += 1;
        let indent = &line[..line.len() - line.trim_start().len()];
        assert_eq!(
            lines.get(i).map(|l| l.trim()),
            Some("```json"),
            "a json block after {line}"
        );
        out.push(lines[i].to_string());
        i += 1;
        let start = i;
        while i < lines.len() && lines[i].trim() != "```" {
            i += 1;
        }
        let shown: String = lines[start..i]
            .iter()
            .map(|l| format!("{}\n", l.strip_prefix(indent).unwrap_or(l)))
            .collect();
        let wanted = printed(args);
        if shown != wanted {
            differ.push(args.to_string());
        }
        out.extend(wanted.lines().map(|l| format!("{indent}{l}")));
    }
    (out.join("\n") + "\n", differ, blocks)
}

#[test]
fn the_docs_show_the_policies_the_tool_prints() {
    let doc = std::fs::read_to_string(DOC).expect("read docs/action.md");
    let (regenerated, differ, blocks) = regenerate(&doc);
    assert!(blocks >= 6, "the docs show the policies: {blocks} blocks");
    if std::env::var("EC2_GITOPS_UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(DOC, regenerated).expect("write docs/action.md");
        return;
    }
    assert!(
        differ.is_empty(),
        "docs/action.md shows other policies than `ec2-gitops {}` prints; rewrite them with \
         EC2_GITOPS_UPDATE_DOCS=1 cargo nextest run --test all iam_docs",
        differ.join("`, `ec2-gitops ")
    );
}

#[test]
fn every_policy_is_valid_json_with_a_version_and_statements() {
    for role in ["plan", "apply", "preview", "import"] {
        let v: serde_json::Value =
            serde_json::from_str(&printed(&format!("iam policy --role {role}"))).expect("json");
        assert_eq!(v["Version"], "2012-10-17", "{role}");
        assert!(!v["Statement"].as_array().expect("statements").is_empty());
    }
}

#[test]
fn a_trust_refuses_a_repository_or_environment_that_would_widen_it() {
    for bad in [
        "iam trust --role apply --repo octo/* --account 1",
        "iam trust --role apply --repo octo --account 1",
        "iam trust --role apply --repo octo/infra --account 1 --environment prod*",
        "iam trust --role apply --repo octo/infra --account 1 --branch *",
    ] {
        let out = Command::new(BIN)
            .args(bad.split_whitespace())
            .output()
            .expect("run ec2-gitops");
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error:"),
            "{bad}"
        );
    }
}

/// parliament's findings that are true of the policies by design, by
/// (finding, role), each with why; any other finding fails the test.
const BY_DESIGN: [(&str, &str, &str); 3] = [
    (
        "RESOURCE_MISMATCH",
        "preview",
        "the preview role narrows each kind of resource of one call by its own condition (what it creates by aws:RequestTag, what it changes by aws:ResourceTag, what a launch only uses by none); IAM evaluates a call's resources one by one, so a call's kinds are split over statements, and parliament wants every statement to list every kind the call requires",
    ),
    (
        "RESOURCE_STAR",
        "apply",
        "the apply role changes every resource of every stack; a list of ARN kinds would only risk refusing a kind a call touches",
    ),
    (
        "RESOURCE_STAR",
        "import",
        "its one such action is a read (DescribeInstanceAttribute)",
    ),
];

#[test]
fn parliament_finds_nothing_but_what_the_policies_do_by_design() {
    let venv = std::env::var("EC2_GITOPS_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").expect("HOME"))
                .join(".cache/ec2-gitops-venv")
        });
    let parliament = venv.join("bin/parliament");
    assert!(
        parliament.exists(),
        "{} is missing: run scripts/lint-github.sh (it installs the linters, parliament among them)",
        parliament.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    for role in ["plan", "apply", "preview", "import"] {
        let file = dir.path().join(format!("iam-{role}.json"));
        std::fs::write(&file, printed(&format!("iam policy --role {role}"))).expect("write");
        let out = Command::new(&parliament)
            .arg("--json")
            .arg("--file")
            .arg(&file)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run parliament");
        // parliament reads a policy from stdin when stdin is not a terminal;
        // with a file given, it refuses that: fall back to stdin itself.
        let out = if out.status.code() == Some(2) {
            Command::new(&parliament)
                .arg("--json")
                .stdin(std::fs::File::open(&file).expect("open"))
                .output()
                .expect("run parliament")
        } else {
            out
        };
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let finding: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("parliament printed {line:?}: {e}"));
            let issue = finding["issue"].as_str().unwrap_or_default();
            assert!(
                BY_DESIGN.iter().any(|(i, r, _)| *i == issue && *r == role),
                "parliament on the {role} role: {finding}"
            );
        }
    }
}
