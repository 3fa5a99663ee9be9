//! Check runs: create and update, with GitHub's checks on the output and
//! its annotations.

use serde_json::{Value, json};

use super::super::server::{Answer, Reply};
use super::super::state::{CheckRunState, Inner};

impl Inner {
    /// GitHub's checks on a check run's `output` (title and summary needed,
    /// 65,535 characters at most for summary and text, 50 annotations a
    /// request, each with a path, lines and a level) and its conclusion.
    fn check_run_fields(body: &Value, run: &mut CheckRunState) -> Result<(), Reply> {
        let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        if let Some(status) = text_of(body, "status") {
            if !["queued", "in_progress", "completed"].contains(&status.as_str()) {
                return Err(Reply::validation("CheckRun", "status", "invalid", None));
            }
            run.status = status;
        }
        if let Some(c) = text_of(body, "conclusion") {
            let known = [
                "action_required",
                "cancelled",
                "failure",
                "neutral",
                "success",
                "skipped",
                "stale",
                "timed_out",
            ];
            if !known.contains(&c.as_str()) {
                return Err(Reply::validation("CheckRun", "conclusion", "invalid", None));
            }
            run.conclusion = Some(c);
            run.status = "completed".into();
        }
        if run.status == "completed" && run.conclusion.is_none() {
            return Err(Reply::invalid(
                "Invalid request.\n\nNo conclusion: a completed check run needs one.",
            ));
        }
        let Some(output) = body.get("output") else {
            return Ok(());
        };
        let (Some(title), Some(summary)) = (text_of(output, "title"), text_of(output, "summary"))
        else {
            return Err(Reply::invalid(
                "Invalid request.\n\n\"title\" and \"summary\" weren't supplied.",
            ));
        };
        let text = text_of(output, "text");
        for (what, v) in [("summary", Some(&summary)), ("text", text.as_ref())] {
            if v.is_some_and(|v| v.chars().count() > 65_535) {
                return Err(Reply::validation("CheckRun", what, "too_long", None));
            }
        }
        let annotations = output
            .get("annotations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if annotations.len() > 50 {
            return Err(Reply::invalid(
                "Invalid request.\n\nOnly 50 annotations are allowed per request.",
            ));
        }
        for a in &annotations {
            let (Some(path), Some(start), Some(_end), Some(level), Some(message)) = (
                text_of(a, "path"),
                a.get("start_line").and_then(Value::as_u64),
                a.get("end_line").and_then(Value::as_u64),
                text_of(a, "annotation_level"),
                text_of(a, "message"),
            ) else {
                return Err(Reply::invalid(
                    "Invalid request.\n\nAn annotation needs path, start_line, end_line, annotation_level and message.",
                ));
            };
            if !["notice", "warning", "failure"].contains(&level.as_str()) {
                return Err(Reply::validation(
                    "CheckRun",
                    "annotation_level",
                    "invalid",
                    None,
                ));
            }
            run.annotations.push((path, start, level, message));
        }
        run.title = title;
        run.summary = summary;
        if let Some(t) = text {
            run.text = t;
        }
        Ok(())
    }

    fn check_run_json(&self, repo: &str, run: &CheckRunState) -> Value {
        let mut value = self.template("check-run", repo, &[]);
        value["id"] = json!(run.id);
        value["node_id"] = json!(format!("CR_{}", run.id));
        value["name"] = json!(run.name);
        value["head_sha"] = json!(run.head_sha);
        value["status"] = json!(run.status);
        value["conclusion"] = json!(run.conclusion);
        value["output"]["title"] = json!(run.title);
        value["output"]["summary"] = json!(run.summary);
        value["output"]["text"] = json!(run.text);
        value["output"]["annotations_count"] = json!(run.annotations.len());
        value
    }

    pub(super) fn create_check_run(&mut self, repo: &str, body: &Value) -> Answer {
        let (Some(name), Some(head_sha)) = (
            body.get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty()),
            body.get("head_sha")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty()),
        ) else {
            return Err(Reply::invalid(
                "Invalid request.\n\n\"name\" and \"head_sha\" weren't supplied.",
            ));
        };
        let mut run = CheckRunState {
            id: self.next_id(),
            name: name.to_string(),
            head_sha: head_sha.to_string(),
            status: "queued".into(),
            conclusion: None,
            title: String::new(),
            summary: String::new(),
            text: String::new(),
            annotations: Vec::new(),
            updates: 0,
        };
        Self::check_run_fields(body, &mut run)?;
        let value = self.check_run_json(repo, &run);
        self.repos.get_mut(repo).unwrap().check_runs.push(run);
        Ok(Reply::json(201, value))
    }

    pub(super) fn update_check_run(&mut self, repo: &str, id: u64, body: &Value) -> Answer {
        let Some(at) = self.repos[repo].check_runs.iter().position(|r| r.id == id) else {
            return Err(Reply::not_found());
        };
        let mut run = self.repos[repo].check_runs[at].clone();
        Self::check_run_fields(body, &mut run)?;
        run.updates += 1;
        let value = self.check_run_json(repo, &run);
        self.repos.get_mut(repo).unwrap().check_runs[at] = run;
        Ok(Reply::json(200, value))
    }
}
