//! `control.json`: where a running node's control API listens, and its token.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::NodeError;

/// What a client needs to reach a running node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlInfo {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The bearer token, 32 random bytes in hex.
    pub token: String,
    /// The node's process id, for people and scripts.
    pub pid: u32,
}

impl ControlInfo {
    /// A fresh token from the OS RNG.
    ///
    /// # Errors
    /// [`NodeError::Network`] if the OS has no randomness to give.
    pub fn new_token() -> Result<String, NodeError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| NodeError::Network(format!("random token: {e}")))?;
        Ok(hex::encode(bytes))
    }

    /// Writes the file (mode 0600), replacing an old one.
    ///
    /// # Errors
    /// [`NodeError::Io`].
    pub fn write(&self, path: &Path) -> Result<(), NodeError> {
        let tmp = path.with_extension("json.tmp");
        let _ = std::fs::remove_file(&tmp);
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        crate::keyfile::write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, path).map_err(|source| NodeError::Io {
            action: "replace",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads the file; `None` when no node has written one.
    ///
    /// # Errors
    /// [`NodeError::Io`] for an unreadable file; a corrupt one reads as `None` (it is rewritten on
    /// the next start).
    pub fn read(path: &Path) -> Result<Option<Self>, NodeError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(serde_json::from_str(&text).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(NodeError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}
