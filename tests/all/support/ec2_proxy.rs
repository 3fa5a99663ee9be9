//! A recording HTTP proxy in front of moto.
//!
//! Every request is parsed as an EC2 Query API call (`Action=…&…`, form body
//! or query string), recorded, and forwarded to the upstream emulator — unless
//! a hook installed by the test answers it instead. Tests use it to count API
//! calls ("a plan makes exactly one DescribeInstances") and to supply the real
//! EC2 behaviour moto lacks (`DependencyViolation`, throttling, …).
//!
//! ```ignore
//! let proxy = Ec2Proxy::start(&moto.endpoint());
//! proxy.set_hook(|req| (req.action == "DeleteSecurityGroup")
//!     .then(|| Response::ec2_error(400, "DependencyViolation", "resource sg-1 has a dependent object")));
//! // … point the client at proxy.endpoint() …
//! assert_eq!(proxy.count("DescribeInstances"), 1);
//! ```
//!
//! Self-contained (no other test module, no aws-sdk) so a benchmark can
//! include it with `#[path = "../tests/all/support/ec2_proxy.rs"] mod ec2_proxy;`.
//! It runs on its own thread and Tokio runtime, so it works from sync tests,
//! `#[tokio::test]` of either flavour, and benchmarks alike.
//!
//! Layout: [`handle`] (the [`Ec2Proxy`] a test holds and what it asks of
//! it), [`calls`] (one recorded [`Request`]), [`answers`] (what a hook
//! answers with: [`Response`] and its faults), [`serve`] (each request
//! recorded, then hooked or forwarded), [`profiles`] (instance profiles
//! as EC2 keeps them, where moto does not) and [`wire`] (HTTP/1.1 read and
//! written by hand).

#![allow(dead_code)] // each test uses a different part of the API

// The benchmarks include this file with `#[path]`, which makes a plain
// `mod x;` look for a sibling of this file: each submodule names its own.
#[path = "ec2_proxy/answers.rs"]
mod answers;
#[path = "ec2_proxy/calls.rs"]
mod calls;
#[path = "ec2_proxy/handle.rs"]
mod handle;
#[path = "ec2_proxy/profiles.rs"]
mod profiles;
#[path = "ec2_proxy/serve.rs"]
mod serve;
#[path = "ec2_proxy/wire.rs"]
mod wire;

// Each benchmark uses a different part of the API.
#[allow(unused_imports)]
pub use answers::{Fault, Hook, Response};
#[allow(unused_imports)]
pub use calls::{Outcome, Request};
pub use handle::Ec2Proxy;
