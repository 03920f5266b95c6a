//! The control API: how the CLI talks to a running node.
//!
//! HTTP/1.1 on a loopback address only, `POST /api/command` with a JSON [`crate::Command`] and the
//! header `Authorization: Bearer <token>`; the token and address sit in `DIR/control.json` (mode
//! 0600), so only users who can read the data directory can command the node.
//!
//! ```text
//! 200 {"ok": true,  "result": <command's JSON>}
//! 4xx {"ok": false, "error": "<what went wrong and what to do>"}
//! ```

pub mod file;
pub mod server;

pub use file::ControlInfo;
pub use server::{CommandRequest, ControlServer};
