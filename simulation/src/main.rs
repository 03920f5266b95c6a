//! `hallsync-sim`: runs scenarios (`run`) and the side-by-side protocol benchmark (`bench`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use hallsync_sim::bench::{self, BenchSize};
use hallsync_sim::{Scenario, Sim};

/// Deterministic simulator of hallsync federations.
#[derive(Parser)]
#[command(name = "hallsync-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a scenario and prints (or writes) its JSON report; exits non-zero unless it converged
    /// with no forged change accepted and no invariant broken.
    Run {
        /// The scenario file (TOML; see docs/SIMULATION.md).
        scenario: PathBuf,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Write the report here instead of standard output.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write SVG charts into this directory.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Our sync against automerge's sync and whole documents, on the same workload.
    Bench {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Records in case (b), at most 100000.
        #[arg(long, default_value_t = 100_000)]
        docs: usize,
        /// Changes in common in case (a), at most 10000.
        #[arg(long, default_value_t = 200)]
        shared: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            scenario,
            seed,
            report,
            plot,
        } => run(&scenario, seed, report, plot),
        Command::Bench { json, docs, shared } => run_bench(json, docs, shared),
    }
}

fn run(
    path: &PathBuf,
    seed: Option<u64>,
    report_path: Option<PathBuf>,
    plot: Option<PathBuf>,
) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("hallsync-sim: cannot read {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let scenario = match Scenario::from_toml(&text, &path.display().to_string()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hallsync-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let seed = seed.unwrap_or(scenario.seed);
    let started = Instant::now();
    let duration_s = scenario.duration_s;
    let sim = match Sim::try_new(scenario, seed) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("hallsync-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = sim.run();
    let wall_s = started.elapsed().as_secs_f64();
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    if let Some(p) = report_path {
        if let Err(e) = std::fs::write(&p, &text) {
            eprintln!("hallsync-sim: cannot write {}: {e}", p.display());
            return ExitCode::FAILURE;
        }
    } else {
        println!("{text}");
    }
    if let Some(dir) = plot {
        match hallsync_sim::plot::write_all(&report, &dir) {
            Ok(files) => {
                for f in files {
                    eprintln!("wrote {}", f.display());
                }
            }
            Err(e) => {
                eprintln!(
                    "hallsync-sim: cannot write the charts into {}: {e}",
                    dir.display()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!(
        "seed {seed}: wall_s {wall_s:.2}, sim_speedup {:.0}×",
        duration_s as f64 / wall_s.max(1e-9)
    );
    if report.converged && report.accepted_invalid == 0 && report.invariant_violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("hallsync-sim: the run did not converge cleanly (seed {seed})");
        ExitCode::FAILURE
    }
}

fn run_bench(json: bool, docs: usize, shared: usize) -> ExitCode {
    if docs == 0 || docs > bench::DOCS_MAX {
        eprintln!(
            "hallsync-sim: --docs takes 1 to {}, not {docs}",
            bench::DOCS_MAX
        );
        return ExitCode::from(2);
    }
    if shared > bench::SHARED_MAX {
        eprintln!(
            "hallsync-sim: --shared takes 0 to {}, not {shared}",
            bench::SHARED_MAX
        );
        return ExitCode::from(2);
    }
    let started = Instant::now();
    let cases = bench::run(BenchSize { docs, shared }, &mut |line| {
        eprintln!("[{:6.1} s] {line}", started.elapsed().as_secs_f64())
    });
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&cases).unwrap_or_default()
        );
    } else {
        println!(
            "{:<52} {:>12} {:>5} {:>8} {:>12} {:>5} {:>14}",
            "case", "hallsync B", "RTs", "ratio", "automerge B", "RTs", "whole docs B"
        );
        for c in &cases {
            println!(
                "{:<52} {:>12} {:>5} {:>7.2}{} {:>12} {:>5} {:>14}",
                c.case,
                c.hallsync.bytes,
                c.hallsync.round_trips,
                c.hallsync.overhead_ratio,
                if c.hallsync.within_target {
                    "✓"
                } else {
                    "✗"
                },
                c.automerge_sync.bytes,
                c.automerge_sync.round_trips,
                c.whole_docs.bytes,
            );
        }
        println!("ratio: hallsync bytes / bytes of the signed changes that had to move; ✓ within 1.1× + 2 kB");
    }
    if cases.iter().all(|c| c.hallsync.converged) {
        ExitCode::SUCCESS
    } else {
        eprintln!("hallsync-sim: a bench case did not converge");
        ExitCode::FAILURE
    }
}
