//! What a run of the action works with: its environment, the GitHub client,
//! the checkout, and the little state a run keeps (the replies it posted,
//! whether GitHub refused check runs). Handlers and steps take it as an
//! argument; nothing here decides anything.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::env::{ActionEnv, Inputs};
use crate::github::GitHub;
use crate::workspace::{self, Loaded, Overlay};

/// A run's services.
pub struct Services<'a> {
    /// The runner's environment and the action's inputs.
    pub env: &'a ActionEnv,
    /// GitHub.
    pub gh: &'a GitHub,
    /// The repository's files (`GITHUB_WORKSPACE`): nothing outside is read.
    pub root: workspace::Root,
    /// The checkout's directory (the same place).
    pub checkout: PathBuf,
    /// Replies posted so far in this run (each reply's marker is unique).
    replies: AtomicU32,
    /// The comment whose commands this run answers (0: none).
    replying_to: AtomicU64,
    /// GitHub refused a check run (a token without `checks: write`): the
    /// rest of the run sets commit statuses.
    checks_refused: AtomicBool,
}

impl<'a> Services<'a> {
    /// The services of a run; `statuses_only` when check runs are known to
    /// be refused from the start (a user's token).
    pub fn new(
        env: &'a ActionEnv,
        gh: &'a GitHub,
        root: workspace::Root,
        checkout: PathBuf,
        statuses_only: bool,
    ) -> Self {
        Services {
            env,
            gh,
            root,
            checkout,
            replies: AtomicU32::new(0),
            replying_to: AtomicU64::new(0),
            checks_refused: AtomicBool::new(statuses_only),
        }
    }

    /// The action's inputs.
    pub fn inputs(&self) -> &Inputs {
        &self.env.inputs
    }

    /// The checkout's stack files.
    pub fn load(&self) -> Loaded {
        self.load_via(&Overlay::within(self.root.clone()))
    }

    /// The stack files of the checkout with `overlay`'s versions over it:
    /// the repository's stacks are all there are.
    pub fn load_via(&self, overlay: &Overlay) -> Loaded {
        let files = overlay.stack_files(&self.env.inputs.config);
        workspace::load_stacks(overlay, &files, Some(&Default::default()))
    }

    /// The comment whose commands this run answers from now on.
    pub fn answer(&self, comment_id: u64) {
        self.replying_to.store(comment_id, Ordering::Relaxed);
    }

    /// The comment being answered (0: none).
    pub fn answering(&self) -> u64 {
        self.replying_to.load(Ordering::Relaxed)
    }

    /// The sequence number of the next reply.
    pub fn next_reply(&self) -> u32 {
        self.replies.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether GitHub refused a check run in this run.
    pub fn checks_refused(&self) -> bool {
        self.checks_refused.load(Ordering::Relaxed)
    }

    /// GitHub refused a check run: statuses from now on.
    pub fn refuse_checks(&self) {
        self.checks_refused.store(true, Ordering::Relaxed);
    }
}
