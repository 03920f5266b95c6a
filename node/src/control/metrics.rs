//! The metrics endpoint: Prometheus text at `GET /metrics`, on the address `metrics.listen` gives
//! (off by default). It serves the last text the event loop rendered (see `run::metrics`), so a
//! scrape never waits for the loop and never touches the store; counts only, no records, no token.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::{oneshot, watch};

use crate::error::NodeError;

/// A started metrics endpoint.
pub struct MetricsServer {
    /// The address it listens on.
    pub addr: std::net::SocketAddr,
    /// Stops it.
    pub stop: oneshot::Sender<()>,
}

impl MetricsServer {
    /// Binds `listen` and serves what `text` holds, within the control API's connection bounds.
    ///
    /// # Errors
    /// [`NodeError::Network`] when the address cannot be bound.
    pub async fn start(
        listen: &str,
        text: watch::Receiver<String>,
    ) -> Result<MetricsServer, NodeError> {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            NodeError::Network(format!("metrics.listen: cannot listen on {listen}: {e}"))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| NodeError::Network(e.to_string()))?;
        let app = Router::new()
            .route("/metrics", get(scrape))
            .with_state(text);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(crate::control::server::serve(listener, app, stopped));
        Ok(MetricsServer { addr, stop })
    }
}

async fn scrape(State(text): State<watch::Receiver<String>>) -> impl IntoResponse {
    let body = text.borrow().clone();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
