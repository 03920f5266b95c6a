//! End-to-end tests: real `hallsync` processes on 127.0.0.1, one module per concern.
//!
//! Run `cargo build -p hallsync` first (`.ci/run` does): the tests start `target/debug/hallsync`.

mod adversarial;
mod browser;
mod cases;
mod catalogue;
mod cli_errors;
mod console;
mod control;
mod federation;
mod lab;
mod operators;
mod restart;
mod revocation;
mod rotation;
mod staff;
mod store;
mod stranger;
mod withdrawal;
