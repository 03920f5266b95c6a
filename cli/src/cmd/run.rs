//! `hallsync run`: the node in the foreground, with tracing logs, until Ctrl-C or `hallsync stop`.

use std::path::Path;

use anyhow::{Context, Result};
use hallsync_node::DataDir;
use tracing_subscriber::EnvFilter;

/// Runs the node in `dir`.
pub fn run(dir: &Path) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        hallsync_node::run::run(DataDir::new(dir), shutdown_requested()).await
    })?;
    Ok(())
}

/// Resolves when the node is asked to stop: Ctrl-C in a terminal, or SIGTERM from a service manager
/// (systemd's `stop`) where there are Unix signals. Both shut down cleanly.
#[cfg(unix)]
async fn shutdown_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves when the node is asked to stop: Ctrl-C (and the console's close event) where there are
/// no Unix signals.
#[cfg(not(unix))]
async fn shutdown_requested() {
    let _ = tokio::signal::ctrl_c().await;
}
