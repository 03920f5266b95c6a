//! The `hallsync` command: see `hallsync --help`, README.md and docs/CLI.md.

/// `println!` for what the command prints: when stdout is closed early (`hallsync items | head`)
/// the command ends quietly, as Unix tools do, instead of panicking; another write failure is
/// reported and the command fails.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::output::stdout_failed(e);
        }
    }};
}

mod args;
mod cmd;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let json = cli.json;
    // Every command signs or reads timestamps: a clock before 1970 is refused before anything.
    let outcome = hallsync_node::engine::check_clock()
        .map_err(anyhow::Error::from)
        .and_then(|()| cmd::dispatch(cli));
    match outcome {
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
