//! # hallsync-sim: a deterministic simulator of hallsync federations
//!
//! Hundreds of nodes in one process, each running the very same sans-IO [`hallsync_model::Replica`]
//! and sync steps as a real node, over a virtual network with latency, loss, villages online a few
//! hours a day and districts cut off for days. Time is virtual and every random choice comes from one
//! seeded generator, so the same scenario and seed produce a byte-identical report.
//!
//! ## Layout
//! - [`scenario`]: scenario files (TOML).
//! - [`rng`]: the seeded generator.
//! - [`world`]: the hall tree, keys, certificates and replicas.
//! - [`sim`]: the event loop and the protocol messages between tree neighbours.
//! - [`forge`]: what the forger adversary sends.
//! - [`generate`]: histories as a city node holds them, for the store benchmark.
//! - [`report`]: the JSON report.
//! - [`plot`]: SVG charts of a run.
//! - [`bench`]: our sync side by side with automerge's sync and whole documents.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bench;
pub mod forge;
pub mod generate;
pub mod plot;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod world;

pub use report::Report;
pub use scenario::Scenario;
pub use sim::Sim;
