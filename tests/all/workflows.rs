//! The example workflows a user copies are safe as written: a comment never
//! starts a job holding AWS credentials before a job without them decided
//! the commenter may push, and no job that may apply sits in a concurrency
//! group (where GitHub cancels pending runs). Read with PyYAML from the test
//! virtualenv (`scripts/setup-test-deps.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/workflows");

/// The test virtualenv's Python (beside moto's server), which has PyYAML.
fn python() -> PathBuf {
    let venv = std::env::var("EC2_GITOPS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/ec2-gitops-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-deps.sh (the test virtualenv, with PyYAML)",
        python.display()
    );
    python
}

/// A workflow file as JSON.
fn read(path: &Path) -> Value {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn workflows() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(EXAMPLES)
        .expect("examples/workflows")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .map(|p| (p.display().to_string(), read(&p)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 2, "the example workflows: {}", out.len());
    out
}

/// Whether a job assumes an AWS role (a step of configure-aws-credentials)
/// or may ask for an OIDC token.
fn holds_credentials(job: &Value) -> bool {
    let assumes = job["steps"].as_array().is_some_and(|steps| {
        steps.iter().any(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials"))
        })
    });
    assumes || job["permissions"]["id-token"] == "write"
}

/// Whether the workflow runs on `event` (in `on:`, a list or a map).
fn runs_on(workflow: &Value, event: &str) -> bool {
    // PyYAML reads the key `on` as the boolean true.
    let on = if workflow["on"].is_null() {
        &workflow["true"]
    } else {
        &workflow["on"]
    };
    match on {
        Value::String(e) => e == event,
        Value::Array(a) => a.iter().any(|e| e == event),
        Value::Object(m) => m.contains_key(event),
        _ => false,
    }
}

/// Whether a job can run on `event`: its `if` does not restrict it to other
/// events.
fn may_run_on(job: &Value, event: &str) -> bool {
    match job["if"].as_str() {
        None => true,
        Some(cond) => !cond.contains("github.event_name") || cond.contains(&format!("'{event}'")),
    }
}

#[test]
fn a_comment_starts_no_job_with_aws_credentials_before_a_credential_free_job_decided() {
    for (file, w) in workflows() {
        if !runs_on(&w, "issue_comment") {
            continue;
        }
        let jobs = w["jobs"].as_object().expect("jobs");
        for (name, job) in jobs {
            if !may_run_on(job, "issue_comment") || !holds_credentials(job) {
                continue;
            }
            let needs: Vec<&str> = match &job["needs"] {
                Value::String(n) => vec![n.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let gate = needs.iter().find(|n| {
                let g = &jobs[**n];
                !holds_credentials(g)
                    && g["steps"].as_array().is_some_and(|steps| {
                        steps
                            .iter()
                            .any(|s| s["with"]["check-commenter"] == Value::Bool(true))
                    })
            });
            let Some(gate) = gate else {
                panic!(
                    "{file}: job `{name}` runs on issue_comment with AWS credentials, and no job without them (check-commenter: true) decides first"
                );
            };
            let cond = job["if"].as_str().unwrap_or("");
            assert!(
                cond.contains(&format!("needs.{gate}.outputs.allowed == 'true'")),
                "{file}: job `{name}` must run only when `{gate}` allowed it: if: {cond:?}"
            );
        }
    }
}

#[test]
fn no_job_that_may_apply_is_in_a_concurrency_group() {
    for (file, w) in workflows() {
        for (name, job) in w["jobs"].as_object().expect("jobs") {
            // A job may apply when it holds credentials and runs on a push, a
            // comment (/apply) or a closed pull request (previews).
            let applies = holds_credentials(job)
                && ["push", "issue_comment"]
                    .iter()
                    .any(|e| runs_on(&w, e) && may_run_on(job, e))
                && !job["if"].as_str().is_some_and(|c| c.contains("'schedule'"))
                && job["name"].as_str().is_none_or(|n| !n.starts_with("Plan"));
            if applies {
                assert!(
                    job["concurrency"].is_null() && w["concurrency"].is_null(),
                    "{file}: job `{name}` may apply and is in a concurrency group, where GitHub cancels pending runs"
                );
            }
        }
    }
}
