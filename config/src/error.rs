//! What can be wrong with a configuration.

use std::path::PathBuf;

/// A configuration that cannot be read, parsed or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is missing or unreadable.
    #[error("cannot read {path}: {source} (create a node with `hallsync init --data DIR`)", path = path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {path}: {source}", path = path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not valid TOML, a key that does not exist, or a value of the wrong type.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the text came from.
        origin: String,
        /// The parser's message, with line and column and, for an unknown key, the keys allowed.
        message: String,
    },
    /// A value breaks a rule.
    #[error("config key `{key}` = {value}: {reason}")]
    Invalid {
        /// The key, as `section.key`.
        key: &'static str,
        /// The value given.
        value: String,
        /// The rule and the fix.
        reason: String,
    },
    /// The configuration could not be turned into TOML.
    #[error("cannot encode the configuration: {0}")]
    Encode(String),
}
