//! The outcomes of the use-cases, as values: what became of an EC2 step,
//! of a stack's plan, of a stack's apply, and why a stack was not applied.
//! Pure: `render` turns them into words, and nothing reads words back.

use std::fmt;
use std::time::Duration;

use crate::plan::Plan;
use crate::plan::steps::Step;

/// An EC2 call that failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    /// The API action.
    pub action: &'static str,
    /// EC2's error code (`InvalidAMIID.NotFound`), or `Unknown`.
    pub code: String,
    /// EC2's message, or the transport error.
    pub message: String,
}

impl fmt::Display for Ec2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}: {}", self.action, self.code, self.message)
    }
}

impl std::error::Error for Ec2Error {}

/// What became of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; the text says what was made or changed (ids, IPs).
    Done(String),
    /// Failed with EC2's error.
    Failed(Ec2Error),
    /// Not attempted because a step it needs did not succeed.
    Skipped(String),
}

/// The result of one step, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// The step.
    pub step: Step,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
    /// The snapshot (`snap-…`) taken of the data this step deleted.
    pub kept: Option<String>,
}

/// What happened to one stack of a plan run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per stack of a run, mostly `Planned`: boxing would only add indirection"
)]
pub enum StackPlan {
    /// Planned.
    Planned(Plan),
    /// The YAML is invalid: the rendered diagnostics.
    Invalid {
        /// The stack file.
        file: String,
        /// The errors, as text.
        errors: String,
        /// Each error at its file and line.
        at: Vec<Annotation>,
    },
    /// EC2 could not be read.
    Failed {
        /// The stack file.
        file: String,
        /// What went wrong.
        error: String,
    },
}

impl StackPlan {
    /// The file of the stack.
    pub fn file(&self) -> &str {
        match self {
            StackPlan::Planned(p) => &p.file,
            StackPlan::Invalid { file, .. } | StackPlan::Failed { file, .. } => file,
        }
    }

    /// True when the stack planned without errors.
    pub fn is_ok(&self) -> bool {
        matches!(self, StackPlan::Planned(p) if p.errors.is_empty())
    }
}

/// The outcome of applying one stack.
#[derive(Debug, Clone, PartialEq)]
pub enum StackApply {
    /// Applied (every step listed).
    Applied {
        /// The plan applied.
        plan: Box<Plan>,
        /// What each step did.
        results: Vec<StepResult>,
        /// Seconds taken.
        seconds: f64,
    },
    /// Nothing to do.
    NoChanges {
        /// Stack.
        stack: String,
        /// Region.
        region: String,
    },
    /// Not applied: why.
    NotApplied {
        /// Stack (the file, for an invalid one).
        stack: String,
        /// Why.
        refusal: Refusal,
    },
}

/// What may be done with a stack's fresh plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Nothing to do: safe whatever was reviewed (a re-run of an applied
    /// merge, say).
    NoChanges,
    /// Apply it.
    Apply,
    /// Do not.
    Refuse(Refusal),
}

/// Why a stack was not applied. Nothing in EC2 was changed for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The stack file is invalid: its diagnostics, as text.
    InvalidFile {
        /// The rendered diagnostics.
        diagnostics: String,
    },
    /// EC2 could not be read to plan it.
    ReadFailed {
        /// What went wrong (an error chain).
        error: String,
    },
    /// The fresh plan is not the reviewed one.
    ChangedSinceReview {
        /// The reviewed fingerprint.
        reviewed: String,
        /// The fresh plan's.
        now: String,
        /// The base branch the merge went onto, when it is not the one the
        /// reviewed plan was made on.
        moved: Option<BaseMoved>,
        /// The first change the review did not see, when it can be told.
        unreviewed: Option<crate::plan::review::Unreviewed>,
    },
    /// The merged pull request's plan comment shows no plan of this stack.
    NotReviewed,
    /// A push no merged pull request explains, with `apply-unreviewed-pushes`
    /// off: its plan went to the drift issue.
    UnreviewedPush,
    /// The plan has errors or blocked changes.
    Blocked {
        /// The plan.
        plan: Box<Plan>,
    },
    /// Another apply of the stack changed it while this one waited for the
    /// stack's lease.
    MovedUnderLease {
        /// The fingerprint expected.
        reviewed: String,
        /// The plan's under the lease.
        now: String,
    },
    /// Not attempted: a stack it is applied `after` was not applied.
    NotAttempted {
        /// That stack.
        after: String,
    },
    /// The person at the terminal did not confirm the plan.
    NotConfirmed,
    /// The apply could not start (the lease, EC2).
    Failed {
        /// What went wrong (an error chain).
        error: String,
    },
}

impl Refusal {
    /// Whether the refusal is about review (the plan is not, or no longer,
    /// the reviewed one): the merge's new plan is then posted for review.
    pub fn needs_review(&self) -> bool {
        matches!(
            self,
            Refusal::ChangedSinceReview { .. }
                | Refusal::NotReviewed
                | Refusal::MovedUnderLease { .. }
        )
    }
}

/// Why a stale pull request could not be re-planned (its comment then stays
/// marked stale, with its old fingerprints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplanFailure {
    /// It conflicts with the commit just applied.
    Conflict,
    /// It was closed meanwhile.
    Closed,
    /// GitHub had not recomputed its test merge on the commit just applied.
    NotRecomputed,
    /// A file its merge changes could not be read at the merge.
    Missing(String),
    /// GitHub failed: the error.
    GitHub(String),
}

/// Why `/apply` may not run on a pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyNotAllowed {
    /// `apply-on-comment: never`.
    OnlyOnMerge,
    /// `apply-on-comment: after-refused-merge`, and this is not a merged
    /// pull request whose merge-apply was refused.
    NotARefusedMerge,
    /// The plan was discarded.
    Discarded,
}

/// A finding at a file and line: a check run's annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The file, relative to the repository.
    pub path: String,
    /// Its line (1-based).
    pub line: u32,
    /// `failure` (an error) or `warning`.
    pub level: &'static str,
    /// What is wrong, in words.
    pub message: String,
}

/// A requirement of `/apply` on an open pull request that is not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmet {
    /// No approving review by anyone but the author.
    NotApproved,
    /// Approved by `by`, but on `commit`, not on the head: a push came after.
    ApprovedOnOlderHead {
        /// The reviewer.
        by: String,
        /// The commit approved.
        commit: String,
    },
    /// GitHub says the pull request does not merge cleanly.
    NotMergeable,
    /// GitHub has not yet computed whether it merges.
    MergeableUnknown,
}

/// A merge went onto another base commit than the one its plan was made on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseMoved {
    /// The base the reviewed plan was made on.
    pub reviewed_on: String,
    /// The base the merge went onto.
    pub merged_onto: String,
}

impl BaseMoved {
    /// A plan reviewed on `reviewed_on` merged onto `onto`: `Some` when the
    /// two are known and differ (the plan must then match exactly).
    pub fn between(reviewed_on: Option<&str>, onto: &str) -> Option<BaseMoved> {
        reviewed_on
            .filter(|b| !onto.is_empty() && !b.eq_ignore_ascii_case(onto))
            .map(|b| BaseMoved {
                reviewed_on: b.to_string(),
                merged_onto: onto.to_string(),
            })
    }
}

impl StackApply {
    /// The stack's name (the file, for an invalid one).
    pub fn stack(&self) -> &str {
        match self {
            StackApply::Applied { plan, .. } => &plan.stack,
            StackApply::NoChanges { stack, .. } | StackApply::NotApplied { stack, .. } => stack,
        }
    }

    /// True when nothing failed or was refused.
    pub fn is_ok(&self) -> bool {
        match self {
            StackApply::Applied { results, .. } => results
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Done(_))),
            StackApply::NoChanges { .. } => true,
            StackApply::NotApplied { .. } => false,
        }
    }
}

impl Ec2Error {
    /// True when EC2 refused the call for its request rate: it was not run.
    pub fn is_throttling(&self) -> bool {
        matches!(
            self.code.as_str(),
            "RequestLimitExceeded" | "Throttling" | "ThrottlingException" | "RequestThrottled"
        )
    }

    /// True when the call may or may not have taken effect and may be
    /// tried again: throttling, a server error, a lost connection.
    pub fn is_transient(&self) -> bool {
        self.is_throttling()
            || matches!(
                self.code.as_str(),
                "InternalError"
                    | "InternalFailure"
                    | "ServiceUnavailable"
                    | "Unavailable"
                    | "Unknown"
            )
    }

    /// True for the `*.NotFound` codes EC2 answers while a new resource
    /// propagates.
    pub fn is_not_found(&self) -> bool {
        self.code.ends_with(".NotFound") || self.code.ends_with("NotFound")
    }
}

/// A check run's outcome and output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutput {
    /// `success` or `failure`.
    pub conclusion: &'static str,
    /// One line: what the plan or apply comes to.
    pub title: String,
    /// Markdown: the stack table.
    pub summary: String,
    /// Markdown: the whole plan or report.
    pub text: String,
    /// Errors and warnings at their file and line.
    pub annotations: Vec<Annotation>,
}
