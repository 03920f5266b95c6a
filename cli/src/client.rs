//! Runs a command on a node: through its control API when it runs, on its store directly otherwise.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use hallsync_node::control::ControlInfo;
use hallsync_node::{Command, DataDir, Engine, NetView};
use serde_json::Value;

/// How long connecting to the control API may take. A call itself has no time limit: long work
/// (an import of many thousand rows) answers when it is done, and the node keeps serving others.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer read from the node: listings come in bounded pages; this bounds the rest.
const ANSWER_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Most pages one listing walks: far above 100 000 records at the smallest page, and an end to a
/// node that kept answering with a cursor.
const PAGES_MAX: usize = 1_000_000;

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
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(None)
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
        .with_config()
        .limit(ANSWER_BYTES_MAX)
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
    Session::new(dir)?.run(command)
}

/// Runs a listing command page by page and merges the pages (their lists joined), so that every
/// reply of the node stays a bounded page. With `one_page`, only the page asked for, with its
/// `next` cursor.
///
/// # Errors
/// As [`execute`].
pub fn execute_pages(dir: &Path, command: Command, one_page: bool) -> Result<Value> {
    let mut session = Session::new(dir)?;
    let mut merged = session.run(command.clone())?;
    if one_page {
        return Ok(merged);
    }
    for _ in 0..PAGES_MAX {
        let Some(after) = merged["next"].as_str().map(String::from) else {
            break;
        };
        let Some(next) = command.at_page(Some(after)) else {
            break;
        };
        let page = session.run(next)?;
        if let (Some(into), Some(from)) = (merged.as_object_mut(), page.as_object()) {
            for (key, value) in from {
                match (into.get_mut(key), value) {
                    (Some(Value::Array(all)), Value::Array(more)) => {
                        all.extend(more.iter().cloned())
                    }
                    _ => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
    }
    if let Some(obj) = merged.as_object_mut() {
        obj.remove("next");
    }
    Ok(merged)
}

/// Where commands go: the running node's control API, or the store opened here (once, for every
/// page of a listing).
pub struct Session {
    data: DataDir,
    remote: Option<ControlInfo>,
    local: Option<Engine>,
}

impl Session {
    /// A session with the node in `dir`: its control API when it runs, else its store.
    ///
    /// # Errors
    /// An unreadable control.json.
    pub fn new(dir: &Path) -> Result<Session> {
        let data = DataDir::new(dir);
        let remote = ControlInfo::read(&data.control_file())?;
        Ok(Session {
            data,
            remote,
            local: None,
        })
    }

    /// Runs one command.
    ///
    /// # Errors
    /// What the node refuses, or why the store could not be opened.
    pub fn run(&mut self, command: Command) -> Result<Value> {
        if let Some(info) = &self.remote {
            match call(info, &command) {
                Ok(value) => return Ok(value),
                Err(CallError::Refused(message)) => bail!(message),
                Err(CallError::Unreachable(_)) => {
                    // A node that died without cleaning up leaves control.json behind.
                    self.remote = None;
                }
            }
        }
        if self.local.is_none() {
            let engine = Engine::open(&self.data)
                .with_context(|| format!("opening the node in {}", self.data.root().display()))?;
            self.local = Some(engine);
        }
        let Some(engine) = self.local.as_mut() else {
            bail!("the store could not be opened");
        };
        engine
            .execute(command, &NetView::default())
            .map_err(|e| anyhow!(e))
    }
}
