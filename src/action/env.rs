//! The runner environment (`GITHUB_*`, `INPUT_*`), parsed from a lookup
//! function so it is tested with plain maps.

use std::path::PathBuf;

use crate::github::Repo;

pub use ec2_gitops_core::action::settings::{ApplyOnComment, ApplyRequirements};

/// The action's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Glob(s) of stack files, space or newline separated.
    pub config: Vec<String>,
    /// When `/apply` is allowed.
    pub apply_on_comment: ApplyOnComment,
    /// Prefix of comment commands.
    pub command_prefix: String,
    /// Re-plan open PRs made stale by an apply.
    pub replan_stale: bool,
    /// The login a GitHub App's token writes as (input `bot-login`), e.g.
    /// `infra-bot[bot]`; unset, the workflow token's or the token user's.
    pub bot_login: Option<String>,
    /// The environments whose stacks this job applies (input
    /// `environments`, comma separated); `None`: every stack.
    pub environments: Option<Vec<String>>,
    /// Keep the plan's labels on pull requests (input `labels`).
    pub labels: bool,
    /// What `/apply` on an open pull request needs.
    pub apply_requirements: ApplyRequirements,
    /// Only decide whether a comment's author may run commands (input
    /// `check-commenter`): the output `allowed`, the refusal's reply, and
    /// nothing else. The job that runs the commands (and holds AWS
    /// credentials) starts only when it is `true`.
    pub check_commenter: bool,
    /// Apply a push to the default branch that no merged pull request
    /// explains (input `apply-unreviewed-pushes`, default false: its plan
    /// goes to the drift issue instead, whose `/apply` applies it).
    pub apply_unreviewed_pushes: bool,
    /// `accounts`: the account names stacks may say, mapped to the roles the
    /// job assumes (empty: no stack may name one).
    pub accounts: crate::config::accounts::Accounts,
}

/// Everything the action reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionEnv {
    /// `GITHUB_EVENT_NAME`.
    pub event_name: String,
    /// `GITHUB_EVENT_PATH`.
    pub event_path: PathBuf,
    /// `GITHUB_REPOSITORY`.
    pub repo: Repo,
    /// `GITHUB_API_URL` (default `https://api.github.com`).
    pub api_url: String,
    /// Link to this run, for statuses (`GITHUB_SERVER_URL`/…/runs/`GITHUB_RUN_ID`).
    pub run_url: Option<String>,
    /// `GITHUB_SHA`.
    pub sha: String,
    /// `GITHUB_REF`.
    pub git_ref: String,
    /// `GITHUB_WORKSPACE` (default: the current directory).
    pub workspace: PathBuf,
    /// `GITHUB_STEP_SUMMARY`.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_OUTPUT`.
    pub output: Option<PathBuf>,
    /// `INPUT_GITHUB-TOKEN` or `GITHUB_TOKEN`.
    pub token: String,
    /// `GITHUB_RUN_ID`.`GITHUB_RUN_ATTEMPT`: tells this run's posts apart
    /// from a re-run's (`0` outside a runner).
    pub run_key: String,
    /// The inputs.
    pub inputs: Inputs,
    /// `EC2_GITOPS_GITHUB_BACKOFF_MS`: the first wait before a retry of a
    /// failed GitHub request (default: the retry policy's). Tests shorten it
    /// for a fake GitHub that answers 5xx.
    pub github_backoff: Option<std::time::Duration>,
}

/// What is missing or wrong in the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EnvError(pub String);

impl ActionEnv {
    /// Reads the environment through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        let need = |k: &str| {
            get(k).ok_or_else(|| {
                EnvError(format!(
                    "{k} is not set: `ec2-gitops action` runs inside GitHub Actions (or a runner that sets the same variables)"
                ))
            })
        };
        // GitHub passes inputs as INPUT_<NAME> with the name upper-cased and
        // hyphens kept; some runners turn them into underscores.
        let input = |name: &str| {
            let upper = name.to_ascii_uppercase();
            get(&format!("INPUT_{upper}"))
                .or_else(|| get(&format!("INPUT_{}", upper.replace('-', "_"))))
        };
        let repository = need("GITHUB_REPOSITORY")?;
        let repo = Repo::parse(&repository).ok_or_else(|| {
            EnvError(format!(
                "GITHUB_REPOSITORY must be owner/name, found {repository:?}"
            ))
        })?;
        let token = input("github-token").or_else(|| get("GITHUB_TOKEN")).ok_or_else(|| {
            EnvError("no GitHub token: set the `github-token` input (default `${{ github.token }}`) or GITHUB_TOKEN".into())
        })?;
        let apply_on_comment = match input("apply-on-comment").as_deref().map(str::trim) {
            None | Some("after-refused-merge") => ApplyOnComment::AfterRefusedMerge,
            Some("never") => ApplyOnComment::Never,
            Some("always") => ApplyOnComment::Always,
            Some(other) => {
                return Err(EnvError(format!(
                    "input apply-on-comment must be never, after-refused-merge or always, found {other:?}"
                )));
            }
        };
        let replan_stale = match input("replan-stale").as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(EnvError(format!(
                    "input replan-stale must be true or false, found {other:?}"
                )));
            }
        };
        let labels = match input("labels").as_deref().map(str::trim) {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(EnvError(format!(
                    "input labels must be true or false, found {other:?}"
                )));
            }
        };
        let apply_requirements = apply_requirements(input("apply-requirements").as_deref())?;
        let flag = |name: &str| match input(name).as_deref().map(str::trim) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(EnvError(format!(
                "input {name} must be true or false, found {other:?}"
            ))),
        };
        let check_commenter = flag("check-commenter")?;
        let apply_unreviewed_pushes = flag("apply-unreviewed-pushes")?;
        let accounts = match input("accounts") {
            None => Default::default(),
            Some(text) => crate::config::accounts::parse(&text, "the input accounts")
                .map_err(|e| EnvError(e.to_string()))?,
        };
        let config: Vec<String> = input("config")
            .map(|c| c.split_whitespace().map(str::to_string).collect())
            .unwrap_or_else(|| vec![crate::workspace::DEFAULT_GLOB.to_string()]);
        let run_url = match (get("GITHUB_SERVER_URL"), get("GITHUB_RUN_ID")) {
            (Some(server), Some(run)) => Some(format!(
                "{}/{repository}/actions/runs/{run}",
                server.trim_end_matches('/')
            )),
            _ => None,
        };
        Ok(Self {
            event_name: need("GITHUB_EVENT_NAME")?,
            event_path: PathBuf::from(need("GITHUB_EVENT_PATH")?),
            repo,
            api_url: get("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            run_url,
            sha: get("GITHUB_SHA").unwrap_or_default(),
            git_ref: get("GITHUB_REF").unwrap_or_default(),
            workspace: get("GITHUB_WORKSPACE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".")),
            step_summary: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: get("GITHUB_OUTPUT").map(PathBuf::from),
            token,
            run_key: format!(
                "{}.{}",
                get("GITHUB_RUN_ID")
                    .filter(|r| r.bytes().all(|b| b.is_ascii_digit()))
                    .unwrap_or_else(|| "0".into()),
                get("GITHUB_RUN_ATTEMPT")
                    .filter(|r| r.bytes().all(|b| b.is_ascii_digit()))
                    .unwrap_or_else(|| "1".into())
            ),
            inputs: Inputs {
                config,
                apply_on_comment,
                command_prefix: input("command-prefix").unwrap_or_else(|| "/".into()),
                replan_stale,
                bot_login: input("bot-login").map(|l| l.trim().to_string()),
                environments: environments(input("environments").as_deref())?,
                check_commenter,
                apply_unreviewed_pushes,
                labels,
                apply_requirements,
                accounts,
            },
            github_backoff: get("EC2_GITOPS_GITHUB_BACKOFF_MS")
                .and_then(|v| v.trim().parse().ok())
                .map(std::time::Duration::from_millis),
        })
    }
}

/// Input `apply-requirements`: `approved`, `mergeable` (comma or space
/// separated), or `none`; unset, both.
fn apply_requirements(value: Option<&str>) -> Result<ApplyRequirements, EnvError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(ApplyRequirements {
            approved: true,
            mergeable: true,
        });
    };
    let mut r = ApplyRequirements {
        approved: false,
        mergeable: false,
    };
    if value == "none" {
        return Ok(r);
    }
    for word in value
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        match word {
            "approved" => r.approved = true,
            "mergeable" => r.mergeable = true,
            other => {
                return Err(EnvError(format!(
                    "input apply-requirements takes approved, mergeable or none, found {other:?}"
                )));
            }
        }
    }
    Ok(r)
}

/// Input `environments`: `all` (or nothing) for every stack, else a comma
/// (or space) separated list of environment names.
fn environments(input: Option<&str>) -> Result<Option<Vec<String>>, EnvError> {
    let Some(text) = input
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "all")
    else {
        return Ok(None);
    };
    let names: Vec<String> = text
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = names.iter().find(|n| {
        !n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    }) {
        return Err(EnvError(format!(
            "input environments must be `all` or environment names separated by commas, found {bad:?}"
        )));
    }
    Ok(Some(names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<ActionEnv, EnvError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ActionEnv::from_vars(|k| m.get(k).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", "/tmp/event.json"),
        ("GITHUB_REPOSITORY", "octo/infra"),
        ("GITHUB_TOKEN", "t"),
    ];

    #[test]
    fn defaults() {
        let e = env(BASE).unwrap();
        assert_eq!(e.api_url, "https://api.github.com");
        assert_eq!(e.inputs.config, ["infra/**/*.yaml"]);
        assert_eq!(e.inputs.apply_on_comment, ApplyOnComment::AfterRefusedMerge);
        assert_eq!(e.inputs.command_prefix, "/");
        assert!(!e.inputs.replan_stale);
        assert_eq!(e.inputs.bot_login, None);
        assert_eq!(e.run_key, "0.1");
    }

    #[test]
    fn inputs_with_hyphens_or_underscores() {
        let mut v = BASE.to_vec();
        v.push(("INPUT_APPLY-ON-COMMENT", "never"));
        v.push(("INPUT_REPLAN_STALE", "true"));
        v.push(("INPUT_CONFIG", "infra/*.yaml\nother/*.yml"));
        v.push(("INPUT_GITHUB-TOKEN", "from-input"));
        v.push(("INPUT_BOT-LOGIN", " infra-bot[bot] "));
        v.push(("GITHUB_RUN_ID", "42"));
        v.push(("GITHUB_RUN_ATTEMPT", "3"));
        let e = env(&v).unwrap();
        assert_eq!(e.inputs.bot_login.as_deref(), Some("infra-bot[bot]"));
        assert_eq!(e.run_key, "42.3");
        assert_eq!(e.inputs.apply_on_comment, ApplyOnComment::Never);
        assert!(e.inputs.replan_stale);
        assert_eq!(e.inputs.config, ["infra/*.yaml", "other/*.yml"]);
        assert_eq!(e.token, "from-input");
    }

    #[test]
    fn apply_requirements_default_to_both_and_take_none_or_a_list() {
        let both = ApplyRequirements {
            approved: true,
            mergeable: true,
        };
        assert_eq!(env(BASE).unwrap().inputs.apply_requirements, both);
        let with = |value: &str| {
            let mut v = BASE.to_vec();
            v.push(("INPUT_APPLY-REQUIREMENTS", value));
            env(&v).map(|e| e.inputs.apply_requirements)
        };
        assert_eq!(with("approved, mergeable").unwrap(), both);
        assert_eq!(
            with("mergeable").unwrap(),
            ApplyRequirements {
                approved: false,
                mergeable: true
            }
        );
        assert_eq!(
            with("none").unwrap(),
            ApplyRequirements {
                approved: false,
                mergeable: false
            }
        );
        assert!(
            with("approved,signed")
                .unwrap_err()
                .0
                .contains("\"signed\"")
        );
        assert!(env(&[BASE, &[("INPUT_LABELS", "maybe")]].concat()).is_err());
    }

    #[test]
    fn environments_is_all_or_a_list_of_names() {
        assert_eq!(env(BASE).unwrap().inputs.environments, None);
        let with = |value: &'static str| {
            let mut v = BASE.to_vec();
            v.push(("INPUT_ENVIRONMENTS", value));
            env(&v)
        };
        assert_eq!(with("all").unwrap().inputs.environments, None);
        assert_eq!(
            with(" staging, production ").unwrap().inputs.environments,
            Some(vec!["staging".to_string(), "production".to_string()])
        );
        let err = with("prod;rm -rf").unwrap_err().0;
        assert!(err.contains("input environments must be"), "{err}");
    }

    #[test]
    fn clear_errors() {
        assert!(
            env(&BASE[1..])
                .unwrap_err()
                .0
                .contains("GITHUB_EVENT_NAME is not set")
        );
        let mut v = BASE.to_vec();
        v.push(("INPUT_APPLY-ON-COMMENT", "sometimes"));
        assert!(env(&v).unwrap_err().0.contains("apply-on-comment"));
        let no_token: Vec<_> = BASE
            .iter()
            .filter(|(k, _)| *k != "GITHUB_TOKEN")
            .cloned()
            .collect();
        assert!(env(&no_token).unwrap_err().0.contains("github-token"));
    }
}
