//! # hallsync (CLI)
//!
//! The `hallsync` binary's library half: the control-API client and the process harness that both
//! `hallsync demo` and the end-to-end tests use to run federations of real nodes.
//!
//! ## Layout
//! - [`client`]: runs a command through a node's control API, or on its store when none runs.
//! - [`harness`]: nodes as child processes, federations of them, bounded waits.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod client;
pub mod harness;
