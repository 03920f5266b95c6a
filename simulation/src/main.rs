//! `hallsync-sim`: the deterministic simulator of hallsync federations (issue #5).
//!
//! It will drive the very same sans-IO core as the node ([`hallsync_model::Replica`] and its sync
//! steps) over a virtual network with virtual time. This first version only reports that it is not
//! built yet, so the workspace builds and the crate's place in the architecture is fixed.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("hallsync-sim {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "hallsync-sim: the simulator is not built yet (issue #5); it will run `hallsync-sim run SCENARIO.toml`.\n\
         It will drive hallsync-model {} unchanged.",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::FAILURE
}
