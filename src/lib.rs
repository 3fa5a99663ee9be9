//! ec2-gitops: EC2 infrastructure as YAML, planned on pull requests and
//! applied on merge.
//!
//! Pure decision code (`config`, `model`, `plan`, `render`) is kept apart from
//! I/O (`ec2`, `workspace`); `cli` wires them together.

pub mod action;
pub mod app;
pub mod cli;
pub mod config;
pub mod ec2;
pub mod git;
pub mod github;
pub mod iam;
pub mod import;
pub mod marker;
pub mod model;
pub mod outcome;
pub mod plan;
pub mod preview;
pub mod progress;
pub mod render;
pub mod workspace;
