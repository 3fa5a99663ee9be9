//! The use-cases: plan stacks, apply them in order under each stack's lease
//! (only the plan the caller approves), apply and destroy previews, import.
//! Each is a function over the EC2 adapter, called by both front ends: the
//! command line and the GitHub Action parse, ask and print; they decide
//! nothing the use-cases decide.

mod apply;
pub mod import;
mod plan;
pub mod previews;

pub use apply::{
    APPLY_LEASE_WAIT, Applied, Done, Driver, Exclusive, apply, apply_exclusive, apply_stacks,
};
pub use plan::{plan, plan_all, plan_pinned};
