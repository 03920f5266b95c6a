//! # hallsync-model: the sans-IO core of hallsync
//!
//! Everything that decides what is true lives here, and nothing here does IO: no sockets, no files,
//! no clock, no random numbers, no tokio. Time comes in as `now_ms` arguments and key material as
//! bytes. The node and the simulator drive the very same types, so what the simulator proves is what
//! the node does.
//!
//! The contract: a [`Replica`] given the same set of signed changes and certificates reaches the same
//! effective state, whatever the order, duplication or delay of their arrival. Every change is
//! verified (signature, actor bound to the signer), then authorized (certificate chain to the
//! genesis key, scoped by hall and role; approvals by the supervising tier, never the maker), and only
//! then applied; the rest waits in quarantine with its reason.
//!
//! ## Layout
//! - [`identity`]: device keys and readable device ids; the automerge actor bound to the key.
//! - [`hall`]: hall ids and levels.
//! - [`trust`]: the genesis key, certificates, and the trust state derived from them.
//! - [`change`]: the signed-change envelope, the root writes of a change, and rejection reasons.
//! - [`records`]: record ids and each record kind's write rules; approvals.
//! - [`replica`]: verify → authorize → apply, quarantine and retry, local authoring.
//! - [`effective`]: the effective catalogue and stationings, pending proposals, the state digest.
//! - [`calendar`]: working days (W1–W6): built-in and signed per-year calendars, due dates.
//! - [`cases`]: cross-region cases replayed into their effective state, with deadlines (K2, K5, K6).
//! - [`audit`]: explains a record: every change, its signer's certificates, approvals, and why.
//! - [`departments`]: the departments stationed at each hall (S7, S8).
//! - [`page`]: listings read a bounded page at a time, by cursor.
//! - [`roster`]: the staff roster of a hall, with first-in-then-out (P4) applied.
//! - [`entry`]: the rules checked when a person proposes something (C4, S4, S8, K11, applicant ids),
//!   run by the node's commands and the simulator's workload alike.
//! - [`sync`]: the wire messages, the protocol's steps, admission, and the sessions that run rounds.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod audit;
pub mod calendar;
pub mod case_parts;
pub mod cases;
pub mod change;
pub mod departments;
pub mod doc_id;
pub mod effective;
pub mod encoding;
pub mod entry;
pub mod error;
pub mod hall;
pub mod identity;
pub mod page;
pub mod records;
pub mod replica;
pub mod roster;
pub mod seal;
pub mod sync;
pub mod trust;

pub use automerge::{ChangeHash, ScalarValue};
pub use change::envelope::{Checked, SignedChange};
pub use change::rejection::{Rejection, Rule};
pub use effective::{ItemView, Proposal, StationView};
pub use error::{IdentityError, RecordError, TrustError};
pub use hall::{HallId, HallInfo, Level};
pub use identity::{DeviceId, DeviceKey};
pub use records::approval::{Approval, Decision};
pub use records::{DocId, DocKind, ItemCode};
pub use replica::{IngestReport, QuarantineEntry, Replica};
pub use sync::peer_state::PeerState;
pub use sync::wire::{Message, Step, WireError, WireLimits};
pub use trust::cert::{CertBody, CertId, Certificate, Role};
pub use trust::genesis::{Genesis, NetworkId};
pub use trust::state::TrustState;
