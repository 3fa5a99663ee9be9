//! One EC2 API call as the proxy recorded it, and what became of it.

use std::time::Duration;

use bytes::Bytes;

/// One EC2 API call as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Request {
    /// Position in arrival order, from 0.
    pub seq: u64,
    /// HTTP method (`POST` for every aws-sdk call).
    pub method: String,
    /// Path and query as sent (`/` for the EC2 Query API).
    pub path: String,
    /// HTTP headers, names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The `Action` parameter (`DescribeInstances`), or `""` when absent.
    pub action: String,
    /// Every form parameter (query string, then body), decoded, in order.
    pub params: Vec<(String, String)>,
    /// The raw request body.
    pub body: Bytes,
    /// True when a hook answered instead of the upstream emulator.
    pub answered_by_hook: bool,
    /// What the client got: `Answered`, or a fault (reset, lost answer).
    pub outcome: Outcome,
    /// When the request arrived, since the proxy started.
    pub started: Duration,
    /// When the answer was sent (or the connection dropped), since the proxy started.
    pub finished: Duration,
}

/// What became of a request, as the client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer (from the upstream, a hook, or the token cache).
    Answered,
    /// The connection was reset before the request reached the upstream.
    Reset,
    /// The upstream handled the request; its answer was dropped.
    Lost,
    /// Answered from the ClientToken cache without reaching the upstream.
    Replayed,
}

impl Request {
    /// The first value of form parameter `name` (`"InstanceId.1"`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The values of a numbered list parameter, in order: `"InstanceId"`
    /// gives the values of `InstanceId.1`, `InstanceId.2`, …
    pub fn param_list(&self, prefix: &str) -> Vec<&str> {
        (1..)
            .map_while(|i| self.param(&format!("{prefix}.{i}")))
            .collect()
    }

    /// Every parameter whose name starts with `prefix` (`"Filter."`).
    pub fn params_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.params
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
