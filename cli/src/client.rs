//! Runs a command on a node: through its control API when it runs, on its store directly otherwise.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use hallsync_node::control::ControlInfo;
use hallsync_node::{Command, DataDir, Engine, NetView};
use serde_json::Value;

/// How long one control call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a control call failed.
#[derive(Debug)]
pub enum CallError {
    /// Nothing answers at the address: the node is not running (a stale control.json).
    Unreachable(String),
    /// The node answered with an error.
    Refused(String),
}

/// Sends `command` to the control API described by `info`.
///
/// # Errors
/// [`CallError`].
pub fn call(info: &ControlInfo, command: &Command) -> Result<Value, CallError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(CALL_TIMEOUT))
        .build()
        .into();
    let url = format!("http://{}/api/command", info.addr);
    let mut response = agent
        .post(&url)
        .header("Authorization", &format!("Bearer {}", info.token))
        .send_json(command)
        .map_err(|e| CallError::Unreachable(e.to_string()))?;
    let body: Value = response
        .body_mut()
        .read_json()
        .map_err(|e| CallError::Refused(format!("unreadable answer from the node: {e}")))?;
    if body["ok"] == Value::Bool(true) {
        Ok(body["result"].clone())
    } else {
        Err(CallError::Refused(
            body["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_string(),
        ))
    }
}

/// Runs `command` on the node in `dir`.
///
/// # Errors
/// What the node refuses, or why the store could not be opened.
pub fn execute(dir: &Path, command: Command) -> Result<Value> {
    let data = DataDir::new(dir);
    if let Some(info) = ControlInfo::read(&data.control_file())? {
        match call(&info, &command) {
            Ok(value) => return Ok(value),
            Err(CallError::Refused(message)) => bail!(message),
            Err(CallError::Unreachable(_)) => {
                // A node that died without cleaning up leaves control.json behind; fall through.
            }
        }
    }
    let mut engine =
        Engine::open(&data).with_context(|| format!("opening the node in {}", dir.display()))?;
    engine
        .execute(command, &NetView::default())
        .map_err(|e| anyhow!(e))
}
