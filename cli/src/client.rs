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
    /// Nothing answers at the address: the node is not running (a stale control.json). Nothing
    /// was sent.
    Unreachable(String),
    /// Something answers at the address but could not prove it is this node: no token was sent.
    Impostor(String),
    /// The node answered with an error.
    Refused(String),
    /// The connection was lost after the command was sent, and the node could not be asked what
    /// became of it: the command may or may not have run.
    Unknown(String),
}

/// How many times a command whose connection dropped is sent again under its idempotency key.
const RESENDS_MAX: usize = 5;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(None)
        .build()
        .into()
}

/// True when `error` means nothing reached the server (so nothing ran there).
fn not_sent(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Timeout(_)
    )
}

/// Has the server at `info.addr` prove it holds the device key of the node in `dir`
/// (see [`hallsync_node::control::proof`]).
///
/// # Errors
/// [`CallError::Unreachable`] when nothing answers, [`CallError::Impostor`] when what answers
/// cannot prove it.
pub fn prove_node(dir: &Path, info: &ControlInfo) -> Result<(), CallError> {
    use hallsync_node::control::proof::{self, Proof};
    let data = DataDir::new(dir);
    let expected = hallsync_node::keyfile::read(&data.key_file())
        .map_err(|e| CallError::Refused(e.to_string()))?
        .device_id();
    let challenge =
        proof::challenge().map_err(|e| CallError::Refused(format!("no randomness: {e}")))?;
    let url = format!("http://{}/api/hello", info.addr);
    let mut response = agent()
        .post(&url)
        .send_json(serde_json::json!({ "challenge": hex::encode(challenge) }))
        .map_err(|e| {
            if not_sent(&e) {
                CallError::Unreachable(e.to_string())
            } else {
                CallError::Impostor(format!("the hello failed: {e}"))
            }
        })?;
    let impostor = || {
        CallError::Impostor(format!(
            "the program at {} (from control.json) could not prove it is this node: no token was sent. A node that stopped without cleaning up leaves control.json behind, and another program may have taken its port",
            info.addr
        ))
    };
    let body: Value = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_json()
        .map_err(|_| impostor())?;
    let proof: Proof = serde_json::from_value(body["result"].clone()).map_err(|_| impostor())?;
    if proof::holds(&expected, &challenge, &info.addr, &proof) {
        Ok(())
    } else {
        Err(impostor())
    }
}

/// Sends `command` to the control API described by `info`, after the node there proved itself
/// with the device key of `dir`. A connection lost after sending is retried under the same
/// idempotency key, so the command runs at most once and its answer is not lost.
///
/// # Errors
/// [`CallError`].
pub fn call(dir: &Path, info: &ControlInfo, command: &Command) -> Result<Value, CallError> {
    prove_node(dir, info)?;
    let key = hallsync_node::control::proof::challenge()
        .map(|b| hex::encode(&b[..16]))
        .map_err(|e| CallError::Refused(format!("no randomness: {e}")))?;
    let url = format!("http://{}/api/command", info.addr);
    let mut lost = String::new();
    for attempt in 0..=RESENDS_MAX {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 * attempt as u64));
        }
        let sent = agent()
            .post(&url)
            .header("Authorization", &format!("Bearer {}", info.token))
            .header(hallsync_node::control::server::IDEMPOTENCY_HEADER, &key)
            .send_json(command);
        let mut response = match sent {
            Ok(r) => r,
            Err(e) if attempt == 0 && not_sent(&e) => {
                return Err(CallError::Unreachable(e.to_string()))
            }
            Err(e) if not_sent(&e) => {
                // The node is gone: what it ran before it went cannot be asked any more.
                lost = format!("{lost}; then: {e}");
                break;
            }
            Err(e) => {
                lost = e.to_string();
                continue;
            }
        };
        let body: Value = match response
            .body_mut()
            .with_config()
            .limit(ANSWER_BYTES_MAX)
            .read_json()
        {
            Ok(body) => body,
            Err(e) => {
                lost = e.to_string();
                continue;
            }
        };
        return if body["ok"] == Value::Bool(true) {
            Ok(body["result"].clone())
        } else {
            Err(CallError::Refused(
                body["error"]
                    .as_str()
                    .unwrap_or("unknown error")
                    .to_string(),
            ))
        };
    }
    Err(CallError::Unknown(format!(
        "the connection to the node was lost after the command was sent ({lost}), and the node did not answer again: it may or may not have run it. Look before running it again (`hallsync status`, `hallsync audit RECORD`)"
    )))
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
            match call(self.data.root(), info, &command) {
                Ok(value) => return Ok(value),
                Err(CallError::Refused(message)) | Err(CallError::Unknown(message)) => {
                    bail!(message)
                }
                Err(CallError::Impostor(message)) => {
                    // Only a node that stopped leaves control.json to be taken: if the store
                    // opens, no node runs here, and the command runs on it directly.
                    tracing::warn!("{message}");
                    self.remote = None;
                }
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
