//! Records at rest: the replica keeps an index of every record in memory and opens a record's
//! changes and document only when something reads or changes it.
//!
//! The core does no IO: where rows rest is the caller's [`RecordRest`] (the node's redb store, or
//! [`MemRest`] in tests). What the replica changed comes out as data ([`Unsettled`]) for the caller
//! to write in one transaction; [`crate::Replica::settle`] then lets go of it, and the record is read
//! back through a bounded cache of open records ([`OpenCache`]) when next needed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use crate::change::envelope::SignedChange;
use crate::doc_id::DocId;
use crate::identity::DeviceId;
use crate::replica::DocState;

/// Where records rest when they are not open. Implementations read; the replica never writes
/// through this (its writes come out as [`Unsettled`]).
pub trait RecordRest: Send + Sync {
    /// The record's at-rest row as [`DocState::to_rest`] wrote it, if stored.
    ///
    /// # Errors
    /// The backend's failure, in words (shown to operators, counted by `status`).
    fn load(&self, doc: &DocId) -> Result<Option<Vec<u8>>, String>;
}

/// Default number of records kept open (`limits.open_records_max`): enough for the working set
/// of a busy day's approvals and sync rounds, at roughly 30 KB each ≈ 60 MB.
pub const OPEN_RECORDS_DEFAULT: usize = 2_048;

/// What the in-memory index holds of a record at rest: what sync, `status` and revocations need
/// without opening it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Heads of the applied changes, sorted (empty: the record only has waiting changes).
    pub heads: Vec<[u8; 32]>,
    /// Devices that signed an applied change of the record, sorted: a revocation recomputes only
    /// the records its device (or a device whose standing it changes) signed in.
    pub signers: Vec<[u8; 32]>,
}

impl IndexEntry {
    /// The index entry of an open record.
    pub fn of(state: &DocState) -> Self {
        IndexEntry {
            heads: state.heads().iter().map(|h| h.0).collect(),
            signers: state.signers().iter().map(|d| d.0).collect(),
        }
    }

    /// The entry's at-rest bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain vectors of byte arrays always encode.
        postcard::to_stdvec(self)
            .unwrap_or_else(|e| unreachable!("postcard of an index entry: {e}"))
    }

    /// Reads an entry back.
    ///
    /// # Errors
    /// The decoder's complaint, in words.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        postcard::from_bytes(bytes).map_err(|e| e.to_string())
    }

    pub(crate) fn heads(&self) -> Vec<ChangeHash> {
        self.heads.iter().map(|h| ChangeHash(*h)).collect()
    }

    pub(crate) fn signed_by(&self, device: &DeviceId) -> bool {
        self.signers.binary_search(&device.0).is_ok()
    }
}

/// What changed in the replica since it last settled: the caller writes it all in one transaction,
/// then calls [`crate::Replica::settle`].
#[derive(Default)]
pub struct Unsettled {
    /// Records to write: id, at-rest row ([`DocState::to_rest`]) and index entry.
    pub records: Vec<(DocId, Vec<u8>, IndexEntry)>,
    /// Records that no longer hold anything (a rebuild took every change away): delete their rows.
    pub removed: Vec<DocId>,
    /// Envelopes that entered the quarantine, by digest.
    pub quarantined: Vec<([u8; 32], SignedChange)>,
    /// Digests of envelopes that left it (applied later, or dropped by a rebuild).
    pub released: Vec<[u8; 32]>,
    /// The equivocations known, when they changed (see [`crate::Replica::equivocations_bytes`]).
    pub equivocations: Option<Vec<u8>>,
}

impl Unsettled {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
            && self.removed.is_empty()
            && self.quarantined.is_empty()
            && self.released.is_empty()
            && self.equivocations.is_none()
    }
}

/// What a write in flight carries (see [`crate::Replica::take_unsettled`]), to settle once the
/// caller's store holds it or to take back if the write failed.
#[derive(Debug, Default)]
pub struct Settling {
    pub(crate) docs: std::collections::BTreeSet<DocId>,
    pub(crate) q_added: std::collections::BTreeSet<[u8; 32]>,
    pub(crate) q_released: std::collections::BTreeSet<[u8; 32]>,
    pub(crate) equivocations: bool,
}

/// A bounded cache of open records, least recently used out first.
pub(crate) struct OpenCache {
    max: usize,
    tick: u64,
    open: BTreeMap<DocId, (Arc<DocState>, u64)>,
    by_use: BTreeMap<u64, DocId>,
}

impl OpenCache {
    pub(crate) fn new(max: usize) -> Self {
        OpenCache {
            max,
            tick: 0,
            open: BTreeMap::new(),
            by_use: BTreeMap::new(),
        }
    }

    pub(crate) fn get(&mut self, doc: &DocId) -> Option<Arc<DocState>> {
        self.tick += 1;
        let tick = self.tick;
        let (state, used) = self.open.get_mut(doc)?;
        // The id moves to its new place in the use order: no copy of it is made.
        if let Some(id) = self.by_use.remove(used) {
            self.by_use.insert(tick, id);
        }
        *used = tick;
        Some(state.clone())
    }

    pub(crate) fn put(&mut self, doc: DocId, state: Arc<DocState>) {
        self.take(&doc);
        if self.max == 0 {
            return;
        }
        self.tick += 1;
        self.by_use.insert(self.tick, doc.clone());
        self.open.insert(doc, (state, self.tick));
        while self.open.len() > self.max {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.open.remove(&oldest);
        }
        debug_assert_eq!(self.open.len(), self.by_use.len());
    }

    pub(crate) fn take(&mut self, doc: &DocId) -> Option<Arc<DocState>> {
        let (state, used) = self.open.remove(doc)?;
        self.by_use.remove(&used);
        Some(state)
    }

    pub(crate) fn all_change_prefixes(
        &self,
        prefix: impl Fn(&ChangeHash) -> [u8; 8],
    ) -> Vec<[u8; 8]> {
        self.open
            .values()
            .flat_map(|(s, _)| s.pool_deps.keys().map(&prefix))
            .collect()
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    pub(crate) fn len(&self) -> usize {
        self.open.len()
    }

    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
        while self.open.len() > self.max {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.open.remove(&oldest);
        }
    }
}

/// Records at rest in memory, for tests and the simulator: the same rows, index, quarantine and
/// equivocations the node writes to redb, and the same way of opening a replica from them.
#[derive(Default)]
pub struct MemRest {
    inner: Mutex<MemRows>,
}

#[derive(Default)]
struct MemRows {
    rows: BTreeMap<DocId, Arc<[u8]>>,
    index: BTreeMap<DocId, IndexEntry>,
    quarantine: BTreeMap<[u8; 32], SignedChange>,
    equivocations: Option<Vec<u8>>,
}

impl MemRest {
    /// An empty store.
    pub fn new() -> Self {
        MemRest::default()
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, MemRows> {
        // Plain maps: a panic elsewhere leaves them whole.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes what the replica changed (as the node does in one transaction).
    pub fn write(&self, unsettled: &Unsettled) {
        let mut rows = self.rows();
        for (doc, row, entry) in &unsettled.records {
            rows.rows.insert(doc.clone(), Arc::from(row.as_slice()));
            rows.index.insert(doc.clone(), entry.clone());
        }
        for doc in &unsettled.removed {
            rows.rows.remove(doc);
            rows.index.remove(doc);
        }
        for (digest, envelope) in &unsettled.quarantined {
            rows.quarantine.insert(*digest, envelope.clone());
        }
        for digest in &unsettled.released {
            rows.quarantine.remove(digest);
        }
        if let Some(bytes) = &unsettled.equivocations {
            rows.equivocations = Some(bytes.clone());
        }
    }

    /// What a node's store would hand [`crate::Replica::open_at_rest`].
    pub fn at_rest(
        self: &Arc<Self>,
        bootstrap: Vec<crate::trust::cert::Certificate>,
        open_max: usize,
    ) -> crate::replica::AtRest {
        let rows = self.rows();
        crate::replica::AtRest {
            rest: self.clone(),
            open_max,
            index: rows
                .index
                .iter()
                .map(|(d, e)| (d.clone(), e.clone()))
                .collect(),
            bootstrap,
            equivocations: rows.equivocations.clone(),
            quarantine: rows.quarantine.values().cloned().collect(),
        }
    }

    /// Bytes of the records held, for memory figures.
    pub fn bytes(&self) -> usize {
        self.rows().rows.values().map(|r| r.len()).sum()
    }
}

impl RecordRest for MemRest {
    fn load(&self, doc: &DocId) -> Result<Option<Vec<u8>>, String> {
        Ok(self.rows().rows.get(doc).map(|r| r.to_vec()))
    }
}
