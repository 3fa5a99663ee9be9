//! Labels: a repository's (get, create) and those on an issue or pull
//! request (add, remove).

use serde_json::{Value, json};

use super::super::DOCS;
use super::super::request::labels_of;
use super::super::server::{Answer, Reply};
use super::super::state::Inner;

impl Inner {
    pub(super) fn add_labels(&mut self, repo: &str, n: u64, body: &Value) -> Answer {
        if !self.repos[repo].has_issue(n) {
            return Err(Reply::not_found());
        }
        let given = match body {
            Value::Array(_) => labels_of(Some(body))?,
            _ => labels_of(body.get("labels"))?,
        }
        .ok_or_else(|| Reply::invalid("Invalid request.\n\n\"labels\" wasn't supplied."))?;
        let r = self.repos.get_mut(repo).unwrap();
        // GitHub creates a label it does not know, grey and undescribed.
        for l in &given {
            r.labels
                .entry(l.clone())
                .or_insert_with(|| ("ededed".to_string(), None));
        }
        let on = match r.issues.get_mut(&n) {
            Some(issue) => &mut issue.labels,
            None => r.pull_labels.entry(n).or_default(),
        };
        for l in given {
            if !on.contains(&l) {
                on.push(l);
            }
        }
        let labels = on.clone();
        let body = labels.iter().map(|l| self.label_json(repo, l)).collect();
        Ok(Reply::json(200, Value::Array(body)))
    }

    pub(super) fn remove_label(&mut self, repo: &str, n: u64, name: &str) -> Answer {
        let r = self.repos.get_mut(repo).unwrap();
        if !r.has_issue(n) {
            return Err(Reply::not_found());
        }
        let on = match r.issues.get_mut(&n) {
            Some(issue) => &mut issue.labels,
            None => r.pull_labels.entry(n).or_default(),
        };
        let Some(at) = on.iter().position(|l| l == name) else {
            return Err(Reply::json(
                404,
                json!({"message": "Label does not exist", "documentation_url": DOCS, "status": "404"}),
            ));
        };
        on.remove(at);
        let labels = on.clone();
        let body = labels.iter().map(|l| self.label_json(repo, l)).collect();
        Ok(Reply::json(200, Value::Array(body)))
    }

    pub(super) fn get_label(&mut self, repo: &str, name: &str) -> Answer {
        let found = self.repos[repo]
            .labels
            .keys()
            .find(|l| l.eq_ignore_ascii_case(name))
            .cloned();
        match found {
            Some(l) => Ok(Reply::json(200, self.label_json(repo, &l))),
            None => Err(Reply::absent()),
        }
    }

    pub(super) fn create_label(&mut self, repo: &str, body: &Value) -> Answer {
        let Some(name) = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err(Reply::validation("Label", "name", "missing_field", None));
        };
        let color = body
            .get("color")
            .and_then(Value::as_str)
            .unwrap_or("ededed");
        if color.len() != 6 || !color.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Reply::validation("Label", "color", "invalid", None));
        }
        let description = body.get("description").and_then(Value::as_str);
        if description.is_some_and(|d| d.chars().count() > 100) {
            return Err(Reply::validation("Label", "description", "invalid", None));
        }
        let r = self.repos.get_mut(repo).unwrap();
        if r.labels.keys().any(|l| l.eq_ignore_ascii_case(name)) {
            return Err(Reply::validation("Label", "name", "already_exists", None));
        }
        r.labels.insert(
            name.to_string(),
            (color.to_string(), description.map(str::to_string)),
        );
        Ok(Reply::json(201, self.label_json(repo, name)))
    }
}
