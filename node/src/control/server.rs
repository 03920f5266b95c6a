//! The control API server: parses and authenticates requests, hands commands to the event loop.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use crate::engine::Command;
use crate::error::NodeError;

/// Largest request body accepted, in bytes (import bundles are the largest).
pub const REQUEST_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A command on its way to the event loop, with where to send the answer.
pub type CommandRequest = (Command, oneshot::Sender<Result<Value, String>>);

#[derive(Clone)]
struct Ctl {
    token: String,
    commands: mpsc::Sender<CommandRequest>,
}

/// A started control server.
pub struct ControlServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Stops it.
    pub stop: oneshot::Sender<()>,
}

impl ControlServer {
    /// Binds `listen` (which config validation keeps on loopback) and serves until `stop`.
    ///
    /// # Errors
    /// [`NodeError::Network`] when the address cannot be bound.
    pub async fn start(
        listen: &str,
        token: String,
        commands: mpsc::Sender<CommandRequest>,
    ) -> Result<ControlServer, NodeError> {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            NodeError::Network(format!("control API cannot listen on {listen}: {e}"))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| NodeError::Network(e.to_string()))?;
        let ctl = Ctl { token, commands };
        let app = Router::new()
            .route("/api/command", post(handle))
            .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BYTES_MAX))
            // Outermost: the token is checked on the headers, before any byte of a body is read.
            .route_layer(middleware::from_fn_with_state(ctl.clone(), authorize))
            .with_state(ctl);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("control API stopped: {e}");
            }
        });
        Ok(ControlServer { addr, stop })
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

async fn handle(State(ctl): State<Ctl>, body: Bytes) -> (StatusCode, Json<Value>) {
    let command: Command = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return fail(StatusCode::BAD_REQUEST, format!("not a command: {e}")),
    };
    let (reply, answer) = oneshot::channel();
    if ctl.commands.send((command, reply)).await.is_err() {
        return fail(StatusCode::SERVICE_UNAVAILABLE, "the node is shutting down");
    }
    match answer.await {
        Ok(Ok(result)) => (
            StatusCode::OK,
            Json(json!({ "ok": true, "result": result })),
        ),
        Ok(Err(error)) => fail(StatusCode::BAD_REQUEST, error),
        Err(_) => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "the node stopped before answering",
        ),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
