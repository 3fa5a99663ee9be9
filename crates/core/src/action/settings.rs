//! The repository's settings the action's policy decides by (from the
//! action's inputs; read from the environment by the action).

/// When `/apply` in a comment is allowed (input `apply-on-comment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOnComment {
    /// Never: only merges apply.
    Never,
    /// Only on a merged PR whose merge-apply was refused because the plan
    /// changed: it applies the plan the latest comment shows, nothing else.
    AfterRefusedMerge,
    /// On any PR, once its plan comment is current.
    Always,
}

/// What `/apply` on an open pull request needs (input `apply-requirements`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyRequirements {
    /// An approving review by someone other than the author, on the head.
    pub approved: bool,
    /// GitHub says the pull request merges cleanly.
    pub mergeable: bool,
}
