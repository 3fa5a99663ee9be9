//! Who may do what: the authenticated user and a collaborator's
//! permission (custom roles report their base).

use serde_json::{Value, json};

use super::super::openapi::example;
use super::super::server::{Answer, Reply};
use super::super::state::Inner;

impl Inner {
    /// `GET /user`: the token's user; an installation token (the bot writes
    /// as `…[bot]`) is no user's, and GitHub answers 403.
    pub(super) fn authenticated_user(&mut self) -> Answer {
        let login = self.bot.clone();
        if login.ends_with("[bot]") {
            // GitHub's own answer, not a mistake of the caller's.
            let mut reply = Reply::json(
                403,
                json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user", "status": "403"}),
            );
            reply.injected = true;
            return Err(reply);
        }
        let mut user = example("private-user")
            .as_object()
            .cloned()
            .map(Value::Object)
            .unwrap_or_else(|| json!({}));
        let basic = self.user_json(&login);
        for (k, v) in basic.as_object().into_iter().flatten() {
            user[k] = v.clone();
        }
        Ok(Reply::json(200, user))
    }

    pub(super) fn permission(&mut self, user: &str) -> Answer {
        let role = self
            .permissions
            .get(user)
            .cloned()
            .ok_or_else(Reply::not_found)?;
        // A custom role (`name:base`) reports its base as the permission.
        let (role, base) = match role.split_once(':') {
            Some((name, base)) => (name.to_string(), base.to_string()),
            None => (role.clone(), role),
        };
        let permission = match base.as_str() {
            "maintain" => "write",
            "triage" => "read",
            other => other,
        };
        let mut value =
            example("repository-collaborator-permission-response-if-user-has-admin-permissions");
        value["permission"] = json!(permission);
        value["role_name"] = json!(role);
        let mut user_json = self.user_json(user);
        let rank = ["none", "read", "triage", "write", "maintain", "admin"]
            .iter()
            .position(|r| *r == base)
            .unwrap_or(0);
        user_json["permissions"] = json!({
            "pull": rank >= 1, "triage": rank >= 2, "push": rank >= 3,
            "maintain": rank >= 4, "admin": rank >= 5,
        });
        user_json["role_name"] = json!(role);
        value["user"] = user_json;
        Ok(Reply::json(200, value))
    }
}
