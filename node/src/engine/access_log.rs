//! The local access log of personal data (D2; PIPL art 51): every time a case's personal part is
//! opened for display — by the CLI, the control API or the console — one line says who, when and
//! which case. It stays on this node (it is not a record and is never replicated), in
//! `DIR/access.log`, mode 0600, one JSON object a line; past [`ACCESS_LOG_BYTES_MAX`] the file
//! moves to `access.log.1` (one generation kept) and a new one starts.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::error::NodeError;

/// Size at which the log moves to `access.log.1`.
pub const ACCESS_LOG_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Most entries `access-log` returns.
pub const ACCESS_LOG_ENTRIES_MAX: usize = 10_000;

/// One display of personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    /// When, ms since the Unix epoch.
    pub at_ms: i64,
    /// The case.
    pub case: String,
    /// What was shown (`applicant`).
    pub what: String,
    /// Who asked: `cli` (on the store directly), `control API` (through the running node), or the
    /// console and its session.
    pub by: String,
}

/// `access-log`: the latest entries, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLog {
    /// The entries.
    pub entries: Vec<AccessEntry>,
}

impl Engine {
    fn access_log_path(&self) -> std::path::PathBuf {
        self.dir.root().join("access.log")
    }

    /// Appends `entries` to the log.
    ///
    /// # Errors
    /// The file cannot be written: the display is refused rather than left unlogged.
    pub(crate) fn log_access(&self, entries: &[AccessEntry]) -> Result<(), NodeError> {
        if entries.is_empty() {
            return Ok(());
        }
        let path = self.access_log_path();
        let io = |source| NodeError::Io {
            action: "write the access log",
            path: path.clone(),
            source,
        };
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > ACCESS_LOG_BYTES_MAX) {
            std::fs::rename(&path, path.with_extension("log.1")).map_err(io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io)?;
        let mut text = String::new();
        for entry in entries {
            // A struct of strings and an integer always encodes.
            text.push_str(&serde_json::to_string(entry).unwrap_or_default());
            text.push('\n');
        }
        file.write_all(text.as_bytes()).map_err(io)
    }

    /// The latest `limit` entries of the log (both generations), oldest first; lines that are not
    /// entries (a torn last line after a crash) are skipped.
    ///
    /// # Errors
    /// The file exists but cannot be read.
    pub fn access_log(&self, limit: usize) -> Result<AccessLog, NodeError> {
        let path = self.access_log_path();
        let mut entries = Vec::new();
        for file in [path.with_extension("log.1"), path.clone()] {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(NodeError::Io {
                        action: "read the access log",
                        path: file,
                        source,
                    })
                }
            };
            entries.extend(
                text.lines()
                    .filter_map(|l| serde_json::from_str::<AccessEntry>(l).ok()),
            );
        }
        let limit = limit.clamp(1, ACCESS_LOG_ENTRIES_MAX);
        let skip = entries.len().saturating_sub(limit);
        Ok(AccessLog {
            entries: entries.split_off(skip),
        })
    }
}
