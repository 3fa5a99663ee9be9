//! A stateful fake of the GitHub REST API: the endpoints the action uses, and
//! nothing else.
//!
//! It is an HTTP server on 127.0.0.1 (pass [`FakeGitHub::url`] as
//! `GITHUB_API_URL`), running on its own thread and runtime so sync and async
//! tests can share it. It keeps what the bot wrote (comments, reactions,
//! statuses, deployments, issues) per repository `owner/name`, answers with
//! GitHub's response shapes (each built from the documented example of its
//! schema in npm `@octokit/openapi`, with the fields the fake models filled in),
//! and records every request.
//!
//! Strictness: every 4xx answer the fake gives on its own (a route it does not
//! implement, a body GitHub would refuse, a resource the test never created, a
//! missing token…) is also recorded in [`FakeGitHub::unexpected`], and dropping
//! the last handle panics when that list is not empty, so a test fails when the
//! bot did something nobody expected. Answers injected with
//! [`FakeGitHub::fail_next`] or [`FakeGitHub::set_down`] are not unexpected.
//! A test that provokes an unexpected request on purpose takes it back with
//! [`FakeGitHub::take_unexpected`].
//!
//! Layout: [`handle`] (the [`FakeGitHub`] handle and the checks made when the
//! last one drops), [`setup`] (what a test arranges), [`inspect`] (what a
//! test asserts on), [`faults`] (injected failures), [`state`] (what the fake
//! holds), [`queue`] (the merge queue's entries), [`server`] (one request: recorded, refused or routed),
//! [`routes`] (one file per API area), [`bodies`] and [`openapi`] (GitHub's
//! response shapes), and the small pieces they share ([`request`],
//! [`pagination`], [`shas`], [`clock`]).

// The benchmarks include this file with `#[path]`, which makes a plain
// `mod x;` look for a sibling of this file: each submodule names its own.
#[path = "github/bodies.rs"]
mod bodies;
#[path = "github/clock.rs"]
mod clock;
#[path = "github/faults.rs"]
mod faults;
#[path = "github/handle.rs"]
mod handle;
#[path = "github/inspect.rs"]
mod inspect;
#[path = "github/openapi.rs"]
mod openapi;
#[path = "github/pagination.rs"]
mod pagination;
#[path = "github/queue.rs"]
mod queue;
#[path = "github/request.rs"]
mod request;
#[path = "github/routes/mod.rs"]
mod routes;
#[path = "github/server.rs"]
mod server;
#[path = "github/setup.rs"]
mod setup;
#[path = "github/shas.rs"]
mod shas;
#[path = "github/state.rs"]
mod state;

pub use handle::FakeGitHub;
pub use openapi::openapi;
pub use queue::QueueEntry;
pub use shas::{merge_sha_of, test_merge_sha};
pub use state::{
    CheckRunState, CommentState, DeploymentState, DeploymentStatusState, IssueState, PullSpec,
    Recorded, StatusState,
};

// GitHub's own Markdown engine, for what the bot writes.
#[path = "../../../crates/core/src/render/tests/gfm.rs"]
mod gfm;

/// The login GitHub shows as the author of what a workflow's `GITHUB_TOKEN` writes.
pub const BOT_LOGIN: &str = "github-actions[bot]";
/// GitHub's user id of `github-actions[bot]`.
const BOT_ID: u64 = 41_898_282;
/// GitHub's limit on an issue comment's body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// GitHub's limit on a commit status's description, in characters.
const STATUS_DESCRIPTION_LIMIT: usize = 140;

const REACTIONS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];
const DOCS: &str = "https://docs.github.com/rest";
