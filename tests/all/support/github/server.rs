//! One request through the fake: injected failures and authentication
//! first, then the route; the answer recorded, and a 4xx the fake gives
//! on its own kept as unexpected.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::DOCS;
use super::faults::{Fault, injected};
use super::handle::lock;
use super::state::{Inner, Recorded};

/// An answer, built under the lock and sent after it.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Value,
    pub(super) headers: Vec<(&'static str, String)>,
    /// Set for fault injection and `set_down`: never unexpected.
    pub(super) injected: bool,
}

impl Reply {
    pub(super) fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
            injected: false,
        }
    }
    /// A 404 the client asks for on purpose (does this label exist?): not
    /// unexpected.
    pub(super) fn absent() -> Self {
        Self {
            injected: true,
            ..Self::not_found()
        }
    }

    pub(super) fn not_found() -> Self {
        Self::json(
            404,
            json!({"message": "Not Found", "documentation_url": DOCS, "status": "404"}),
        )
    }
    pub(super) fn invalid(message: &str) -> Self {
        Self::json(
            422,
            json!({"message": message, "documentation_url": DOCS, "status": "422"}),
        )
    }
    /// GitHub's "Validation Failed" with one error on a field.
    pub(super) fn validation(
        resource: &str,
        field: &str,
        code: &str,
        message: Option<&str>,
    ) -> Self {
        let mut error = json!({"resource": resource, "field": field, "code": code});
        if let Some(m) = message {
            error["message"] = json!(m);
        }
        Self::json(
            422,
            json!({"message": "Validation Failed", "errors": [error], "documentation_url": DOCS, "status": "422"}),
        )
    }
    pub(super) fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

pub(super) type Answer = Result<Reply, Reply>;

pub(super) async fn handle(
    AxState(inner): AxState<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = lock(&inner).serve(&method, &uri, &headers, &body);
    let mut response = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-github-media-type", "github.v3; format=json");
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    let body = if reply.body.is_null() {
        Body::empty()
    } else {
        Body::from(reply.body.to_string())
    };
    response.body(body).expect("response")
}

impl Inner {
    fn serve(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Reply {
        let path = uri.path().to_string();
        let query = uri.query().unwrap_or("").to_string();
        let parsed = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
        };
        let mut notes = Vec::new();
        let reply = self.answer(method.as_str(), &path, &query, headers, &parsed, &mut notes);
        let recorded = Recorded {
            method: method.to_string(),
            path,
            query,
            body: parsed,
            status: reply.status,
        };
        if (400..500).contains(&reply.status) && !reply.injected {
            let mut reason = reply.body["message"]
                .as_str()
                .unwrap_or("")
                .replace('\n', " ");
            for error in reply.body["errors"].as_array().into_iter().flatten() {
                if let Some(m) = error["message"].as_str() {
                    reason.push_str(": ");
                    reason.push_str(m);
                }
            }
            self.unexpected
                .push(format!("{} → {} {}", recorded.line(), reply.status, reason));
        }
        for note in notes {
            self.unexpected.push(format!("{}: {note}", recorded.line()));
        }
        if matches!(recorded.method.as_str(), "POST" | "PATCH")
            && (200..300).contains(&recorded.status)
            && recorded.path.contains("/issues")
            && let Some(text) = recorded.body["body"].as_str()
        {
            self.written.push((recorded.line(), text.to_string()));
        }
        self.requests.push(recorded);
        reply
    }

    fn answer(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &Value,
        notes: &mut Vec<String>,
    ) -> Reply {
        if self.down {
            let mut reply = Reply::json(
                503,
                json!({"message": "No server is currently available to service your request. Sorry about that. Please try resubmitting your request and contact us if the problem persists."}),
            );
            reply.injected = true;
            return reply;
        }
        let forbidden = self.forbidden.iter().any(|(m, p)| {
            Fault {
                method: m.clone(),
                path: p.clone(),
                status: 403,
                retry_after: None,
                times: 1,
                after: false,
            }
            .matches(method, path)
        });
        if forbidden {
            let mut reply = Reply::json(
                403,
                json!({"message": "Resource not accessible by integration", "documentation_url": DOCS, "status": "403"}),
            );
            reply.injected = true;
            return reply;
        }
        let mut lost = None;
        if let Some(fault) = self.faults.iter_mut().find(|f| f.matches(method, path)) {
            fault.times -= 1;
            let fault = fault.clone();
            self.faults.retain(|f| f.times > 0);
            if !fault.after {
                return injected(&fault, self.clock);
            }
            lost = Some(fault);
        }
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("token "))
            })
            .map(str::trim)
            .unwrap_or("");
        if token.is_empty() {
            return Reply::json(
                401,
                json!({"message": "Requires authentication", "documentation_url": DOCS, "status": "401"}),
            );
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let reply = match self.route(method, &segments, path, query, body, notes) {
            Ok(reply) | Err(reply) => reply,
        };
        match lost {
            Some(fault) => injected(&fault, self.clock),
            None => reply,
        }
    }
}
