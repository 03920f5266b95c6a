//! The control API: how the CLI talks to a running node.
//!
//! HTTP/1.1 on a loopback address only, `POST /api/command` with a JSON [`crate::Command`] and the
//! header `Authorization: Bearer <token>`; the token and address sit in `DIR/control.json` (mode
//! 0600, in the 0700 data directory), so only users who can read the data directory can command
//! the node. Before it sends the token, the CLI has the node prove itself (`POST /api/hello`, see
//! [`proof`]), so a stale `control.json` whose port another program took is never trusted. A
//! command may carry an `Idempotency-Key` header: sent again with the same key, it is not run again
//! but answered with the first run's result (see [`outcomes`]).
//!
//! ```text
//! 200 {"ok": true,  "result": <command's JSON>}
//! 4xx {"ok": false, "error": "<what went wrong and what to do>"}
//! ```

pub mod file;
pub mod metrics;
pub mod outcomes;
pub mod proof;
pub mod server;

pub use file::ControlInfo;
pub use server::{CommandRequest, ControlServer};
