//! Issue and pull request comments and their reactions. Editing a comment
//! someone else wrote is unexpected.

use serde_json::Value;

use super::super::request::Query;
use super::super::server::{Answer, Reply};
use super::super::state::{CommentState, Inner};
use super::super::{COMMENT_LIMIT, REACTIONS};

impl Inner {
    fn find_comment(&self, repo: &str, id: u64) -> Result<usize, Reply> {
        self.repos[repo]
            .comments
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(Reply::not_found)
    }

    pub(super) fn list_comments(
        &mut self,
        repo: &str,
        n: u64,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
        let r = &self.repos[repo];
        if !r.has_issue(n) {
            return Err(Reply::not_found());
        }
        let comments: Vec<CommentState> = r
            .comments
            .iter()
            .filter(|c| c.issue == n)
            .cloned()
            .collect();
        let items = comments.iter().map(|c| self.comment_json(c)).collect();
        Ok(self.page(items, q, path, query))
    }

    pub(super) fn get_comment(&mut self, repo: &str, id: u64) -> Answer {
        let i = self.find_comment(repo, id)?;
        let comment = self.repos[repo].comments[i].clone();
        Ok(Reply::json(200, self.comment_json(&comment)))
    }

    fn comment_body(body: &Value) -> Result<String, Reply> {
        match body.get("body") {
            Some(Value::String(text)) if text.chars().count() > COMMENT_LIMIT => {
                Err(Reply::validation(
                    "IssueComment",
                    "body",
                    "custom",
                    Some("body is too long (maximum is 65536 characters)"),
                ))
            }
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(Reply::invalid(
                "Invalid request.\n\nFor 'properties/body', it is not a string.",
            )),
            None => Err(Reply::invalid(
                "Invalid request.\n\n\"body\" wasn't supplied.",
            )),
        }
    }

    pub(super) fn create_comment(&mut self, repo: &str, n: u64, body: &Value) -> Answer {
        if !self.repos[repo].has_issue(n) {
            return Err(Reply::not_found());
        }
        let text = Self::comment_body(body)?;
        let id = self.next_id();
        let now = self.tick();
        let comment = CommentState {
            id,
            repo: repo.to_string(),
            issue: n,
            user: self.bot.clone(),
            body: text,
            reactions: Vec::new(),
            updates: 0,
            created_at: now.clone(),
            updated_at: now,
        };
        self.repos
            .get_mut(repo)
            .unwrap()
            .comments
            .push(comment.clone());
        let json = self.comment_json(&comment);
        let location = json["url"].as_str().unwrap_or_default().to_string();
        Ok(Reply::json(201, json).header("location", location))
    }

    pub(super) fn update_comment(
        &mut self,
        repo: &str,
        id: u64,
        body: &Value,
        notes: &mut Vec<String>,
    ) -> Answer {
        let i = self.find_comment(repo, id)?;
        let text = Self::comment_body(body)?;
        let now = self.tick();
        let bot = self.bot.clone();
        let comment = &mut self.repos.get_mut(repo).unwrap().comments[i];
        if comment.user != bot {
            notes.push(format!(
                "the bot edited comment {id} written by {}, not by {bot}",
                comment.user
            ));
        }
        comment.body = text;
        comment.updates += 1;
        comment.updated_at = now;
        let comment = comment.clone();
        Ok(Reply::json(200, self.comment_json(&comment)))
    }

    pub(super) fn list_reactions(
        &mut self,
        repo: &str,
        id: u64,
        q: &Query,
        path: &str,
        query: &str,
    ) -> Answer {
        let i = self.find_comment(repo, id)?;
        let comment = self.repos[repo].comments[i].clone();
        let items = comment
            .reactions
            .iter()
            .enumerate()
            .map(|(k, content)| {
                self.reaction_json(
                    reaction_id(id, k),
                    &self.bot.clone(),
                    content,
                    &comment.updated_at,
                )
            })
            .collect();
        Ok(self.page(items, q, path, query))
    }

    pub(super) fn add_reaction(&mut self, repo: &str, id: u64, body: &Value) -> Answer {
        let i = self.find_comment(repo, id)?;
        let content = match body.get("content").and_then(Value::as_str) {
            Some(c) if REACTIONS.contains(&c) => c.to_string(),
            Some(_) => {
                return Err(Reply::invalid(&format!(
                    "Invalid request.\n\nFor 'properties/content', {} is not one of {REACTIONS:?}.",
                    body["content"]
                )));
            }
            None => {
                return Err(Reply::invalid(
                    "Invalid request.\n\n\"content\" wasn't supplied.",
                ));
            }
        };
        let now = self.tick();
        let bot = self.bot.clone();
        let comment = &mut self.repos.get_mut(repo).unwrap().comments[i];
        // One reaction of a kind per user: GitHub answers 200 with the existing one.
        if let Some(k) = comment.reactions.iter().position(|r| *r == content) {
            return Ok(Reply::json(
                200,
                self.reaction_json(reaction_id(id, k), &bot, &content, &now),
            ));
        }
        comment.reactions.push(content.clone());
        let k = comment.reactions.len() - 1;
        Ok(Reply::json(
            201,
            self.reaction_json(reaction_id(id, k), &bot, &content, &now),
        ))
    }
}

fn reaction_id(comment: u64, k: usize) -> u64 {
    comment * 100 + k as u64
}
