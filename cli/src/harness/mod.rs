//! Real nodes as child processes: used by `hallsync demo` and by the end-to-end tests.
//!
//! Every wait here is bounded in time, and every child is killed when its handle drops, so nothing
//! outlives the demo or the test that started it.

mod federation;
mod node;
mod sample;

pub use federation::{Federation, Tier};
pub use node::{spawn_run, NodeProcess};
pub use sample::{public_service_code, sample_item};

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// Polls `check` every `every` until it returns true or `timeout` passes.
///
/// # Errors
/// `what` and the time waited, when the condition never held.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<bool>,
) -> Result<Duration> {
    let start = Instant::now();
    let mut last_error = None;
    while start.elapsed() < timeout {
        match check() {
            Ok(true) => return Ok(start.elapsed()),
            Ok(false) => {}
            Err(e) => last_error = Some(e),
        }
        std::thread::sleep(every);
    }
    match last_error {
        Some(e) => bail!("timed out after {timeout:?} waiting for {what} (last error: {e:#})"),
        None => bail!("timed out after {timeout:?} waiting for {what}"),
    }
}
