//! A recording HTTP proxy in front of moto.
//!
//! Every request is parsed as an EC2 Query API call (`Action=…&…`, form body
//! or query string), recorded, and forwarded to the upstream emulator — unless
//! a hook installed by the test answers it instead. Tests use it to count API
//! calls ("a plan makes exactly one DescribeInstances") and to supply the real
//! EC2 behaviour moto lacks (`DependencyViolation`, throttling, …).
//!
//! ```ignore
//! let proxy = Ec2Proxy::start(&moto.endpoint());
//! proxy.set_hook(|req| (req.action == "DeleteSecurityGroup")
//!     .then(|| Response::ec2_error(400, "DependencyViolation", "resource sg-1 has a dependent object")));
//! // … point the client at proxy.endpoint() …
//! assert_eq!(proxy.count("DescribeInstances"), 1);
//! ```
//!
//! Self-contained (no other test module, no aws-sdk) so a benchmark can
//! include it with `#[path = "../tests/all/support/ec2_proxy.rs"] mod ec2_proxy;`.
//! It runs on its own thread and Tokio runtime, so it works from sync tests,
//! `#[tokio::test]` of either flavour, and benchmarks alike.

#![allow(dead_code)] // each test uses a different part of the API

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head (request line and headers) the proxy accepts.
const MAX_HEAD: usize = 64 * 1024;

/// One EC2 API call as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Request {
    /// Position in arrival order, from 0.
    pub seq: u64,
    /// HTTP method (`POST` for every aws-sdk call).
    pub method: String,
    /// Path and query as sent (`/` for the EC2 Query API).
    pub path: String,
    /// HTTP headers, names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The `Action` parameter (`DescribeInstances`), or `""` when absent.
    pub action: String,
    /// Every form parameter (query string, then body), decoded, in order.
    pub params: Vec<(String, String)>,
    /// The raw request body.
    pub body: Bytes,
    /// True when a hook answered instead of the upstream emulator.
    pub answered_by_hook: bool,
    /// What the client got: `Answered`, or a fault (reset, lost answer).
    pub outcome: Outcome,
    /// When the request arrived, since the proxy started.
    pub started: Duration,
    /// When the answer was sent (or the connection dropped), since the proxy started.
    pub finished: Duration,
}

/// What became of a request, as the client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer (from the upstream, a hook, or the token cache).
    Answered,
    /// The connection was reset before the request reached the upstream.
    Reset,
    /// The upstream handled the request; its answer was dropped.
    Lost,
    /// Answered from the ClientToken cache without reaching the upstream.
    Replayed,
}

impl Request {
    /// The first value of form parameter `name` (`"InstanceId.1"`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The values of a numbered list parameter, in order: `"InstanceId"`
    /// gives the values of `InstanceId.1`, `InstanceId.2`, …
    pub fn param_list(&self, prefix: &str) -> Vec<&str> {
        (1..)
            .map_while(|i| self.param(&format!("{prefix}.{i}")))
            .collect()
    }

    /// Every parameter whose name starts with `prefix` (`"Filter."`).
    pub fn params_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.params
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer a hook gives instead of the upstream emulator, or a fault.
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Extra headers (Content-Length is added by the proxy).
    pub headers: Vec<(String, String)>,
    /// The body, usually EC2's XML.
    pub body: Bytes,
    /// A fault instead of this answer (see the constructors).
    pub fault: Option<Fault>,
}

/// Faults a hook can inject instead of answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without answering; the upstream never sees it.
    Reset,
    /// Forward to the upstream, then close the connection instead of
    /// answering: the change happened, the client does not know.
    Lose,
    /// Wait, then forward as usual.
    Delay(Duration),
}

impl Response {
    /// A response with `status`, an XML content type and `body`.
    pub fn xml(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "text/xml;charset=UTF-8".into())],
            body: Bytes::from(body.into()),
            fault: None,
        }
    }

    fn faulty(fault: Fault) -> Response {
        Response {
            status: 0,
            headers: Vec::new(),
            body: Bytes::new(),
            fault: Some(fault),
        }
    }

    /// A connection reset before the request reaches the upstream.
    pub fn reset() -> Response {
        Response::faulty(Fault::Reset)
    }

    /// The request reaches the upstream; its answer is lost (connection reset).
    pub fn lost() -> Response {
        Response::faulty(Fault::Lose)
    }

    /// The request is forwarded after `by`.
    pub fn delayed(by: Duration) -> Response {
        Response::faulty(Fault::Delay(by))
    }

    /// An error in EC2's own format, as the SDK parses it:
    /// `Response::ec2_error(400, "DependencyViolation", "resource sg-1 has a dependent object")`.
    pub fn ec2_error(status: u16, code: &str, message: &str) -> Response {
        let request_id = next_request_id();
        Response::xml(
            status,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                 <Code>{}</Code><Message>{}</Message></Error></Errors>\
                 <RequestID>{request_id}</RequestID></Response>",
                xml_escape(code),
                xml_escape(message)
            ),
        )
    }

    /// EC2's throttling answer: 503 `RequestLimitExceeded`.
    pub fn throttled() -> Response {
        Response::ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.")
    }
}

/// Decides whether to answer a request itself (`Some`) or let the upstream
/// emulator answer (`None`).
pub type Hook = dyn Fn(&Request) -> Option<Response> + Send + Sync;

/// A running recording proxy; stops when dropped.
pub struct Ec2Proxy {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct State {
    upstream: String,
    seq: AtomicU64,
    log: Mutex<Vec<Request>>,
    hook: Mutex<Option<Arc<Hook>>>,
    epoch: std::time::Instant,
    /// `Some` when EC2's ClientToken idempotency is emulated: (action,
    /// token) → the parameters and the successful answer of the first call.
    tokens: Mutex<Option<TokenCache>>,
    /// Held while a create-by-unique-name call is at the upstream: moto
    /// checks the name and inserts without a lock, so two concurrent
    /// CreateKeyPair calls of one name can both succeed there; EC2 refuses
    /// the second (`InvalidKeyPair.Duplicate`), and so does moto, one at a time.
    unique_names: tokio::sync::Mutex<()>,
}

type TokenCache = BTreeMap<(String, String), (Vec<(String, String)>, Answer)>;

type Answer = (u16, Vec<(String, String)>, Bytes);

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

type UpstreamClient = Client<HttpConnector, Full<Bytes>>;

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).expect("register the proxy listener");
    let client: UpstreamClient = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build_http();
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, state.clone(), client.clone()));
            }
        }
    }
}

/// One client connection: HTTP/1.1 requests one after another (keep-alive).
async fn connection(stream: TcpStream, state: Arc<State>, client: UpstreamClient) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let incoming = match read_request(&mut reader, &mut write).await {
            Ok(Some(incoming)) => incoming,
            Ok(None) => return,
            Err(error) => {
                let body = format!("ec2-proxy: bad request: {error}");
                let _ = write_response(&mut write, 400, &[], body.as_bytes(), false).await;
                return;
            }
        };
        let keep_alive = incoming.keep_alive;
        let Some((status, headers, body)) = handle(&state, &client, incoming).await else {
            // A reset: drop the connection with no answer (SO_LINGER 0 would
            // send RST; a plain close is what the SDK sees as a dropped
            // connection all the same).
            return;
        };
        if write_response(&mut write, status, &headers, &body, keep_alive)
            .await
            .is_err()
            || !keep_alive
        {
            return;
        }
    }
}

struct Incoming {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
    keep_alive: bool,
}

async fn handle(state: &State, client: &UpstreamClient, incoming: Incoming) -> Option<Answer> {
    let params = form_params(&incoming);
    let action = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut request = Request {
        seq: state.seq.fetch_add(1, Ordering::SeqCst),
        method: incoming.method,
        path: incoming.path,
        headers: incoming.headers,
        action,
        params,
        body: incoming.body,
        answered_by_hook: false,
        outcome: Outcome::Answered,
        started: state.epoch.elapsed(),
        finished: Duration::ZERO,
    };
    let hook = state.hook.lock().unwrap().clone();
    let hooked = hook.and_then(|hook| hook(&request));
    let answer = match hooked {
        Some(Response {
            fault: Some(Fault::Reset),
            ..
        }) => {
            request.outcome = Outcome::Reset;
            None
        }
        Some(Response {
            fault: Some(Fault::Lose),
            ..
        }) => {
            let _ = forward_once(state, client, &request).await;
            request.outcome = Outcome::Lost;
            None
        }
        Some(Response {
            fault: Some(Fault::Delay(by)),
            ..
        }) => {
            tokio::time::sleep(by).await;
            let (answer, replayed) = forward_once(state, client, &request).await;
            if replayed {
                request.outcome = Outcome::Replayed;
            }
            Some(answer)
        }
        Some(response) => {
            request.answered_by_hook = true;
            Some((response.status, response.headers, response.body))
        }
        None => {
            let (answer, replayed) = forward_once(state, client, &request).await;
            if replayed {
                request.outcome = Outcome::Replayed;
            }
            Some(answer)
        }
    };
    request.finished = state.epoch.elapsed();
    state.log.lock().unwrap().push(request);
    answer
}

/// Forwards, unless the ClientToken cache (when on) already holds the
/// answer; `true` when answered from the cache.
async fn forward_once(state: &State, client: &UpstreamClient, request: &Request) -> (Answer, bool) {
    let token = request
        .param("ClientToken")
        .filter(|t| !t.is_empty())
        .map(|t| (request.action.clone(), t.to_string()));
    let cached = |tokens: &TokenCache, key: &(String, String)| {
        tokens.get(key).map(|(params, answer)| {
            if same_call(params, &request.params) {
                answer.clone()
            } else {
                let r = Response::ec2_error(
                    400,
                    "IdempotentParameterMismatch",
                    "The client token you have provided is associated with a request with different parameters.",
                );
                (r.status, r.headers, r.body)
            }
        })
    };
    if let Some(key) = &token
        && let Some(tokens) = state.tokens.lock().unwrap().as_ref()
        && let Some(answer) = cached(tokens, key)
    {
        return (answer, true);
    }
    let by_name = matches!(
        request.action.as_str(),
        "CreateKeyPair" | "ImportKeyPair" | "CreateSecurityGroup"
    );
    let answer = if by_name {
        let _one_at_a_time = state.unique_names.lock().await;
        forward(&state.upstream, client, request).await
    } else {
        forward(&state.upstream, client, request).await
    };
    if let Some(key) = token
        && (200..300).contains(&answer.0)
        && let Some(tokens) = state.tokens.lock().unwrap().as_mut()
    {
        // Two calls with one token racing: the first answer stays.
        tokens
            .entry(key)
            .or_insert_with(|| (request.params.clone(), answer.clone()));
    }
    (answer, false)
}

/// The same parameters, in any order.
fn same_call(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let sorted = |p: &[(String, String)]| {
        let mut v = p.to_vec();
        v.sort();
        v
    };
    sorted(a) == sorted(b)
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

async fn forward(upstream: &str, client: &UpstreamClient, request: &Request) -> Answer {
    let uri = format!("{upstream}{}", request.path);
    let mut builder = http::Request::builder()
        .method(request.method.as_str())
        .uri(&uri);
    for (name, value) in &request.headers {
        if !is_hop_by_hop(name) && name != "host" && name != "content-length" {
            builder = builder.header(name, value);
        }
    }
    let upstream_request = match builder.body(Full::new(request.body.clone())) {
        Ok(r) => r,
        Err(e) => return proxy_error(format!("cannot build the upstream request: {e}")),
    };
    let response = match client.request(upstream_request).await {
        Ok(r) => r,
        Err(e) => return proxy_error(format!("upstream {upstream} failed: {e}")),
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| !is_hop_by_hop(name.as_str()) && *name != "content-length")
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    match response.into_body().collect().await {
        Ok(body) => (status, headers, body.to_bytes()),
        Err(e) => proxy_error(format!("reading the upstream body failed: {e}")),
    }
}

fn proxy_error(message: String) -> Answer {
    let response = Response::ec2_error(502, "Ec2ProxyUpstreamError", &message);
    (response.status, response.headers, response.body)
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "expect"
    )
}

/// The query string's parameters, then the form body's.
fn form_params(incoming: &Incoming) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = match incoming.path.split_once('?') {
        Some((_, query)) => form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        None => Vec::new(),
    };
    let content_type = incoming
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    // The SDK always sends form bodies; accept a missing content type too.
    if content_type.is_empty() || content_type.starts_with("application/x-www-form-urlencoded") {
        params.extend(form_urlencoded::parse(&incoming.body).into_owned());
    }
    params
}

/// Reads one request; `None` when the client closed the connection cleanly.
/// `write` is for the interim `100 Continue` a client may wait for.
async fn read_request<R, W>(
    reader: &mut BufReader<R>,
    write: &mut W,
) -> std::io::Result<Option<Incoming>>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let read = reader.read_until(b'\n', &mut head).await?;
        if read == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(invalid("connection closed inside the request head"))
            };
        }
        if head.len() > MAX_HEAD {
            return Err(invalid("request head too large"));
        }
        // A blank line (after at least the request line) ends the head.
        let line = &head[before..];
        if (line == b"\r\n" || line == b"\n") && before > 0 {
            break;
        }
        if (line == b"\r\n" || line == b"\n") && before == 0 {
            // Tolerate stray blank lines between requests.
            head.clear();
        }
    }

    let mut header_slots = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Request::new(&mut header_slots);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(invalid("incomplete request head")),
        Err(e) => return Err(invalid(&format!("malformed request head: {e}"))),
    }
    let method = parsed.method.unwrap_or("GET").to_owned();
    let path = parsed.path.unwrap_or("/").to_owned();
    let http10 = parsed.version == Some(0);
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let connection = header("connection").unwrap_or_default();
    let keep_alive = if http10 {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    if header("expect").is_some_and(|v| v.contains("100-continue")) {
        write.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        write.flush().await?;
    }

    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(reader).await?
    } else {
        let length = match header("content-length") {
            Some(value) => value
                .trim()
                .parse::<usize>()
                .map_err(|_| invalid("bad Content-Length"))?,
            None => 0,
        };
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        body
    };

    Ok(Some(Incoming {
        method,
        path,
        headers,
        body: Bytes::from(body),
        keep_alive,
    }))
}

async fn read_chunked<R>(reader: &mut BufReader<R>) -> std::io::Result<Vec<u8>>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).await?;
        line.clear();
        reader.read_line(&mut line).await?; // the CRLF after the chunk
    }
}

async fn write_response<W>(
    write: &mut W,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    keep_alive: bool,
) -> std::io::Result<()>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n", body.len()));
    if !keep_alive {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    write.write_all(head.as_bytes()).await?;
    write.write_all(body).await?;
    write.flush().await
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_owned())
}

fn next_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
