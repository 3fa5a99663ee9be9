//! One EC2 call: rate limit, then retry what EC2 documents as transient
//! (eventual consistency right after a create). Throttling and 5xx are
//! retried by the SDK's standard retry policy.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use super::Ec2;
use crate::outcome::Ec2Error;

impl Ec2Error {
    fn from_sdk<E, R>(action: &'static str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let code = err.code().unwrap_or("Unknown").to_string();
        let message = match err.message() {
            Some(m) => m.to_string(),
            None => aws_sdk_ec2::error::DisplayErrorContext(err).to_string(),
        };
        Self {
            action,
            code,
            message,
        }
    }

    /// True when the call may or may not have taken effect and may be
    /// tried again: throttling, a server error, a lost connection.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code.as_str(),
            "RequestLimitExceeded"
                | "Throttling"
                | "ThrottlingException"
                | "InternalError"
                | "InternalFailure"
                | "ServiceUnavailable"
                | "Unavailable"
                | "Unknown"
        )
    }

    /// True for the `*.NotFound` codes EC2 answers while a new resource
    /// propagates.
    pub fn is_not_found(&self) -> bool {
        self.code.ends_with(".NotFound") || self.code.ends_with("NotFound")
    }
}

impl Ec2 {
    /// Calls `f` under the action's rate limit. `consistent_after_create`
    /// retries `*.NotFound` for a while: EC2 is eventually consistent, and a
    /// resource made a moment ago may not be visible to the next call yet.
    pub(crate) async fn call<T, E, R, F, Fut>(
        &self,
        action: &'static str,
        retry_not_found: bool,
        f: F,
    ) -> Result<T, Ec2Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let mut delay = Duration::from_millis(250);
        let mut attempts = 0;
        loop {
            self.limits.acquire(action).await;
            tracing::debug!(action, "ec2 call");
            let sent = super::trace::sent(action);
            let answer = f().await;
            if let Some(sent) = sent {
                sent.answered();
            }
            match answer {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let err = Ec2Error::from_sdk(action, &e);
                    attempts += 1;
                    if retry_not_found && err.is_not_found() && attempts < 8 {
                        tracing::info!(action, code = %err.code, "not visible yet; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(8));
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }
}
