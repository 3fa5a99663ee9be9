//! The accounts of a run: the trusted mapping of account names to roles
//! (set by the front end from `--accounts FILE` or the action input
//! `accounts`, never from a stack file), and a stack's connection in its
//! account: the job's own credentials assume the account's role (STS
//! `AssumeRole`, one session per stack and run, named after both and kept for
//! the stack's plan and apply, refreshed by the SDK
//! before it expires), and EC2's request-rate buckets are that account's.

use std::sync::RwLock;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_ec2::config::SharedCredentialsProvider;

use super::{Ec2, Ec2Error};
use crate::config::accounts::{Account, Accounts};
use crate::model::Desired;

/// The mapping of this process (empty: no stack may name an account).
static ACCOUNTS: RwLock<Option<Accounts>> = RwLock::new(None);

/// Sets the trusted mapping of this process.
pub fn set(accounts: Accounts) {
    *ACCOUNTS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(accounts);
}

/// Whether a mapping was given.
pub fn is_set() -> bool {
    ACCOUNTS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_some()
}

/// The account named `name` in the mapping.
pub fn get(name: &str) -> Option<Account> {
    ACCOUNTS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .and_then(|a| a.get(name).cloned())
}

/// The mapping of this process.
pub fn all() -> Accounts {
    ACCOUNTS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .unwrap_or_default()
}

/// The name of an assumed session: the stack and the run (CloudTrail shows
/// it), within STS's 64 characters of `[\w+=,.@-]`.
fn session_name(stack: &str) -> String {
    let run = std::env::var("GITHUB_RUN_ID")
        .ok()
        .filter(|r| r.bytes().all(|b| b.is_ascii_digit()))
        .map_or_else(
            || format!("cli-{}", std::process::id()),
            |r| format!("run-{r}"),
        );
    let name: String = format!("ec2-gitops-{stack}-{run}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .collect();
    name.chars().take(64).collect()
}

impl Ec2 {
    /// The connection of `desired`: in its account (the role it maps to,
    /// assumed from the job's credentials), or with the job's own
    /// credentials when it names none. An account the mapping does not
    /// have is an error, before any call.
    pub async fn for_stack(desired: &Desired) -> Result<Ec2, Ec2Error> {
        let Some((name, _)) = &desired.account else {
            return Ok(Ec2::connect(&desired.region).await);
        };
        // Unmapped, or mapped only for other environments: refused before
        // any call.
        if let Some(why) = crate::config::accounts::refused(desired, &all()) {
            return Err(Ec2Error {
                action: "AssumeRole",
                code: "UnmappedAccount".into(),
                message: match &why.hint {
                    Some(hint) => format!("{} ({hint})", why.message),
                    None => why.message.clone(),
                },
            });
        }
        let account = get(name).expect("refused() checked that the account is mapped");
        Ok(Ec2::connect_as(&desired.region, &account, &session_name(&desired.stack)).await)
    }

    /// Connects to `region` of `account`: its role assumed from the
    /// standard chain's credentials, under `session`.
    pub async fn connect_as(region: &str, account: &Account, session: &str) -> Ec2 {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .retry_config(RetryConfig::disabled())
            .stalled_stream_protection(super::stalled_stream_protection())
            .load()
            .await;
        let mut role = AssumeRoleProvider::builder(&account.role_arn)
            .session_name(session)
            .session_length(Duration::from_secs(u64::from(account.session_secs)))
            .region(aws_config::Region::new(region.to_string()))
            .configure(&base);
        if let Some(id) = &account.external_id {
            role = role.external_id(id);
        }
        let provider = role.build().await;
        let config = base
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
        Ec2::from_sdk_config(&config, account.id())
    }
}
