//! One handler per event, each a function over the run's services and its
//! typed payload: it maps the event to steps and use-cases and says what
//! the run comes to (an exit code). A handler never calls another.

pub mod issue_comment;
pub mod merge_group;
pub mod pull_request;
pub mod push;
pub mod schedule;
