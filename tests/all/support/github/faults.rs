//! Injected failures: rate limits, server errors, lost answers, a token
//! without a permission, GitHub down. None of them is unexpected.

use serde_json::json;

use super::DOCS;
use super::FakeGitHub;
use super::server::Reply;

impl FakeGitHub {
    /// Makes the next `times` requests matching `method` (`"*"` for any) and
    /// `path` answer `status` instead of running. `path` matches a request's
    /// path when it is a prefix of it, segment by segment, where a `*` segment
    /// matches any one segment: `/repos/o/r/issues/*/comments`. The body is
    /// GitHub's for that status: 403 and 429 are the secondary rate limit
    /// (with `retry-after` when given; 403 without it is the primary rate
    /// limit, `x-ratelimit-remaining: 0`), 5xx a server error.
    pub fn fail_next(
        &self,
        method: &str,
        path: &str,
        status: u16,
        retry_after_seconds: Option<u64>,
        times: u32,
    ) {
        self.inner().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            status,
            retry_after: retry_after_seconds,
            times,
            after: false,
        });
    }

    /// Every request matching `method` and `path` (as in
    /// [`Self::fail_next`]) is refused from now on as GitHub refuses a
    /// token without the permission: 403 "Resource not accessible by
    /// integration", no rate-limit headers.
    pub fn forbid(&self, method: &str, path: &str) {
        self.inner()
            .forbidden
            .push((method.to_ascii_uppercase(), path.to_string()));
    }

    /// The next `times` requests matching `method` and `path` (as in
    /// [`Self::fail_next`]) are carried out, but their answer is lost on the
    /// way back: the client gets `status` (a 502 from a proxy, say) although
    /// the comment, issue… was made.
    pub fn lose_answer(&self, method: &str, path: &str, status: u16, times: u32) {
        self.inner().faults.push(Fault {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            status,
            retry_after: None,
            times,
            after: true,
        });
    }

    /// While down, every request answers 503 with GitHub's "unicorn" error
    /// (HTTP is still spoken, so a client sees an API error it may retry, not a
    /// connection error). Requests are still recorded.
    pub fn set_down(&self, down: bool) {
        self.inner().down = down;
    }
}

#[derive(Clone, Debug)]
pub(super) struct Fault {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) status: u16,
    pub(super) retry_after: Option<u64>,
    pub(super) times: u32,
    /// Carry the request out, then answer `status` instead.
    pub(super) after: bool,
}

impl Fault {
    pub(super) fn matches(&self, method: &str, path: &str) -> bool {
        if self.times == 0 || (self.method != "*" && self.method != method) {
            return false;
        }
        let want: Vec<&str> = self.path.trim_end_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        want.len() <= got.len() && want.iter().zip(&got).all(|(w, g)| *w == "*" || w == g)
    }
}

pub(super) fn injected(fault: &Fault, clock: u64) -> Reply {
    let mut reply = match fault.status {
        403 | 429 if fault.retry_after.is_some() || fault.status == 429 => Reply::json(
            fault.status,
            json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
                "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
                "status": fault.status.to_string(),
            }),
        ),
        403 => Reply::json(
            403,
            json!({
                "message": "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                "status": "403",
            }),
        )
        .header("x-ratelimit-limit", "5000".into())
        .header("x-ratelimit-remaining", "0".into())
        .header("x-ratelimit-used", "5000".into())
        .header("x-ratelimit-resource", "core".into())
        .header("x-ratelimit-reset", (clock + 1).to_string()),
        500..=599 => Reply::json(
            fault.status,
            json!({"message": "Server Error", "status": fault.status.to_string()}),
        ),
        status => Reply::json(status, json!({"message": "Injected by the GitHub fake", "documentation_url": DOCS})),
    };
    if let Some(seconds) = fault.retry_after {
        reply = reply.header("retry-after", seconds.to_string());
    }
    reply.injected = true;
    reply
}
