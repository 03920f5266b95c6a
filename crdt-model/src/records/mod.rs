//! Record kinds: one automerge document per record, each with its id scheme and its write rules.
//!
//! Every document is a flat map at the root with scalar values: flat keys never conflict as nested
//! maps created concurrently would, and a change's effect is fully described by the root keys it
//! writes, which is what authorization checks.

pub mod approval;
pub mod authority;
pub mod calendar_doc;
pub mod case;
pub mod department;
pub(crate) mod fields;
pub mod item;
pub mod item_code;
pub mod item_table;
pub mod policy;
pub mod staff;
pub mod station;
pub mod trust_doc;
pub(crate) mod vocabulary;
pub mod withdrawal;

pub use crate::doc_id::{DocId, DocKind, ItemCode};
