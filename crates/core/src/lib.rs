//! The pure core of ec2-gitops: the stack format (`config`), desired and
//! live resources (`model`), the planner (`plan`), what became of a run
//! (`outcome`), every text a person reads (`render`), the comment protocol
//! (`marker`), previews and imports as values (`preview`, `import`), the
//! IAM policies (`iam`) and the action's decisions (`action`).
//!
//! Architecture invariant: this crate does no I/O. Its manifest has no
//! async runtime, no AWS SDK, no GitHub client and no filesystem or
//! environment access, so the build, not a review, keeps it pure; its
//! tests run on plain values.

pub mod action;
pub mod config;
pub mod iam;
pub mod import;
pub mod marker;
pub mod model;
pub mod outcome;
pub mod plan;
pub mod preview;
pub mod render;
