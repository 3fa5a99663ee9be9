//! Shared test support: moto's EC2 emulator and a recording proxy in front of it;
//! a stateful fake of GitHub's REST API and real webhook payloads.

// Each test binary module uses a different subset of the helpers.
#![allow(dead_code, unused_imports)]

pub mod call_trace;
pub mod ec2_limits;
pub mod ec2_proxy;
pub mod elb_health;
pub mod github;
pub mod moto;
pub mod webhooks;

pub use ec2_limits::Ec2Limits;
pub use ec2_proxy::{Ec2Proxy, Request as ProxyRequest, Response as ProxyResponse};
pub use github::{FakeGitHub, PullSpec};
pub use moto::{Moto, ec2_client_at, ec2_config_at, elb_at, elb_client_at, ssm_client_at};

/// The example stack every README points at, relative to the crate root.
pub const EXAMPLE_STACK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/web-hosting/infra/web.yaml"
);

/// The bot's marker on the first line of a comment body (as the bot reads it).
pub fn marker_of(body: &str) -> Option<ec2_gitops::marker::Marker> {
    ec2_gitops::marker::Marker::parse(body)
}

/// The plan comment's metadata, when `body` is a plan comment.
pub fn plan_meta(body: &str) -> Option<ec2_gitops::marker::PlanMeta> {
    marker_of(body).and_then(|m| m.plan().cloned())
}

/// Whether a call the proxy recorded only reads: EC2's and ELB's
/// `Describe*`, the tagging API's `GetResources`, SSM's `GetParameters`,
/// and STS's `AssumeRole` (a session in a stack's account; nothing changes).
pub fn is_read(action: &str) -> bool {
    action.starts_with("Describe")
        || matches!(action, "GetResources" | "GetParameters" | "AssumeRole")
}
