//! A causal trace of EC2 calls, to measure how sequential a run is.
//!
//! With `EC2_GITOPS_CALL_TRACE=FILE`, every EC2 call is written to FILE as
//! one line of JSON when it is sent: its number, its action, whether it is a
//! poll of a wait, what it is for, and `after`: the earlier calls whose
//! answers the code that sends it had awaited. The apply benchmark reads
//! the file for the longest chain of calls each of which waited for the one
//! before. A chain read off timestamps also links two calls sent together
//! when EC2 answers the first before the second leaves; this one does not.
//!
//! The code follows each path of work. A command is one path ([`root`]).
//! Each arm of a `join!` is a [`branch`]: it starts where its parent was and
//! hands back what it awaited when it ends. Each step of an apply is a
//! [`path`] of its own that starts after the steps it needs. Work handed to
//! another path (a shared poll, a read made once) carries its [`Frontier`]
//! along. A spawned task starts with nothing awaited.
//!
//! Without the variable nothing is recorded, and a path costs a look at a
//! flag and the box of its work.

use std::cell::RefCell;
use std::fs::File;
use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The variable naming the file the trace is written to.
pub const VARIABLE: &str = "EC2_GITOPS_CALL_TRACE";

/// The calls whose answers a path has awaited: the last of each line of
/// calls (an earlier one is implied by a later one's `after`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier(Vec<u64>);

impl Frontier {
    /// Adds what `other` awaited.
    pub fn join(&mut self, other: &Frontier) {
        self.0.extend_from_slice(&other.0);
        self.0.sort_unstable();
        self.0.dedup();
    }

    /// After `call` was answered: it stands for what it was sent after.
    fn answered(&mut self, call: u64, sent_after: &Frontier) {
        self.0.retain(|c| !sent_after.0.contains(c));
        self.0.push(call);
        self.0.sort_unstable();
    }

    /// The call numbers.
    pub fn calls(&self) -> &[u64] {
        &self.0
    }
}

/// One path of work.
struct Path {
    awaited: Frontier,
    /// Its calls poll a wait.
    poll: bool,
    purpose: Arc<str>,
}

tokio::task_local! {
    static PATH: RefCell<Path>;
}

struct Sink {
    file: Mutex<File>,
    next: AtomicU64,
}

/// The trace file, when the variable names one it can create.
fn sink() -> Option<&'static Sink> {
    static SINK: OnceLock<Option<Sink>> = OnceLock::new();
    SINK.get_or_init(|| {
        let path = std::env::var_os(VARIABLE)?;
        match File::create(&path) {
            Ok(file) => Some(Sink {
                file: Mutex::new(file),
                next: AtomicU64::new(1),
            }),
            Err(e) => {
                tracing::warn!(file = %path.to_string_lossy(), error = %e, "cannot write the call trace");
                None
            }
        }
    })
    .as_ref()
}

/// Whether calls are being traced.
pub fn enabled() -> bool {
    sink().is_some()
}

// Each wrapper boxes `work` before it wraps it: a debug build gives every
// copy of a future a slot in the frame that moves it, and the futures
// wrapped here (a plan's reads, a step) are large.

/// Runs `work` as a new path that starts after `after`; returns its output
/// and what it awaited.
pub fn path<'a, F: Future + 'a>(
    purpose: impl Into<Arc<str>>,
    after: Frontier,
    work: F,
) -> impl Future<Output = (F::Output, Frontier)> + 'a {
    let purpose = purpose.into();
    let work = Box::pin(work);
    async move {
        if !enabled() {
            return (work.await, Frontier::default());
        }
        let path = Path {
            awaited: after,
            poll: false,
            purpose,
        };
        PATH.scope(RefCell::new(path), async {
            let out = work.await;
            (out, current())
        })
        .await
    }
}

/// Runs a whole command as one path.
pub async fn root<F: Future>(purpose: &str, work: F) -> F::Output {
    path(purpose, Frontier::default(), work).await.0
}

/// Runs `work` as an arm of a `join!` in the current path: it starts with
/// what the path awaited, and what it awaits joins the path's when it ends.
pub fn branch<'a, F: Future + 'a>(work: F) -> impl Future<Output = F::Output> + 'a {
    fork(false, None, Box::pin(work))
}

/// Like [`branch`], for the polls of a wait.
pub fn polling<'a, F: Future + 'a>(work: F) -> impl Future<Output = F::Output> + 'a {
    fork(true, None, Box::pin(work))
}

/// Like [`branch`], for a part of the path with a purpose of its own (the
/// plan's reads, the lease).
pub fn part<'a, F: Future + 'a>(purpose: &str, work: F) -> impl Future<Output = F::Output> + 'a {
    fork(false, Some(Arc::from(purpose)), Box::pin(work))
}

async fn fork<F: Future>(poll: bool, purpose: Option<Arc<str>>, work: Pin<Box<F>>) -> F::Output {
    let Some(parent) = PATH
        .try_with(|p| {
            let p = p.borrow();
            Path {
                awaited: p.awaited.clone(),
                poll: poll || p.poll,
                purpose: purpose.clone().unwrap_or_else(|| p.purpose.clone()),
            }
        })
        .ok()
    else {
        return work.await;
    };
    let started_after = parent.awaited.clone();
    let (out, awaited) = PATH
        .scope(RefCell::new(parent), async {
            let out = work.await;
            (out, current())
        })
        .await;
    // What the fork awaited stands for what it started after.
    let _ = PATH.try_with(|p| {
        let mut p = p.borrow_mut();
        p.awaited.0.retain(|c| !started_after.0.contains(c));
        p.awaited.join(&awaited);
    });
    out
}

/// What the current path has awaited (nothing outside a path).
pub fn current() -> Frontier {
    PATH.try_with(|p| p.borrow().awaited.clone())
        .unwrap_or_default()
}

/// Adds to the current path what another path awaited: work it waited for.
pub fn merge(other: &Frontier) {
    let _ = PATH.try_with(|p| p.borrow_mut().awaited.join(other));
}

/// A call that was sent, to be marked answered.
pub(crate) struct Sent {
    call: u64,
    after: Frontier,
}

/// Records a call as it is sent; `None` when not tracing.
pub(crate) fn sent(action: &str) -> Option<Sent> {
    let sink = sink()?;
    let (after, poll, purpose) = PATH
        .try_with(|p| {
            let p = p.borrow();
            (p.awaited.clone(), p.poll, p.purpose.clone())
        })
        .unwrap_or_else(|_| (Frontier::default(), false, Arc::from("outside any path")));
    let call = sink.next.fetch_add(1, Ordering::Relaxed);
    let line = serde_json::json!({
        "call": call,
        "action": action,
        "poll": poll,
        "purpose": &*purpose,
        "after": after.0,
    });
    if let Ok(mut file) = sink.file.lock() {
        // One write per line: a killed run leaves whole lines.
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
    Some(Sent { call, after })
}

impl Sent {
    /// The call was answered (or failed): the path awaited it.
    pub(crate) fn answered(self) {
        let _ = PATH.try_with(|p| p.borrow_mut().awaited.answered(self.call, &self.after));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_stands_for_what_its_call_was_sent_after() {
        let mut f = Frontier(vec![3]);
        // Two calls sent together after 3, answered one after the other.
        f.answered(4, &Frontier(vec![3]));
        f.answered(5, &Frontier(vec![3]));
        assert_eq!(f, Frontier(vec![4, 5]));
        // The next call is sent after both; its answer stands for them.
        f.answered(6, &Frontier(vec![4, 5]));
        assert_eq!(f, Frontier(vec![6]));
    }

    #[test]
    fn joining_keeps_each_call_once_in_order() {
        let mut f = Frontier(vec![2, 7]);
        f.join(&Frontier(vec![7, 1]));
        assert_eq!(f.calls(), &[1, 2, 7]);
    }
}
