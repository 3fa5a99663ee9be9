//! ec2-gitops: EC2 infrastructure as YAML, planned on pull requests and
//! applied on merge.
//!
//! Pure decision code (`config`, `model`, `plan`, `render`) is kept apart from
//! I/O (`ec2`, `workspace`); `cli` wires them together.

pub mod action;
pub mod app;
pub mod cli;
pub mod ec2;
pub mod git;
pub mod github;
pub mod progress;
pub mod workspace;

pub use ec2_gitops_core::{config, iam, import, marker, model, outcome, plan, preview, render};
