//! Self-tests of the GitHub fake (tests/all/support/github.rs and its
//! files), driven by octocrab the way the action drives GitHub, and of
//! the webhook fixtures. One file per API area, plus the fake's own
//! behaviour (faults, the drop check) and the response shapes.

mod comments;
mod deployments;
mod faults;
mod handle;
mod issues;
mod permissions;
mod pulls;
mod shapes;
mod webhooks;

use std::io::{Read, Write};

use octocrab::Octocrab;

use crate::support::{FakeGitHub, PullSpec};

pub(super) const OWNER: &str = "acme";
pub(super) const NAME: &str = "infra";
pub(super) const REPO: &str = "acme/infra";
pub(super) const HEAD: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub(super) const MERGE: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

pub(super) fn octo(fake: &FakeGitHub) -> Octocrab {
    Octocrab::builder()
        .base_uri(fake.url())
        .expect("base uri")
        .personal_token("x".to_string())
        .build()
        .expect("octocrab")
}

pub(super) fn fake_with_pr(files: usize) -> FakeGitHub {
    let fake = FakeGitHub::start();
    fake.add_pull(
        REPO,
        PullSpec {
            number: 7,
            head_sha: HEAD.into(),
            head_ref: "grow-web".into(),
            files: (0..files)
                .map(|i| (format!("infra/stack{i}.yaml"), "modified".to_string()))
                .collect(),
            ..Default::default()
        },
    );
    fake
}

/// The HTTP status of an octocrab error (panics on any other error).
pub(super) fn status_of(err: octocrab::Error) -> u16 {
    match err {
        octocrab::Error::GitHub { source, .. } => source.status_code.as_u16(),
        other => panic!("expected a GitHub API error, got {other:?}"),
    }
}

/// One HTTP/1.1 request over a plain socket: (status, headers, body). For
/// what octocrab cannot send (no token) and for sync tests.
pub(super) fn raw(
    fake: &FakeGitHub,
    method: &str,
    path: &str,
    token: bool,
    body: &str,
) -> (u16, String, String) {
    let addr = fake.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect to the fake");
    let auth = if token {
        "Authorization: token x\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_ascii_lowercase(), body.to_string())
}
