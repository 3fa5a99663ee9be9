//! The running proxy a test holds: starting it, installing hooks, and
//! reading what it recorded.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use super::answers::{Hook, Response};
use super::calls::Request;
use super::serve::serve;

/// A running recording proxy; stops when dropped.
pub struct Ec2Proxy {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub(super) struct State {
    pub(super) upstream: String,
    pub(super) seq: AtomicU64,
    pub(super) log: Mutex<Vec<Request>>,
    pub(super) hook: Mutex<Option<Arc<Hook>>>,
    pub(super) epoch: std::time::Instant,
    /// `Some` when EC2's ClientToken idempotency is emulated: (action,
    /// token) → the parameters and the successful answer of the first call.
    pub(super) tokens: Mutex<Option<TokenCache>>,
    /// Held while a create-by-unique-name call is at the upstream: moto
    /// checks the name and inserts without a lock, so two concurrent
    /// CreateKeyPair calls of one name can both succeed there; EC2 refuses
    /// the second (`InvalidKeyPair.Duplicate`), and so does moto, one at a time.
    pub(super) unique_names: tokio::sync::Mutex<()>,
}

pub(super) type TokenCache = BTreeMap<(String, String), (Vec<(String, String)>, Answer)>;

pub(super) type Answer = (u16, Vec<(String, String)>, Bytes);

impl Ec2Proxy {
    /// Starts a proxy on a free 127.0.0.1 port forwarding to `upstream`
    /// (`http://127.0.0.1:PORT`, as `Moto::endpoint` gives).
    pub fn start(upstream: &str) -> Ec2Proxy {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("bind the EC2 proxy to a loopback port");
        listener
            .set_nonblocking(true)
            .expect("make the proxy listener non-blocking");
        let addr = listener.local_addr().expect("proxy listener address");
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            seq: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            hook: Mutex::new(None),
            epoch: std::time::Instant::now(),
            tokens: Mutex::new(None),
            unique_names: tokio::sync::Mutex::new(()),
        });
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("ec2-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("build the proxy's runtime");
                runtime.block_on(serve(listener, thread_state, shutdown_rx));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("spawn the proxy thread");
        Ec2Proxy {
            addr,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The base URL to give an AWS client instead of moto's.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Installs `hook`, replacing any previous one. It sees every request
    /// before the upstream does; keep state in it with atomics or a mutex.
    pub fn set_hook(&self, hook: impl Fn(&Request) -> Option<Response> + Send + Sync + 'static) {
        *self.state.hook.lock().unwrap() = Some(Arc::new(hook));
    }

    /// Emulates EC2's `ClientToken` idempotency, which moto lacks: a request
    /// whose action and token were answered successfully before gets that
    /// same answer without reaching moto; the same token with other
    /// parameters gets `IdempotentParameterMismatch`.
    pub fn emulate_client_tokens(&self) {
        let mut tokens = self.state.tokens.lock().unwrap();
        if tokens.is_none() {
            *tokens = Some(BTreeMap::new());
        }
    }

    /// Removes the hook: every request goes to the upstream again.
    pub fn clear_hook(&self) {
        *self.state.hook.lock().unwrap() = None;
    }

    /// Every request recorded so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.log.lock().unwrap().clone()
    }

    /// The recorded requests for one action.
    pub fn requests_for(&self, action: &str) -> Vec<Request> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.action == action)
            .cloned()
            .collect()
    }

    /// The longest chain of requests each of which started after the
    /// previous one had finished: the round trips a run waits for one after
    /// another, whatever the concurrency.
    pub fn longest_sequential_chain(&self) -> usize {
        longest_chain(&self.requests())
    }

    /// The recorded actions, in arrival order.
    pub fn actions(&self) -> Vec<String> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.action.clone())
            .collect()
    }

    /// How many requests for `action` were recorded.
    pub fn count(&self, action: &str) -> usize {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.action == action)
            .count()
    }

    /// Request counts by action.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for request in self.state.log.lock().unwrap().iter() {
            *counts.entry(request.action.clone()).or_default() += 1;
        }
        counts
    }

    /// How many requests were recorded in all.
    pub fn total(&self) -> usize {
        self.state.log.lock().unwrap().len()
    }

    /// Forgets the recorded requests (the hook stays), e.g. after a test's
    /// setup so that only the calls under test are counted.
    pub fn clear(&self) {
        self.state.log.lock().unwrap().clear();
    }
}

impl Drop for Ec2Proxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for Ec2Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ec2Proxy")
            .field("addr", &self.addr)
            .field("upstream", &self.state.upstream)
            .field("counts", &self.counts())
            .finish()
    }
}

/// The longest chain of requests each starting after the previous finished.
fn longest_chain(requests: &[Request]) -> usize {
    let mut by_end: Vec<&Request> = requests.iter().collect();
    by_end.sort_by_key(|r| r.finished);
    // chain[i]: the longest chain ending with by_end[i].
    let mut chain: Vec<usize> = Vec::with_capacity(by_end.len());
    for (i, r) in by_end.iter().enumerate() {
        let best = (0..i)
            .filter(|&j| by_end[j].finished <= r.started)
            .map(|j| chain[j])
            .max()
            .unwrap_or(0);
        chain.push(best + 1);
    }
    chain.into_iter().max().unwrap_or(0)
}
