//! # hallsync-node: the driver around the sans-IO core
//!
//! This crate moves bytes between [`hallsync_model`], the network, the disk and the user, and holds no
//! domain rules. One event loop owns everything: it selects over libp2p swarm events, the sync timer,
//! control-API commands and shutdown, feeds the core, and drains its outputs.
//!
//! ## Layout
//! - [`paths`]: the files of a data directory.
//! - [`keyfile`]: the device key on disk (mode 0600).
//! - [`store`]: the redb store of envelopes and named values.
//! - [`engine`]: the replica + store + key of one node and every user command on them.
//! - [`network`]: the libp2p behaviour and the sync codec.
//! - [`control`]: the loopback control API (HTTP + JSON, bearer token).
//! - [`console`]: the administrators' web console, served beside it.
//! - [`run`]: the event loop of a running node.
//! - [`table_io`]: CSV, XLSX and JSON tables for catalogue import and record export.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod backup;
pub mod console;
pub mod control;
pub mod engine;
pub mod error;
pub mod keyfile;
pub mod network;
pub mod part_files;
pub mod paths;
pub mod run;
pub mod store;
pub mod table_io;

pub use engine::{Command, Engine, NetView};
pub use error::NodeError;
pub use paths::DataDir;
