//! ec2-gitops: EC2 infrastructure as YAML, planned on pull requests and
//! applied on merge.
//!
//! The pure code is the core crate (`config`, `model`, `plan`, `render`,
//! `marker`, `outcome`, `iam`, `import`, `preview`, re-exported here). This
//! crate holds the use-cases (`app`), the adapters that do I/O (`ec2`,
//! `github`, `workspace`, `git`) and two front ends over them: the command
//! line (`cli`) and the GitHub Action (`action`). [`main`] picks the front
//! end.

pub mod action;
pub mod app;
pub mod cli;
pub mod ec2;
pub mod git;
pub mod github;
pub mod progress;
pub mod workspace;

pub use ec2_gitops_core::{config, iam, import, marker, model, outcome, plan, preview, render};

use std::process::ExitCode;

use clap::Parser as _;

/// The binary's `main`: `ec2-gitops action` is the GitHub Action's run,
/// every other command the command line's.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if cli.is_action() {
        cli::block_on(run_action())
    } else {
        cli::block_on(cli::run(cli))
    }
}

/// The action's run: its environment read, the workspace entered.
async fn run_action() -> anyhow::Result<u8> {
    let env = action::env::ActionEnv::from_vars(|k| std::env::var(k).ok())?;
    action::enter_workspace(&env.workspace)?;
    action::run(&env).await
}
