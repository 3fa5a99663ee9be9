//! The handle on a running fake: starting its server, and the checks made
//! when the last handle drops (what the bot wrote renders well on GitHub,
//! nothing unexpected was asked).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;

use super::gfm;
use super::openapi::examples;
use super::server::handle;
use super::state::Inner;

/// A handle on a running fake; clones share it. Dropping the last one stops
/// the server and panics if an unexpected request was recorded.
#[derive(Clone)]
pub struct FakeGitHub {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Arc<Mutex<Inner>>,
    url: String,
    shutdown: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(tx) = self
            .shutdown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = tx.send(());
        }
        if std::thread::panicking() {
            return;
        }
        let (unexpected, written, literal) = {
            let inner = lock(&self.inner);
            (
                inner.unexpected.clone(),
                inner.written.clone(),
                inner.literal_markup,
            )
        };
        let mut rendering = Vec::new();
        for (request, body) in &written {
            let problems = if literal {
                gfm::structure_problems(body)
            } else {
                gfm::problems(body)
            };
            if !problems.is_empty() {
                rendering.push(format!("{request}: {problems:?}\n{body}"));
            }
        }
        if !rendering.is_empty() {
            panic!(
                "GitHub's Markdown engine (cmark-gfm) renders {} body the bot wrote badly:\n{}",
                rendering.len(),
                rendering.join("\n\n")
            );
        }
        if !unexpected.is_empty() {
            panic!(
                "the GitHub fake got {} unexpected request(s):\n  {}\n(a test that expects one takes it with FakeGitHub::take_unexpected)",
                unexpected.len(),
                unexpected.join("\n  ")
            );
        }
    }
}

pub(super) fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A panic elsewhere must not hide what the fake recorded.
    inner.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeGitHub {
    /// Starts a fake on a free loopback port, with no repository yet.
    pub fn start() -> Self {
        // Parse the OpenAPI description before the first request, not inside it.
        let _ = examples();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Mutex::new(Inner::new(url.clone())));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        std::thread::Builder::new()
            .name("github-fake".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("github fake runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    let shutdown = async move {
                        let _ = rx.await;
                    };
                    // Kept-alive client connections must not keep the thread
                    // alive past the test: stop at once, not gracefully.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = shutdown => {}
                    }
                });
            })
            .expect("spawn github fake");
        Self {
            shared: Arc::new(Shared {
                inner,
                url,
                shutdown: Mutex::new(Some(tx)),
            }),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash): `GITHUB_API_URL`.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    pub(super) fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.shared.inner)
    }

    /// Says that this test writes hostile values on purpose: the bodies the
    /// bot wrote are checked for structure only (an escaped value may show
    /// `**` or a backtick as text).
    pub fn allow_literal_markup(&self) {
        self.inner().literal_markup = true;
    }

    /// Panics when GitHub's engine renders `md` (a job summary, say) badly,
    /// as [`Shared`]'s drop does for what the bot wrote to the fake.
    pub fn check_rendered(&self, what: &str, md: &str) {
        if md.is_empty() {
            return;
        }
        let problems = if self.inner().literal_markup {
            gfm::structure_problems(md)
        } else {
            gfm::problems(md)
        };
        assert!(
            problems.is_empty(),
            "GitHub's Markdown engine (cmark-gfm) renders the {what} badly: {problems:#?}\n{md}"
        );
    }

    /// Forgets the requests recorded so far (state and unexpected ones stay).
    pub fn clear_requests(&self) {
        self.inner().requests.clear();
    }

    /// What the fake refused on its own (each with its reason), in order.
    pub fn unexpected(&self) -> Vec<String> {
        self.inner().unexpected.clone()
    }

    /// Returns and forgets the unexpected requests, for a test that provokes them.
    pub fn take_unexpected(&self) -> Vec<String> {
        std::mem::take(&mut self.inner().unexpected)
    }
}
