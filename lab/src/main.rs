//! `hallsync-lab`: run a scenario with real nodes in network namespaces (see the crate doc).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Real hallsync nodes in Linux network namespaces, linked as a scenario says (needs root).
#[derive(Parser, Debug)]
#[command(name = "hallsync-lab", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Build the scenario's halls as namespaces, run a node in each, work, cut, heal, report.
    Run {
        /// A scenario file (the simulator's format; its [lab] section says how to run it here).
        scenario: PathBuf,
        /// The hallsync binary the nodes run.
        #[arg(long, default_value = "target/release/hallsync")]
        bin: PathBuf,
        /// Write the JSON report here too.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Keep the nodes' data directories (logs included) here instead of a temporary one.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Remove every namespace (and its processes) an interrupted run left behind.
    Clean,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Clean => {
            let n = hallsync_lab::netns::clean()?;
            println!("removed {n} namespace(s)");
        }
        Cmd::Run {
            scenario,
            bin,
            report,
            keep,
        } => {
            let text = std::fs::read_to_string(&scenario)
                .with_context(|| format!("reading {}", scenario.display()))?;
            let parsed = hallsync_sim::Scenario::from_toml(&text, &scenario.display().to_string())?;
            let bin = bin.canonicalize().with_context(|| {
                format!(
                    "{} (build it: cargo build --release -p hallsync)",
                    bin.display()
                )
            })?;
            let temp;
            let root = match keep {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)?;
                    dir
                }
                None => {
                    temp =
                        std::env::temp_dir().join(format!("hallsync-lab-{}", std::process::id()));
                    std::fs::create_dir_all(&temp)?;
                    temp
                }
            };
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            ctrlc_like(move || flag.store(true, Ordering::SeqCst));
            let result = hallsync_lab::run::run(&parsed, &bin, &root, &stop)?;
            let json = serde_json::to_string_pretty(&result)?;
            println!("{json}");
            if let Some(path) = report {
                std::fs::write(&path, json)?;
            }
        }
    }
    Ok(())
}

/// Calls `f` on SIGINT or SIGTERM, so a run takes its namespaces down before it exits.
fn ctrlc_like(f: impl Fn() + Send + Sync + 'static) {
    static HANDLER: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>> = std::sync::OnceLock::new();
    let _ = HANDLER.set(Box::new(f));
    extern "C" fn on_signal(_: libc::c_int) {
        if let Some(f) = HANDLER.get() {
            f();
        }
    }
    // SAFETY: installs a handler that only stores to an atomic through a function set once before.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}
