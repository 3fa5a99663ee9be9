//! Issues (pull requests are issues too when listed): list by state and
//! labels, get, create, update.

use serde_json::Value;

use super::super::request::{Query, labels_of, opt_string};
use super::super::server::{Answer, Reply};
use super::super::state::{Inner, IssueState, pull_state};

impl Inner {
    pub(super) fn list_issues(&mut self, repo: &str, q: &Query, path: &str, query: &str) -> Answer {
        let state = q.get("state").unwrap_or("open");
        if !["open", "closed", "all"].contains(&state) {
            return Err(Reply::invalid("Validation Failed: state"));
        }
        let labels: Vec<&str> = q
            .get("labels")
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let r = &self.repos[repo];
        let mut numbers: Vec<u64> = r.issues.keys().chain(r.pulls.keys()).copied().collect();
        // GitHub's default: newest first; pull requests are issues here too.
        numbers.sort_unstable_by(|a, b| b.cmp(a));
        let mut items = Vec::new();
        for n in numbers {
            let (issue_state, issue_labels) = match (r.issues.get(&n), r.pulls.get(&n)) {
                (Some(i), _) => (i.state.clone(), i.labels.clone()),
                (None, Some(p)) => (pull_state(p).to_string(), Vec::new()),
                _ => continue,
            };
            if (state == "all" || state == issue_state)
                && labels.iter().all(|l| issue_labels.iter().any(|il| il == l))
            {
                items.push(n);
            }
        }
        let items = items
            .into_iter()
            .map(|n| self.issue_json(repo, n))
            .collect();
        Ok(self.page(items, q, path, query))
    }

    pub(super) fn get_issue(&mut self, repo: &str, n: u64) -> Answer {
        if !self.repos[repo].has_issue(n) {
            return Err(Reply::not_found());
        }
        Ok(Reply::json(200, self.issue_json(repo, n)))
    }

    pub(super) fn create_issue(&mut self, repo: &str, body: &Value) -> Answer {
        let title = match body.get("title") {
            Some(Value::String(t)) if !t.trim().is_empty() => t.clone(),
            Some(Value::Number(t)) => t.to_string(),
            Some(Value::String(_)) => {
                return Err(Reply::validation("Issue", "title", "missing_field", None));
            }
            Some(_) => {
                return Err(Reply::invalid(
                    "Invalid request.\n\nFor 'properties/title', it is not a string or an integer.",
                ));
            }
            None => {
                return Err(Reply::invalid(
                    "Invalid request.\n\n\"title\" wasn't supplied.",
                ));
            }
        };
        let issue_body = opt_string(body, "body")?;
        let labels = labels_of(body.get("labels"))?.unwrap_or_default();
        let now = self.tick();
        let user = self.bot.clone();
        let r = self.repos.get_mut(repo).unwrap();
        let number = r.next_number();
        r.issues.insert(
            number,
            IssueState {
                number,
                repo: repo.to_string(),
                title,
                body: issue_body,
                state: "open".into(),
                state_reason: None,
                labels,
                user,
            },
        );
        r.issue_times.insert(number, (now.clone(), now, None));
        let json = self.issue_json(repo, number);
        let location = json["url"].as_str().unwrap_or_default().to_string();
        Ok(Reply::json(201, json).header("location", location))
    }

    pub(super) fn update_issue(&mut self, repo: &str, n: u64, body: &Value) -> Answer {
        if !self.repos[repo].issues.contains_key(&n) {
            return Err(Reply::not_found());
        }
        let state = opt_string(body, "state")?;
        if state
            .as_deref()
            .is_some_and(|s| s != "open" && s != "closed")
        {
            return Err(Reply::validation("Issue", "state", "invalid", None));
        }
        let reason = opt_string(body, "state_reason")?;
        if reason
            .as_deref()
            .is_some_and(|s| !["completed", "not_planned", "reopened", "duplicate"].contains(&s))
        {
            return Err(Reply::validation("Issue", "state_reason", "invalid", None));
        }
        let title = opt_string(body, "title")?;
        let labels = labels_of(body.get("labels"))?;
        let now = self.tick();
        let r = self.repos.get_mut(repo).unwrap();
        let issue = r.issues.get_mut(&n).unwrap();
        let times = r.issue_times.get_mut(&n).unwrap();
        if let Some(t) = title {
            issue.title = t;
        }
        if body.get("body").is_some() {
            issue.body = opt_string(body, "body")?;
        }
        if let Some(l) = labels {
            issue.labels = l;
        }
        if let Some(s) = state {
            if s != issue.state {
                times.2 = (s == "closed").then(|| now.clone());
                issue.state_reason = Some(
                    if s == "closed" {
                        "completed"
                    } else {
                        "reopened"
                    }
                    .into(),
                );
            }
            issue.state = s;
        }
        if reason.is_some() {
            issue.state_reason = reason;
        }
        times.1 = now;
        Ok(Reply::json(200, self.issue_json(repo, n)))
    }
}
