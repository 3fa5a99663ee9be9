//! The action's decisions, pure: who may run what and when (`policy`), the
//! comment grammar (`command`), the bot's identity (`identity`), the plan's
//! labels (`labels`), the settings they read (`settings`), which stacks a
//! change touches (`touched`) and the merge queue's gate (`queue`). The handlers
//! that act on them are the binary crate's `action`.

pub mod command;
pub mod identity;
pub mod labels;
pub mod moves;
pub mod policy;
pub mod queue;
pub mod settings;
pub mod touched;
