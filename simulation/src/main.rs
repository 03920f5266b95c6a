//! `hallsync-sim run SCENARIO.toml [--seed N] [--report FILE]`: runs a scenario and prints its report.

use std::process::ExitCode;
use std::time::Instant;

use hallsync_sim::{Scenario, Sim};

fn usage() -> ExitCode {
    eprintln!("usage: hallsync-sim run SCENARIO.toml [--seed N] [--report FILE]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("hallsync-sim {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let [cmd, path, rest @ ..] = args.as_slice() else {
        return usage();
    };
    if cmd != "run" {
        return usage();
    }
    let mut seed = None;
    let mut report_path = None;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--seed", Some(v)) => match v.parse::<u64>() {
                Ok(s) => seed = Some(s),
                Err(_) => {
                    eprintln!("hallsync-sim: --seed takes a number, not `{v}`");
                    return ExitCode::from(2);
                }
            },
            ("--report", Some(v)) => report_path = Some(v.clone()),
            _ => return usage(),
        }
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("hallsync-sim: cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scenario = match Scenario::from_toml(&text, path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hallsync-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let seed = seed.unwrap_or(scenario.seed);
    let started = Instant::now();
    let duration_s = scenario.duration_s;
    let report = Sim::new(scenario, seed).run();
    let wall_s = started.elapsed().as_secs_f64();
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    if let Some(p) = report_path {
        if let Err(e) = std::fs::write(&p, &text) {
            eprintln!("hallsync-sim: cannot write {p}: {e}");
            return ExitCode::FAILURE;
        }
    } else {
        println!("{text}");
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
