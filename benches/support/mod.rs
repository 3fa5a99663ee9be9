//! What the benchmarks share: the real binary run as a measured child
//! process, the machine and versions they ran on, the Markdown pages under
//! `docs/benchmarks/`, and the chart.
//!
//! Each benchmark declares `mod support;` and `mod moto;` (the test helper,
//! by `#[path]`) at its root; `machine` asks `crate::moto` where moto is.

#![allow(dead_code)] // each benchmark uses a different part

pub mod balancer;
pub mod chart;
pub mod machine;
pub mod pages;
pub mod plan_json;
pub mod process;
pub mod stack;
