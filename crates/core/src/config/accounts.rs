//! Accounts: the names a stack's `account:` may say, each mapped to the
//! role the job assumes to reach it. The mapping is trusted configuration
//! (the action input `accounts`, the command line's `--accounts FILE`) and
//! never a stack file's, which a pull request controls.
//!
//! ```yaml
//! production:
//!   role: arn:aws:iam::111111111111:role/ec2-gitops-apply
//!   external_id: infra-prod        # optional
//!   session_duration: 1h           # optional, 15m to 12h (default 1h)
//!   environments: [production]     # optional: only stacks of these environments
//! staging: arn:aws:iam::222222222222:role/ec2-gitops-apply
//! ```

use std::collections::BTreeMap;

use super::yaml::{self, Node, NodeKind, Value};

/// One account: the role assumed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its name, as stacks write it.
    pub name: String,
    /// The role's ARN.
    pub role_arn: String,
    /// The role's external id, when its trust policy asks for one.
    pub external_id: Option<String>,
    /// How long an assumed session lasts, in seconds.
    pub session_secs: u32,
    /// The environments whose stacks may live in it (`None`: any).
    pub environments: Option<Vec<String>>,
}

impl Account {
    /// The account id in the role's ARN (`111111111111`).
    pub fn id(&self) -> &str {
        self.role_arn.split(':').nth(4).unwrap_or_default()
    }
}

/// Every account of the mapping, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts(pub BTreeMap<String, Account>);

impl Accounts {
    /// The account named `name`.
    pub fn get(&self, name: &str) -> Option<&Account> {
        self.0.get(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Why the mapping cannot be read: a message with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}: {message}")]
pub struct AccountsError {
    /// Where the mapping came from (`the action input accounts`, a file).
    pub origin: String,
    /// The line.
    pub line: usize,
    /// What is wrong, and how to fix it.
    pub message: String,
}

/// Session lengths STS allows: 15 minutes to 12 hours.
const SESSION: (u32, u32) = (900, 43_200);

/// Reads the mapping from `text` (YAML or JSON); `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Accounts, AccountsError> {
    let err = |line: usize, message: String| AccountsError {
        origin: origin.to_string(),
        line,
        message,
    };
    let root = yaml::parse(text).map_err(|e| err(e.at.line, e.message))?;
    let Some(root) = root else {
        return Ok(Accounts::default());
    };
    let NodeKind::Map(entries) = &root.kind else {
        return Err(err(
            root.start.line,
            "the accounts are a map: `name: { role: arn:aws:iam::…:role/… }`".into(),
        ));
    };
    let mut out = BTreeMap::new();
    for (k, v) in entries {
        let Some(Value::Str(name)) = k.value() else {
            return Err(err(k.start.line, "an account's name is a word".into()));
        };
        if !super::is_name(name) {
            return Err(err(
                k.start.line,
                format!("`{name}` is not an account name: lowercase letters, digits and dashes"),
            ));
        }
        if out.contains_key(name) {
            return Err(err(
                k.start.line,
                format!("account `{name}` is mapped twice"),
            ));
        }
        let account = account(name, v).map_err(|m| err(v.start.line, m))?;
        out.insert(name.to_string(), account);
    }
    Ok(Accounts(out))
}

fn account(name: &str, v: &Node) -> Result<Account, String> {
    let mut a = Account {
        name: name.to_string(),
        role_arn: String::new(),
        external_id: None,
        session_secs: 3600,
        environments: None,
    };
    match &v.kind {
        NodeKind::Scalar { .. } => a.role_arn = text(v, "role")?,
        NodeKind::Map(fields) => {
            for (k, f) in fields {
                match k.value() {
                    Some(Value::Str("role")) => a.role_arn = text(f, "role")?,
                    Some(Value::Str("external_id")) => {
                        let id = text(f, "external_id")?;
                        let ok = (2..=1224).contains(&id.len())
                            && id
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
                        if !ok {
                            return Err(format!(
                                "the external id of `{name}` is 2 to 1224 of letters, digits and +=,.@:/-_"
                            ));
                        }
                        a.external_id = Some(id);
                    }
                    Some(Value::Str("session_duration")) => {
                        let d = text(f, "session_duration")?;
                        a.session_secs = super::instance::duration_secs(&d)
                            .and_then(|s| u32::try_from(s).ok())
                            .filter(|s| (SESSION.0..=SESSION.1).contains(s))
                            .ok_or_else(|| {
                                format!(
                                    "the session duration of `{name}` is from 15m to 12h (`1h`, `90m`), not `{d}`"
                                )
                            })?;
                    }
                    Some(Value::Str("environments")) => {
                        let NodeKind::Seq(items) = &f.kind else {
                            return Err(format!(
                                "the environments of `{name}` are a list: `[production]`"
                            ));
                        };
                        let mut names = Vec::new();
                        for item in items {
                            match item.value() {
                                Some(Value::Str(e)) if super::is_name(e) => {
                                    names.push(e.to_string())
                                }
                                _ => {
                                    return Err(format!(
                                        "the environments of `{name}` are names: lowercase letters, digits and dashes"
                                    ));
                                }
                            }
                        }
                        a.environments = Some(names);
                    }
                    _ => {
                        return Err(format!(
                            "unknown key in account `{name}`: allowed keys are role, external_id, session_duration, environments"
                        ));
                    }
                }
            }
        }
        NodeKind::Seq(_) => {
            return Err(format!(
                "account `{name}` is a role ARN or a map with `role`"
            ));
        }
    }
    if !is_role_arn(&a.role_arn) {
        return Err(format!(
            "account `{name}` needs `role: arn:aws:iam::<12 digits>:role/<name>`, found `{}`",
            a.role_arn
        ));
    }
    Ok(a)
}

fn text(v: &Node, what: &str) -> Result<String, String> {
    match v.value() {
        Some(Value::Str(s)) if super::is_single_line(s) => Ok(s.to_string()),
        _ => Err(format!("`{what}` is one line of text")),
    }
}

/// `arn:aws:iam::123456789012:role/path/name`.
fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|r| {
            !r.is_empty()
                && r.len() <= 512
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
        })
}

/// An error at each stack that names an account `accounts` does not map,
/// or maps only for other environments than the stack's: found before any
/// call, since the job could reach no role for it (or must not).
pub fn unmapped(stacks: &[crate::model::Desired], accounts: &Accounts) -> Vec<super::Diagnostic> {
    stacks.iter().filter_map(|d| refused(d, accounts)).collect()
}

/// Why `d` may not live in the account it names: not mapped, or mapped
/// only for other environments. `None`: it may (or names none).
pub fn refused(d: &crate::model::Desired, accounts: &Accounts) -> Option<super::Diagnostic> {
    let (name, at) = d.account.as_ref()?;
    let Some(account) = accounts.get(name) else {
        let hint = if accounts.0.is_empty() {
            "map it to a role in the trusted configuration: the action input `accounts`, or `--accounts FILE` (`NAME: { role: arn:aws:iam::…:role/… }`)".to_string()
        } else {
            format!(
                "the accounts mapped: {}; add `{name}` to the trusted configuration (not to a stack file)",
                accounts.names().join(", ")
            )
        };
        return Some(
            super::Diagnostic::new(
                at.clone(),
                format!(
                    "stack {} names account `{name}`, which is not mapped to a role",
                    d.stack
                ),
            )
            .with_hint(hint),
        );
    };
    let allowed = account.environments.as_ref()?;
    let environment = d.environment();
    if allowed.iter().any(|e| e == environment) {
        return None;
    }
    Some(
        super::Diagnostic::new(
            at.clone(),
            format!(
                "stack {} of environment `{environment}` names account `{name}`, which the trusted configuration maps only for {}",
                d.stack,
                match allowed.as_slice() {
                    [] => "no environment".to_string(),
                    [one] => format!("environment `{one}`"),
                    many => format!(
                        "environments {}",
                        many.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
                    ),
                }
            ),
        )
        .with_hint(format!(
            "a stack of `{environment}` lives in an account mapped for it; a stack moves between accounts by being destroyed in one and created in the other"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_reads_roles_external_ids_and_session_lengths() {
        let a = parse(
            "production:\n  role: arn:aws:iam::111111111111:role/apply\n  external_id: infra-prod\n  session_duration: 2h\nstaging: arn:aws:iam::222222222222:role/ops/apply\n",
            "accounts.yaml",
        )
        .expect("valid");
        let p = a.get("production").expect("production");
        assert_eq!(p.id(), "111111111111");
        assert_eq!(p.external_id.as_deref(), Some("infra-prod"));
        assert_eq!(p.session_secs, 7200);
        assert_eq!(a.get("staging").expect("staging").session_secs, 3600);
        assert_eq!(a.names(), ["production", "staging"]);
        // JSON is YAML.
        let j = parse(
            r#"{"production": {"role": "arn:aws:iam::111111111111:role/apply"}}"#,
            "input",
        )
        .expect("json");
        assert_eq!(j.get("production").map(Account::id), Some("111111111111"));
    }

    #[test]
    fn an_account_mapped_for_some_environments_refuses_the_stacks_of_others() {
        let a = parse(
            "production: { role: \"arn:aws:iam::111111111111:role/apply\", environments: [production] }\ndev: arn:aws:iam::222222222222:role/apply\n",
            "accounts.yaml",
        )
        .expect("valid");
        let at = crate::model::Location {
            file: "infra/web.yaml".into(),
            line: 4,
            column: 10,
        };
        let mut d = crate::action::touched::tests::stack("infra/web.yaml", &[]);
        d.stack = "web".into();
        d.environment = Some("staging".into());
        d.account = Some(("production".into(), at.clone()));
        let why = refused(&d, &a).expect("refused");
        assert_eq!(why.at, at);
        assert_eq!(
            why.message,
            "stack web of environment `staging` names account `production`, which the trusted configuration maps only for environment `production`"
        );
        d.environment = Some("production".into());
        assert_eq!(refused(&d, &a), None);
        // An account mapped without `environments` takes any stack.
        d.account = Some(("dev".into(), at.clone()));
        d.environment = Some("staging".into());
        assert_eq!(refused(&d, &a), None);
        d.account = Some(("qa".into(), at));
        assert!(
            refused(&d, &a)
                .expect("unmapped")
                .message
                .contains("not mapped")
        );
        let e = parse(
            "prod: { role: arn:aws:iam::111111111111:role/a, environments: prod }",
            "x",
        )
        .expect_err("not a list");
        assert!(e.message.contains("are a list"), "{e}");
    }

    #[test]
    fn a_bad_mapping_says_where_and_why() {
        let errors: Vec<String> = [
            "- production",
            "Prod: arn:aws:iam::111111111111:role/apply",
            "prod: arn:aws:iam::1111:role/apply",
            "prod: { role: arn:aws:iam::111111111111:role/a, session_duration: 13h }",
            "prod: { role: arn:aws:iam::111111111111:role/a, external_id: \"a b\" }",
            "prod: { role: arn:aws:iam::111111111111:role/a, region: us-east-1 }",
            "prod: arn:aws:iam::111111111111:role/a\nprod: arn:aws:iam::111111111111:role/b",
        ]
        .iter()
        .map(|t| parse(t, "accounts.yaml").expect_err(t).to_string())
        .collect();
        insta::assert_snapshot!(errors.join("\n"));
    }
}
