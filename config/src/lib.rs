//! # hallsync-config: the node's TOML configuration
//!
//! Types with embedded defaults, so a config file needs only its `[node]` table; strict parsing, so a
//! mistyped key is an error that names it instead of a setting silently ignored; and validation whose
//! errors name the key, the bad value and the fix.
//!
//! ## Layout
//! - `types`: the sections and their defaults.
//! - `validate`: the rules each value must meet.
//! - `file`: reading and writing `config.toml` (atomically).
//! - `example`: a commented example with every key.
//! - `error`: [`ConfigError`], what can be wrong with a configuration.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod example;
mod file;
mod types;
mod validate;

pub use error::ConfigError;
pub use example::default_config_toml_example;
pub use types::{
    Config, ConsoleSection, ControlSection, LimitsSection, LogSection, MetricsSection,
    NetworkSection, NodeSection,
};

/// The config file's name inside a data directory.
pub const CONFIG_FILE_NAME: &str = "config.toml";
