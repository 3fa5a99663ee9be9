//! What a hook answers instead of the upstream emulator: a response in
//! EC2's format, or a fault (reset, lost answer, delay).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use super::calls::Request;

/// An answer a hook gives instead of the upstream emulator, or a fault.
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Extra headers (Content-Length is added by the proxy).
    pub headers: Vec<(String, String)>,
    /// The body, usually EC2's XML.
    pub body: Bytes,
    /// A fault instead of this answer (see the constructors).
    pub fault: Option<Fault>,
}

/// Faults a hook can inject instead of answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without answering; the upstream never sees it.
    Reset,
    /// Forward to the upstream, then close the connection instead of
    /// answering: the change happened, the client does not know.
    Lose,
    /// Wait, then forward as usual.
    Delay(Duration),
}

impl Response {
    /// A response with `status`, an XML content type and `body`.
    pub fn xml(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "text/xml;charset=UTF-8".into())],
            body: Bytes::from(body.into()),
            fault: None,
        }
    }

    fn faulty(fault: Fault) -> Response {
        Response {
            status: 0,
            headers: Vec::new(),
            body: Bytes::new(),
            fault: Some(fault),
        }
    }

    /// A connection reset before the request reaches the upstream.
    pub fn reset() -> Response {
        Response::faulty(Fault::Reset)
    }

    /// The request reaches the upstream; its answer is lost (connection reset).
    pub fn lost() -> Response {
        Response::faulty(Fault::Lose)
    }

    /// The request is forwarded after `by`.
    pub fn delayed(by: Duration) -> Response {
        Response::faulty(Fault::Delay(by))
    }

    /// An error in EC2's own format, as the SDK parses it:
    /// `Response::ec2_error(400, "DependencyViolation", "resource sg-1 has a dependent object")`.
    pub fn ec2_error(status: u16, code: &str, message: &str) -> Response {
        let request_id = next_request_id();
        Response::xml(
            status,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                 <Code>{}</Code><Message>{}</Message></Error></Errors>\
                 <RequestID>{request_id}</RequestID></Response>",
                xml_escape(code),
                xml_escape(message)
            ),
        )
    }

    /// EC2's throttling answer: 503 `RequestLimitExceeded`.
    pub fn throttled() -> Response {
        Response::ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.")
    }
}

/// Decides whether to answer a request itself (`Some`) or let the upstream
/// emulator answer (`None`).
pub type Hook = dyn Fn(&Request) -> Option<Response> + Send + Sync;

fn next_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
