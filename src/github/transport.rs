//! One call to GitHub, with retries: 5xx, 429 and secondary rate limits are
//! retried honouring `retry-after`; a create is never sent twice blindly
//! (see [`Resend`]). Pages of a list are followed through `Link`.

use std::time::Duration;

use http::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::GitHub;

/// A GitHub call that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GitHub {method} {path} failed: {detail}")]
pub struct GitHubError {
    /// HTTP method.
    pub method: String,
    /// Path called.
    pub path: String,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// GitHub's message or the transport error.
    pub detail: String,
    /// The request may have taken effect: it went unanswered or GitHub
    /// answered a server error (a create must be looked for before it is
    /// sent again).
    pub maybe_done: bool,
}

/// How hard to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// First backoff (doubled each time) when GitHub gives no `retry-after`.
    pub backoff: Duration,
    /// Longest wait honoured from `retry-after`.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(120),
        }
    }
}

/// Whether a request is sent again after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resend {
    /// Sending it twice does no harm: retried on every transient failure.
    Always,
    /// It creates something: after a failure that may have taken effect, it
    /// is returned to the caller, which looks for what it created.
    NotIfMaybeDone,
}

/// Pages fetched at most when listing (100 items a page).
pub(super) const MAX_PAGES: u32 = 30;

impl GitHub {
    pub(super) fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.repo.owner, self.repo.name)
    }

    /// One call with retries; returns status, `Link` header and body.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, Option<String>, String), GitHubError> {
        self.call_with(method, path, body, Resend::Always).await
    }

    /// [`Self::call`], resending as `resend` allows.
    pub(super) async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        resend: Resend,
    ) -> Result<(StatusCode, Option<String>, String), GitHubError> {
        let mut delay = self.retry.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let fail = |status: Option<u16>, detail: String| GitHubError {
                method: method.to_string(),
                path: path.to_string(),
                status,
                maybe_done: status.is_none_or(|s| s >= 500),
                detail,
            };
            let resend_maybe_done = resend == Resend::Always;
            let sent = match method {
                Method::GET => self.client._get(path).await,
                Method::POST => self.client._post(path, body).await,
                Method::PATCH => self.client._patch(path, body).await,
                Method::DELETE => self.client._delete(path, body).await,
                _ => unreachable!("only GET, POST, PATCH and DELETE are used"),
            };
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < self.retry.attempts && resend_maybe_done => {
                    tracing::warn!(%path, error = %e, attempt, "GitHub unreachable; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    continue;
                }
                Err(e) => return Err(fail(None, format!("unreachable: {e}"))),
            };
            let status = response.status();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let retry_after = header("retry-after").and_then(|s| s.trim().parse::<u64>().ok());
            let link = header("link");
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::FORBIDDEN
                    && (retry_after.is_some()
                        || header("x-ratelimit-remaining").as_deref() == Some("0")));
            let text = self
                .client
                .body_to_string(response)
                .await
                .unwrap_or_default();
            if status.is_success() {
                return Ok((status, link, text));
            }
            let transient = (status.is_server_error() && resend_maybe_done) || rate_limited;
            if transient && attempt < self.retry.attempts {
                let wait = retry_after
                    .map(Duration::from_secs)
                    .unwrap_or(delay)
                    .min(self.retry.max_wait);
                tracing::warn!(%path, %status, attempt, wait_ms = wait.as_millis() as u64, "GitHub asked to retry");
                tokio::time::sleep(wait).await;
                delay *= 2;
                continue;
            }
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or(text);
            return Err(fail(Some(status.as_u16()), format!("{status}: {message}")));
        }
    }

    pub(super) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, GitHubError> {
        let (_, _, text) = self.call(method.clone(), path, body).await?;
        serde_json::from_str(&text).map_err(|e| GitHubError {
            method: method.to_string(),
            path: path.to_string(),
            status: None,
            detail: format!("unexpected answer: {e}"),
            maybe_done: false,
        })
    }

    /// Every page of a list (100 a page, following `Link: rel="next"`);
    /// `stop` ends early once an item is found.
    pub(super) async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        stop: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, GitHubError> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        for page in 1..=MAX_PAGES {
            let p = format!("{path}{sep}per_page=100&page={page}");
            let (_, link, text) = self.call(Method::GET, &p, None).await?;
            let items: Vec<T> = serde_json::from_str(&text).map_err(|e| GitHubError {
                method: "GET".into(),
                path: p.clone(),
                status: None,
                detail: format!("unexpected answer: {e}"),
                maybe_done: false,
            })?;
            let done = items.iter().any(&stop);
            out.extend(items);
            let has_next = link.is_some_and(|l| l.contains("rel=\"next\""));
            if done || !has_next {
                break;
            }
        }
        Ok(out)
    }
}

/// An answer's JSON as `T`.
pub(super) fn parse_answer<T: DeserializeOwned>(
    method: &Method,
    path: &str,
    text: &str,
) -> Result<T, GitHubError> {
    serde_json::from_str(text).map_err(|e| GitHubError {
        method: method.to_string(),
        path: path.to_string(),
        status: None,
        detail: format!("unexpected answer: {e}"),
        maybe_done: false,
    })
}

/// Percent-encodes a repository path for a URL, keeping `/` between segments.
pub(super) fn encode_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::Repo;

    #[test]
    fn paths_are_percent_encoded_between_slashes() {
        assert_eq!(
            encode_path("infra/prod web/é#1.yaml"),
            "infra/prod%20web/%C3%A9%231.yaml"
        );
    }

    #[test]
    fn repo_parses_owner_and_name_only() {
        assert_eq!(
            Repo::parse("octo/infra"),
            Some(Repo {
                owner: "octo".into(),
                name: "infra".into()
            })
        );
        assert_eq!(Repo::parse("octo"), None);
        assert_eq!(Repo::parse("octo/infra/x"), None);
        assert_eq!(Repo::parse("/infra"), None);
    }
}
