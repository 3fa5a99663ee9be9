//! Who the bot is: the login its token writes as. Only comments by that
//! login are read as the bot's own (`crate::marker::trusted`).

/// The login of the workflow token (`${{ github.token }}`).
pub const WORKFLOW_BOT: &str = "github-actions[bot]";

/// How the bot's login is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Known without asking GitHub.
    Known(String),
    /// A user's token: `GET /user` tells whose.
    AskGitHub,
}

/// The bot's identity from the `bot-login` input and the token's form.
///
/// - `bot-login` set (a GitHub App's token): that login.
/// - An installation token (`ghs_…`, which the workflow token is): the
///   workflow bot. A GitHub App's own installation token looks the same, so
///   such a setup must name its bot with `bot-login`.
/// - Anything else (a personal access token, an OAuth token): ask GitHub.
pub fn identity(bot_login: Option<&str>, token: &str) -> Identity {
    match bot_login.map(str::trim).filter(|l| !l.is_empty()) {
        Some(login) => Identity::Known(login.to_string()),
        None if token.starts_with("ghs_") => Identity::Known(WORKFLOW_BOT.to_string()),
        None => Identity::AskGitHub,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_login_input_wins() {
        assert_eq!(
            identity(Some("infra-bot[bot]"), "ghs_abc"),
            Identity::Known("infra-bot[bot]".into())
        );
        assert_eq!(
            identity(Some("  "), "ghs_abc"),
            Identity::Known(WORKFLOW_BOT.into())
        );
    }

    #[test]
    fn installation_tokens_are_the_workflow_bot_and_others_are_asked() {
        assert_eq!(
            identity(None, "ghs_16C7e42F292c6912E7710c838347Ae178B4a"),
            Identity::Known(WORKFLOW_BOT.into())
        );
        for user_token in [
            "ghp_abc",
            "github_pat_11ABC",
            "gho_abc",
            "legacy40hexdigits",
        ] {
            assert_eq!(
                identity(None, user_token),
                Identity::AskGitHub,
                "{user_token}"
            );
        }
    }
}
