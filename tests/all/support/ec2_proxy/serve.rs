//! Serving: every request on a connection recorded, then answered by the
//! hook or forwarded to the upstream (through the ClientToken cache when
//! it is on, one create-by-unique-name call at a time).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};

use super::answers::{Fault, Response};
use super::calls::{Outcome, Request};
use super::handle::{Answer, State, TokenCache};
use super::wire::{Incoming, read_request, write_response};

type UpstreamClient = Client<HttpConnector, Full<Bytes>>;

pub(super) async fn serve(
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

async fn handle(state: &State, client: &UpstreamClient, incoming: Incoming) -> Option<Answer> {
    let params = form_params(&incoming);
    // The Query API (EC2, ELB) names the action in the form; a JSON API
    // (the tagging API's `GetResources`) in `X-Amz-Target: Service.Action`.
    let target = incoming
        .headers
        .iter()
        .find(|(k, _)| k == "x-amz-target")
        .and_then(|(_, v)| v.rsplit('.').next())
        .map(str::to_string);
    let action = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
        .or(target)
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
    if (200..300).contains(&answer.0) {
        // Where moto holds less than EC2 would after this call.
        for params in super::profiles::corrections(request, &answer.2) {
            let fix = super::profiles::with_params(request, &params);
            let _ = forward(&state.upstream, client, &fix).await;
        }
    }
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
