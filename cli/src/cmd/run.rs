//! `hallsync run`: the node in the foreground, with tracing logs, until Ctrl-C or `hallsync stop`.

use std::path::Path;

use anyhow::{Context, Result};
use hallsync_config::LogSection;
use hallsync_node::DataDir;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// A boxed logging layer, text or JSON, to stderr or a file.
type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// One output's layer in `format`, writing with `writer`.
fn layer<W>(format: &str, writer: W, ansi: bool) -> BoxedLayer
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(writer);
    if format == "json" {
        fmt.json().boxed()
    } else {
        fmt.with_ansi(ansi).boxed()
    }
}

/// Starts logging as `log` says (the format overridden by `--log-format`): stderr always, and
/// daily files in `log.dir` (relative to the data directory) when set. The guard flushes the file
/// writer; keep it until the node stops.
fn start_logging(
    dir: &Path,
    log: &LogSection,
    format: Option<&str>,
) -> Result<Option<tracing_appender::non_blocking::WorkerGuard>> {
    let format = format.unwrap_or(&log.format);
    let mut layers: Vec<BoxedLayer> = vec![layer(
        format,
        std::io::stderr,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    )];
    let guard = if log.dir.is_empty() {
        None
    } else {
        let logs = dir.join(&log.dir);
        std::fs::create_dir_all(&logs)
            .with_context(|| format!("log.dir: creating {}", logs.display()))?;
        let appender = tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("hallsync.log")
            .max_log_files(usize::try_from(log.files_max).unwrap_or(usize::MAX))
            .build(&logs)
            .with_context(|| format!("log.dir: cannot log into {}", logs.display()))?;
        let (writer, guard) = tracing_appender::non_blocking(appender);
        layers.push(layer(format, writer, false));
        Some(guard)
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init()
        .context("starting the logs")?;
    Ok(guard)
}

/// Runs the node in `dir`, logging in `log_format` when given (else as config says).
pub fn run(dir: &Path, log_format: Option<&str>) -> Result<()> {
    // A config that does not load is reported by the node itself when it opens; logs start with
    // the defaults meanwhile.
    let log = hallsync_config::Config::load(dir)
        .map(|c| c.log)
        .unwrap_or_default();
    let _guard = start_logging(dir, &log, log_format)?;
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
