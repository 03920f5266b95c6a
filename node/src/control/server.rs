//! The control API server: proves the node to the CLI, authenticates requests, hands commands to
//! the event loop.
//!
//! Bounds: at most [`CONNECTIONS_MAX`] connections at once (more are closed on accept); a
//! connection that has not sent a request's headers within [`HEADER_TIMEOUT`] — a new one, or an
//! idle keep-alive one — is closed; the token is checked on the headers, before a byte of a body
//! is read; bodies are at most [`REQUEST_BYTES_MAX`] and must arrive within [`BODY_TIMEOUT`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hallsync_model::DeviceKey;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::console::{self, ConsoleState};
use crate::control::outcomes::{self, Outcomes, Slot, KEY_CHARS_MAX};
use crate::control::proof::{self, Challenge};
use crate::engine::Command;
use crate::error::NodeError;

/// Largest request body accepted, in bytes (import bundles are the largest).
pub const REQUEST_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Largest hello body, in bytes.
const HELLO_BYTES_MAX: usize = 1024;

/// Most control connections open at once: local clients are a few CLIs and a console.
pub const CONNECTIONS_MAX: usize = 64;

/// How long a connection may take to send a request's headers (also the keep-alive idle time).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request's body may take to arrive.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(120);

/// The header that carries a command's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A command on its way to the event loop, with where to send the answer.
pub type CommandRequest = (Command, oneshot::Sender<Result<Value, String>>);

#[derive(Clone)]
struct Ctl {
    token: Arc<String>,
    key: Arc<DeviceKey>,
    addr: String,
    commands: mpsc::Sender<CommandRequest>,
    outcomes: Arc<Outcomes>,
    console: ConsoleState,
}

/// A started control server.
pub struct ControlServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Where the console is served (the same address unless `[console] listen` names another).
    pub console_addr: SocketAddr,
    /// Stops it (and the console's listener, when it has its own).
    pub stop: oneshot::Sender<()>,
}

impl ControlServer {
    /// Binds `listen` (which config validation keeps on loopback) and serves until `stop`,
    /// proving itself with `key`.
    ///
    /// # Errors
    /// [`NodeError::Network`] when the address cannot be bound.
    pub async fn start(
        listen: &str,
        console: &hallsync_config::ConsoleSection,
        token: String,
        key: DeviceKey,
        commands: mpsc::Sender<CommandRequest>,
    ) -> Result<ControlServer, NodeError> {
        let bind = |listen: String, what: &'static str| async move {
            let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| {
                NodeError::Network(format!("{what} cannot listen on {listen}: {e}"))
            })?;
            let addr = listener
                .local_addr()
                .map_err(|e| NodeError::Network(e.to_string()))?;
            Ok::<_, NodeError>((listener, addr))
        };
        let (listener, addr) = bind(listen.to_string(), "control API").await?;
        let own_console = if console.listen.is_empty() {
            None
        } else {
            Some(bind(console.listen.clone(), "console").await?)
        };
        let console_addr = own_console.as_ref().map_or(addr, |(_, a)| *a);
        let console_state = ConsoleState::new(
            console_addr,
            commands.clone(),
            ConsoleState::limits_of(console),
        );
        let ctl = Ctl {
            token: Arc::new(token),
            key: Arc::new(key),
            addr: addr.to_string(),
            commands,
            outcomes: Arc::new(Outcomes::default()),
            console: console_state.clone(),
        };
        let app = Router::new()
            .route("/api/command", post(handle))
            .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BYTES_MAX))
            // Outermost: the token is checked on the headers, before any byte of a body is read.
            .route_layer(middleware::from_fn_with_state(ctl.clone(), authorize))
            // Added after the token layer, so not under it: the proof comes before the token.
            .route("/api/hello", post(hello))
            .with_state(ctl);
        let (stop, stopped) = oneshot::channel::<()>();
        match own_console {
            None => {
                let app = app.merge(console::router(console_state));
                tokio::spawn(serve(listener, app, stopped));
            }
            Some((console_listener, _)) => {
                let (stop_control, control_stopped) = oneshot::channel::<()>();
                let (stop_console, console_stopped) = oneshot::channel::<()>();
                tokio::spawn(serve(listener, app, control_stopped));
                tokio::spawn(serve(
                    console_listener,
                    console::router(console_state),
                    console_stopped,
                ));
                tokio::spawn(async move {
                    let _ = stopped.await;
                    let _ = stop_control.send(());
                    let _ = stop_console.send(());
                });
            }
        }
        Ok(ControlServer {
            addr,
            console_addr,
            stop,
        })
    }
}

/// Accepts connections within the bounds ([`CONNECTIONS_MAX`], [`HEADER_TIMEOUT`]) until
/// `stopped`: the control API's and the metrics endpoint's loop.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, most likely: wait instead of spinning.
                tracing::warn!("control API cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                "control API: {CONNECTIONS_MAX} connections are open; closing a new one"
            );
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                // The Date header panics (in httpdate) on a clock before 1970; clients need none.
                .auto_date_header(false)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!("control connection ended: {e}");
            }
        });
    }
}

fn fail(status: StatusCode, error: impl Into<String>) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "ok": false, "error": error.into() })))
}

/// True when `headers` carry the control token.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()))
}

/// Refuses a request without the token before its body is read: an unauthenticated client costs
/// the node its headers only, whatever body it announces.
async fn authorize(State(ctl): State<Ctl>, request: Request, next: Next) -> Response {
    if !authorized(request.headers(), &ctl.token) {
        return fail(
            StatusCode::UNAUTHORIZED,
            "missing or wrong control token (see control.json)",
        )
        .into_response();
    }
    next.run(request).await
}

/// How long a small body (a hello, a console form) may take to arrive: a client that starts one
/// and stalls would otherwise hold a connection slot for as long as it likes.
pub const SMALL_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a request's whole body, at most `limit` bytes and within `timeout`.
///
/// # Errors
/// The status and message to answer with: too large, unreadable, or too slow.
pub(crate) async fn read_body(
    body: axum::body::Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, (StatusCode, String)> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("cannot read the body (at most {limit} bytes): {e}"),
        )),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {} s", timeout.as_secs()),
        )),
    }
}

/// Answers a challenge with the device key's signature (see [`crate::control::proof`]).
async fn hello(State(ctl): State<Ctl>, request: Request) -> (StatusCode, Json<Value>) {
    let body = match read_body(request.into_body(), HELLO_BYTES_MAX, SMALL_BODY_TIMEOUT).await {
        Ok(body) => body,
        Err((status, message)) => return fail(status, message),
    };
    let Ok(challenge) = serde_json::from_slice::<Challenge>(&body) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "expected {\"challenge\": 64 hex digits}",
        );
    };
    match proof::prove(&ctl.key, &challenge.challenge, &ctl.addr) {
        Some(p) => (StatusCode::OK, Json(json!({ "ok": true, "result": p }))),
        None => fail(
            StatusCode::BAD_REQUEST,
            "the challenge must be 32 bytes in hex",
        ),
    }
}

/// Sends `command` to the event loop and waits for its answer.
pub(crate) async fn run(
    commands: &mpsc::Sender<CommandRequest>,
    command: Command,
) -> Result<Value, String> {
    let (reply, answer) = oneshot::channel();
    if commands.send((command, reply)).await.is_err() {
        return Err("the node is shutting down".into());
    }
    answer
        .await
        .unwrap_or_else(|_| Err("the node stopped before answering".into()))
}

async fn handle(
    State(ctl): State<Ctl>,
    headers: HeaderMap,
    request: Request,
) -> (StatusCode, Json<Value>) {
    let body = match read_body(request.into_body(), REQUEST_BYTES_MAX, BODY_TIMEOUT).await {
        Ok(body) => body,
        Err((status, message)) => return fail(status, message),
    };
    let command: Command = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return fail(StatusCode::BAD_REQUEST, format!("not a command: {e}")),
    };
    // The console's sessions live here, not in the event loop: the server answers this one.
    if command == Command::ConsoleLink {
        return match ctl.console.issue_link() {
            Ok(link) => (StatusCode::OK, Json(json!({ "ok": true, "result": link }))),
            Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e),
        };
    }
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= KEY_CHARS_MAX)
        .map(String::from);
    let answer = match key {
        None => run(&ctl.commands, command).await,
        Some(key) => match ctl.outcomes.slot(&key) {
            Slot::Wait(rx) => outcomes::wait(rx).await,
            Slot::Run(tx) => {
                // The command runs to its end in a task of its own, so a client that goes away
                // meanwhile finds its answer when it asks again with the key.
                let rx = tx.subscribe();
                let commands = ctl.commands.clone();
                tokio::spawn(async move {
                    let answer = run(&commands, command).await;
                    let _ = tx.send(Some(answer));
                });
                outcomes::wait(rx).await
            }
        },
    };
    match answer {
        Ok(result) => (
            StatusCode::OK,
            Json(json!({ "ok": true, "result": result })),
        ),
        Err(error) => fail(StatusCode::BAD_REQUEST, error),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
