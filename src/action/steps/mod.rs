//! The steps the handlers share, each over the run's [`Services`]: the
//! plan comment, replies, checks and labels, applying with the result
//! recorded, the drift issue, previews, and stale plans. A step calls the
//! use-cases (`app`) for EC2 and `render` for every word; it never calls a
//! handler.
//!
//! [`Services`]: super::services::Services

pub mod apply;
pub mod checks;
pub mod drift;
pub mod labels;
pub mod moves;
pub mod plan_comment;
pub mod previews;
pub mod queue;
pub mod replies;
pub mod stale;
