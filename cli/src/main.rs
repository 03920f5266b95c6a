//! The `hallsync` command: see `hallsync --help`, README.md and docs/CLI.md.

mod args;
mod cmd;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = cli.json;
    match cmd::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                let v = serde_json::json!({ "ok": false, "error": format!("{e:#}") });
                eprintln!("{v}");
            } else {
                eprintln!("错误 error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
