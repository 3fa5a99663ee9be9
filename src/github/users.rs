//! Who is who: the token's own login, and a user's permission.

use http::Method;
use serde::Deserialize;

use super::{GitHub, GitHubError, Permission};

impl GitHub {
    /// The login of the token's user (`GET /user`); `None` for a token that
    /// is no user's (an app installation's, the workflow token), which GitHub
    /// answers with 401 or 403.
    pub async fn token_login(&self) -> Result<Option<String>, GitHubError> {
        #[derive(Deserialize)]
        struct Me {
            login: String,
        }
        match self.json::<Me>(Method::GET, "/user", None).await {
            Ok(me) => Ok(Some(me.login)),
            Err(e) if matches!(e.status, Some(401 | 403)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A user's access to the repository, from the collaborator-permission
    /// API: `user.permissions.push` decides (so custom roles built on write
    /// work); a user GitHub does not know has none.
    pub async fn permission(&self, user: &str) -> Result<Permission, GitHubError> {
        #[derive(Deserialize)]
        struct Flags {
            #[serde(default)]
            push: bool,
        }
        #[derive(Deserialize)]
        struct Who {
            #[serde(default)]
            permissions: Option<Flags>,
        }
        #[derive(Deserialize)]
        struct Answer {
            permission: String,
            #[serde(default)]
            role_name: Option<String>,
            #[serde(default)]
            user: Option<Who>,
        }
        match self
            .json::<Answer>(
                Method::GET,
                &self.path(&format!("/collaborators/{user}/permission")),
                None,
            )
            .await
        {
            Ok(a) => Ok(Permission {
                // Older GitHub Enterprise answers lack `user.permissions`:
                // then the coarse permission decides.
                push: a
                    .user
                    .and_then(|u| u.permissions)
                    .map_or(matches!(a.permission.as_str(), "admin" | "write"), |p| {
                        p.push
                    }),
                // role_name is the finer one (`maintain`, `triage`, custom
                // roles); permission maps those to write/read.
                role: a
                    .role_name
                    .filter(|r| !r.is_empty())
                    .unwrap_or(a.permission),
            }),
            Err(e) if e.status == Some(404) => Ok(Permission {
                push: false,
                role: "none".into(),
            }),
            Err(e) => Err(e),
        }
    }
}
