//! Outcomes of recent commands by idempotency key: a CLI whose connection dropped while the node
//! ran its command sends it again with the same key and gets the first run's answer (waiting for
//! it if it still runs), instead of running it twice or reporting a committed write as failed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::watch;

/// Most outcomes remembered; the oldest is forgotten first.
pub const OUTCOMES_MAX: usize = 1_024;

/// Longest key accepted, in characters.
pub const KEY_CHARS_MAX: usize = 64;

/// A command's answer, once it has one.
pub type Answer = Option<Result<Value, String>>;

/// What a request with a key should do.
pub enum Slot {
    /// The key is new: run the command and [`Outcomes::finish`] it.
    Run(watch::Sender<Answer>),
    /// The key was seen: wait on this for the first run's answer.
    Wait(watch::Receiver<Answer>),
}

/// Recent outcomes, shared by the control server's connections.
#[derive(Default)]
pub struct Outcomes {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_key: BTreeMap<String, watch::Receiver<Answer>>,
    order: VecDeque<String>,
}

impl Outcomes {
    /// Claims `key` for a run, or finds the run that has it.
    pub fn slot(&self, key: &str) -> Slot {
        // A poisoned lock means a panic elsewhere in the server; the map is still consistent (each
        // change is one insert or remove), so it is used as is.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(seen) = inner.by_key.get(key) {
            return Slot::Wait(seen.clone());
        }
        let (tx, rx) = watch::channel(None);
        if inner.order.len() >= OUTCOMES_MAX {
            if let Some(old) = inner.order.pop_front() {
                inner.by_key.remove(&old);
            }
        }
        inner.by_key.insert(key.to_string(), rx);
        inner.order.push_back(key.to_string());
        Slot::Run(tx)
    }
}

/// Waits for the first run's answer.
pub async fn wait(mut rx: watch::Receiver<Answer>) -> Result<Value, String> {
    loop {
        if let Some(answer) = rx.borrow().clone() {
            return answer;
        }
        if rx.changed().await.is_err() {
            return Err("the node stopped before the command with this key finished".into());
        }
    }
}
