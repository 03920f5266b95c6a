//! Sealed parts at rest: a case's personal data (the applicant, the transitions' notes) kept
//! beside its record by content address, not inside the record's history, so that it can be erased
//! when its retention ends (issue #14, D1). The record's signed changes carry only each part's
//! SHA-256, so they stay verifiable, and carriers keep routing and authorizing them, after the
//! part is gone.
//!
//! The core does no IO: where parts rest is the caller's [`PartStore`] (the node's `parts/`
//! directory, or [`MemParts`]). Unlike records, parts are written through at once: a part must be
//! durable before the change that names it is committed (else a crash could leave a party with a
//! case whose applicant it never can read), and a part is content-addressed, so writing it early or
//! twice changes nothing. A part written for a change that was then never committed is an orphan:
//! ciphertext only the parties open, named by nothing, erased with nothing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// A part's address: the SHA-256 of its bytes (the encoded [`crate::seal::Sealed`]).
pub type PartId = [u8; 32];

/// Largest part accepted, in bytes: the sealing's content bound and room for every recipient's wrap.
pub const PART_BYTES_MAX: usize = crate::records::case::PERSONAL_BYTES_MAX;

/// Most parts a replica remembers as named by a record it holds but missing here (asked of peers
/// in every round, in the sync step's `need`): a flood of cases cannot grow it.
pub const MISSING_PARTS_MAX: usize = 4_096;

/// The address of `bytes`.
pub fn part_id(bytes: &[u8]) -> PartId {
    Sha256::digest(bytes).into()
}

/// Where parts rest. Errors are the backend's failure in words (shown to operators).
pub trait PartStore: Send + Sync {
    /// The part's bytes, if held. An implementation returns `Ok(None)` for a stored copy whose
    /// digest differs (a damaged file): sync then fetches it again.
    ///
    /// # Errors
    /// The backend could not be read.
    fn get(&self, id: &PartId) -> Result<Option<Vec<u8>>, String>;

    /// Whether the part is held, without reading it.
    ///
    /// # Errors
    /// The backend could not be read.
    fn holds(&self, id: &PartId) -> Result<bool, String>;

    /// Keeps `bytes` under `id` (the caller checked `id` is their address), durably before it
    /// returns.
    ///
    /// # Errors
    /// The backend could not be written.
    fn put(&self, id: &PartId, bytes: &[u8]) -> Result<(), String>;

    /// Erases the part for good (overwriting it first where the medium allows): crypto-shredding,
    /// since the part holds the only wraps of its content key. Erasing what is not held is no error.
    ///
    /// # Errors
    /// The backend could not be written.
    fn erase(&self, id: &PartId) -> Result<(), String>;
}

/// Parts in memory, for tests and the simulator.
#[derive(Default)]
pub struct MemParts {
    parts: Mutex<BTreeMap<PartId, Vec<u8>>>,
}

impl MemParts {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<PartId, Vec<u8>>> {
        // A panic while holding the lock leaves a map that is still whole (every operation is one
        // insert or remove), so a poisoned lock is taken as it is.
        self.parts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many parts are held.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// True when none is held.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// Every part's bytes, for tests that search what a node holds.
    pub fn all_bytes(&self) -> Vec<Vec<u8>> {
        self.map().values().cloned().collect()
    }
}

impl PartStore for MemParts {
    fn get(&self, id: &PartId) -> Result<Option<Vec<u8>>, String> {
        Ok(self.map().get(id).cloned())
    }

    fn holds(&self, id: &PartId) -> Result<bool, String> {
        Ok(self.map().contains_key(id))
    }

    fn put(&self, id: &PartId, bytes: &[u8]) -> Result<(), String> {
        self.map().insert(*id, bytes.to_vec());
        Ok(())
    }

    fn erase(&self, id: &PartId) -> Result<(), String> {
        self.map().remove(id);
        Ok(())
    }
}

/// A part as it travels in a sync step: the record that names it, and its bytes (addressed by
/// their digest, which the receiver computes).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CarriedPart {
    /// The case record that names the part.
    pub doc: crate::doc_id::DocId,
    /// The sealed part.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for CarriedPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CarriedPart({}, {} bytes)", self.doc, self.bytes.len())
    }
}
