//! A user-facing validation error, located in a stack file.

use crate::model::Location;

/// One problem found in a stack file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the offending key or value starts.
    pub at: Location,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
    /// The text of the source line at `at.line`, for the rendered snippet.
    pub source_line: Option<String>,
    /// How many characters to underline from `at.column` (at least 1).
    pub width: usize,
}

impl Diagnostic {
    /// A diagnostic without a source snippet (for file-level problems).
    pub fn new(at: Location, message: impl Into<String>) -> Self {
        Self {
            at,
            message: message.into(),
            hint: None,
            source_line: None,
            width: 1,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the source line and the underline width.
    pub fn with_source(mut self, line: impl Into<String>, width: usize) -> Self {
        self.source_line = Some(line.into());
        self.width = width.max(1);
        self
    }
}

/// Sorts diagnostics by file and position, keeping the order of those at the
/// same place.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| a.at.cmp(&b.at));
}
