//! The replica: every record this node holds, the trust state, and the quarantine.
//!
//! [`Replica::ingest`] is the only way changes get in, local and remote alike: verify the signature
//! and actor binding, then authorize against the trust state and the record's causal past, then
//! apply. What fails waits in quarantine with its reason; changes that could become valid later (a
//! certificate or a dependency still on its way) are retried whenever something new is applied.
//!
//! Two events can take away what was granted: a revocation (strong removal) and an equivocation
//! (two changes with one actor and sequence number, of which neither may win). Either one rebuilds
//! the trust record and every record signed by a device whose standing changed (or the record of
//! the equivocation) from the envelopes it holds, trust first, so the result is the same function of
//! the set of envelopes as on a node that received them in any other order; [`Replica::rebuilt`] is
//! the full rebuild that checks it.
//!
//! Records rest outside memory when the caller gives a [`RecordRest`]: the replica then keeps an
//! index entry per record and a bounded cache of open ones (`rest.rs`).

mod author;
mod authorize;
mod doc_state;
mod fields;
mod keep;
pub mod parts;
mod rebuild;
mod rest;

pub use author::Prepared;
pub use doc_state::{DocState, RestError};
pub use rest::{IndexEntry, MemRest, RecordRest, Settling, Unsettled, OPEN_RECORDS_DEFAULT};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::ChangeHash;
use serde::Serialize;

use crate::change::envelope::{Checked, SignedChange, VerifiedChange};
use crate::change::rejection::Rejection;
use crate::doc_id::DocId;
use crate::identity::DeviceId;
use crate::trust::cert::Certificate;
use crate::trust::genesis::Genesis;
use crate::trust::state::TrustState;
use authorize::Applied;
use rest::OpenCache;

/// Default bound on quarantined envelopes: a peer flooding garbage cannot grow memory past it.
pub const QUARANTINE_ENTRIES_MAX: usize = 10_000;

/// Default bound on the bytes of quarantined envelopes.
pub const QUARANTINE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Most changes by devices not certified here that wait, in memory only, for their certificate.
pub const WAITING_ENTRIES_MAX: usize = 1_024;

/// Most bytes of changes waiting for their author's certificate.
pub const WAITING_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Most refused changes remembered (in memory only) for `hallsync quarantine`.
pub const REFUSED_RECENT_MAX: usize = 64;

/// A change refused without being kept: junk, a forgery or a stranger's (see
/// [`Replica::refusals`]).
#[derive(Clone, Debug, Serialize)]
pub struct Refused {
    /// The record it claimed to be for.
    pub doc: String,
    /// Who it claimed to be signed by.
    pub author: String,
    /// Why it was refused.
    pub reason: Rejection,
}

/// Changes refused without being kept since the replica was opened: counted by reason, the last
/// few remembered. Nothing of them is stored, so a stranger or a forger cannot fill the disk, and
/// nothing of them is pooled, so they never count as an equivocation.
#[derive(Clone, Debug, Default)]
pub struct Refusals {
    /// How many, by [`Rejection::code`].
    pub counts: BTreeMap<&'static str, u64>,
    /// The most recent, newest last, at most [`REFUSED_RECENT_MAX`].
    pub recent: std::collections::VecDeque<Refused>,
}

impl Refusals {
    fn note(&mut self, envelope: &SignedChange, reason: Rejection) {
        *self.counts.entry(reason.code()).or_default() += 1;
        if self.recent.len() >= REFUSED_RECENT_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(Refused {
            doc: envelope.doc.to_string(),
            author: envelope.author.to_string(),
            reason,
        });
    }

    /// Every refusal counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// Bytes an envelope takes in the quarantine's bound.
fn envelope_bytes(envelope: &SignedChange) -> usize {
    envelope.change.len() + 64 + 32 + 64
}

/// A change that waits in quarantine.
#[derive(Clone, Debug, Serialize)]
pub struct QuarantineEntry {
    /// The envelope as received.
    #[serde(skip)]
    pub envelope: SignedChange,
    /// The record it was for.
    pub doc: String,
    /// Who signed it (as claimed).
    pub author: String,
    /// Why it was not applied.
    pub reason: Rejection,
    /// When it entered, in the replica's own count: the oldest is evicted first.
    #[serde(skip)]
    order: u64,
    /// True for a change by a device not certified here: it waits in memory only, never stored,
    /// in bounds of its own, for a certificate that may come with the rest of the history.
    pub waiting: bool,
}

/// The age order, bytes and bounds of one part of the quarantine.
#[derive(Clone, Debug)]
struct QuarantineBounds {
    order: BTreeMap<u64, [u8; 32]>,
    bytes: usize,
    entries_max: usize,
    bytes_max: usize,
}

impl QuarantineBounds {
    fn new(entries_max: usize, bytes_max: usize) -> Self {
        QuarantineBounds {
            order: BTreeMap::new(),
            bytes: 0,
            entries_max,
            bytes_max,
        }
    }

    /// The oldest entry while one of `bytes` more would pass a bound.
    fn over(&self, bytes: usize) -> Option<[u8; 32]> {
        if self.order.len() >= self.entries_max || self.bytes + bytes > self.bytes_max {
            self.order.first_key_value().map(|(_, d)| *d)
        } else {
            None
        }
    }
}

/// What a store holds of a replica at rest (see [`Replica::open_at_rest`]).
pub struct AtRest {
    /// Where the records are read from.
    pub rest: Arc<dyn RecordRest>,
    /// Most records kept open.
    pub open_max: usize,
    /// Every record's index entry.
    pub index: Vec<(DocId, IndexEntry)>,
    /// Certificates learned outside the trust record (an invitation token).
    pub bootstrap: Vec<Certificate>,
    /// The equivocations known, as [`Replica::equivocations_bytes`] wrote them.
    pub equivocations: Option<Vec<u8>>,
    /// The quarantined envelopes.
    pub quarantine: Vec<SignedChange>,
}

/// What one call to [`Replica::ingest`] did.
#[derive(Debug, Default)]
pub struct IngestReport {
    /// Envelopes applied now (including ones released from quarantine): the caller stores these.
    pub applied: Vec<SignedChange>,
    /// Envelopes that went into quarantine now: the caller stores these too, so a restart keeps them.
    pub quarantined: Vec<(SignedChange, Rejection)>,
    /// Why each refused envelope was refused (junk and forgeries, counted and not kept; a waiting
    /// stranger's change evicted from memory).
    pub refused: Vec<Rejection>,
    /// Envelopes already held.
    pub duplicates: usize,
    /// True when a revocation or an equivocation made the replica rebuild every record.
    pub rebuilt: bool,
}

impl IngestReport {
    /// Adds what a later call did, for a caller that ingests one batch in parts.
    pub fn absorb(&mut self, later: IngestReport) {
        self.applied.extend(later.applied);
        self.quarantined.extend(later.quarantined);
        self.refused.extend(later.refused);
        self.duplicates += later.duplicates;
        self.rebuilt |= later.rebuilt;
    }
}

type SeqKey = (DocId, Vec<u8>, u64);

/// An equivocation as stored: record, actor, sequence number, and the hashes signed under them.
type StoredEquivocation = (DocId, Vec<u8>, u64, Vec<[u8; 32]>);

/// Where a record is: open in memory (changed since the last settle, or the replica has no rest),
/// or at rest with its index entry.
#[derive(Clone)]
enum Slot {
    Open(Arc<DocState>),
    Rest(IndexEntry),
}

impl Slot {
    fn is_held(&self) -> bool {
        match self {
            Slot::Open(state) => state.is_held(),
            Slot::Rest(entry) => !entry.heads.is_empty(),
        }
    }

    fn heads(&self) -> Vec<ChangeHash> {
        match self {
            Slot::Open(state) => state.heads(),
            Slot::Rest(entry) => entry.heads(),
        }
    }

    fn signed_by(&self, device: &DeviceId) -> bool {
        match self {
            Slot::Open(state) => state.authors.values().any(|a| a == device),
            Slot::Rest(entry) => entry.signed_by(device),
        }
    }
}

/// What a pending rebuild must recompute.
#[derive(Clone, Default)]
struct RebuildPlan {
    /// Devices whose certificates stand differently than when their records were judged: every
    /// record they signed is rebuilt.
    changed: BTreeSet<DeviceId>,
    /// Records with an equivocation that involves an applied change.
    docs: BTreeSet<DocId>,
}

impl RebuildPlan {
    fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.docs.is_empty()
    }
}

/// Every record a node holds, and the trust state they are checked against. Records and the trust
/// state are shared between clones until one of them changes (copy on write): a simulator builds one
/// replica holding the trust record and clones it for a thousand nodes at the cost of one.
pub struct Replica {
    pub(crate) trust: Arc<TrustState>,
    slots: BTreeMap<DocId, Slot>,
    pub(crate) quarantine: BTreeMap<[u8; 32], QuarantineEntry>,
    /// Entries kept (and stored) for certified authors.
    q_kept: QuarantineBounds,
    /// Entries by uncertified authors, in memory only.
    q_waiting: QuarantineBounds,
    q_next: u64,
    /// Entries evicted to keep the quarantine in its bounds, since the replica was opened: a peer
    /// offers what it still holds again, and an operator should know.
    quarantine_evicted: u64,
    /// Changes refused without being kept.
    refusals: Refusals,
    /// Certificates from outside the trust document (an invitation token), kept for rebuilds.
    bootstrap: Vec<Certificate>,
    /// (record, actor, sequence number) triples signed twice, with the hashes.
    equivocations: BTreeMap<SeqKey, BTreeSet<ChangeHash>>,
    plan: RebuildPlan,
    rebuilding: bool,
    /// The device this replica belongs to, for its replication scope (`None`: hold everything).
    local: Option<DeviceId>,
    /// Set when a verified change joined the pool: a change kept by a revocation's heads may only be
    /// recognisable as kept once the changes between it and those heads are known, even unapplied.
    pool_grew: bool,
    rest: Option<Arc<dyn RecordRest>>,
    cache: Mutex<OpenCache>,
    dirty: BTreeSet<DocId>,
    removed: BTreeSet<DocId>,
    q_added: BTreeSet<[u8; 32]>,
    q_released: BTreeSet<[u8; 32]>,
    equivocations_dirty: bool,
    /// Quarantine entries a write in flight adds to the caller's store (see
    /// [`Replica::take_unsettled`]): one that leaves meanwhile must be released by the next write.
    q_in_flight: BTreeSet<[u8; 32]>,
    unreadable: std::sync::atomic::AtomicU64,
    /// The local author's fork of the record it just changed (see `author.rs`): applied as the
    /// record's document instead of applying the change to it again.
    prepared: Option<(DocId, automerge::Automerge)>,
    /// Where cases' sealed parts rest (see [`parts`]); a clone shares it.
    pub(crate) parts: Arc<dyn parts::PartStore>,
    /// Parts named by a held record but not held here, by the record naming them: asked of every
    /// peer that shares the record, at most [`parts::MISSING_PARTS_MAX`].
    pub(crate) missing_parts: BTreeMap<parts::PartId, DocId>,
}

impl Clone for Replica {
    fn clone(&self) -> Self {
        Replica {
            trust: self.trust.clone(),
            slots: self.slots.clone(),
            quarantine: self.quarantine.clone(),
            q_kept: self.q_kept.clone(),
            q_waiting: self.q_waiting.clone(),
            q_next: self.q_next,
            quarantine_evicted: self.quarantine_evicted,
            refusals: self.refusals.clone(),
            bootstrap: self.bootstrap.clone(),
            equivocations: self.equivocations.clone(),
            plan: self.plan.clone(),
            rebuilding: self.rebuilding,
            local: self.local,
            pool_grew: self.pool_grew,
            rest: self.rest.clone(),
            cache: Mutex::new(OpenCache::new(self.cache().max())),
            dirty: self.dirty.clone(),
            removed: self.removed.clone(),
            q_added: self.q_added.clone(),
            q_released: self.q_released.clone(),
            equivocations_dirty: self.equivocations_dirty,
            q_in_flight: self.q_in_flight.clone(),
            unreadable: std::sync::atomic::AtomicU64::new(self.unreadable_records()),
            prepared: None,
            parts: self.parts.clone(),
            missing_parts: self.missing_parts.clone(),
        }
    }
}

impl Replica {
    /// An empty replica of the network rooted at `genesis`.
    pub fn new(genesis: Genesis) -> Self {
        Replica {
            trust: Arc::new(TrustState::new(genesis)),
            slots: BTreeMap::new(),
            quarantine: BTreeMap::new(),
            q_kept: QuarantineBounds::new(QUARANTINE_ENTRIES_MAX, QUARANTINE_BYTES_MAX),
            q_waiting: QuarantineBounds::new(WAITING_ENTRIES_MAX, WAITING_BYTES_MAX),
            q_next: 0,
            quarantine_evicted: 0,
            refusals: Refusals::default(),
            bootstrap: Vec::new(),
            equivocations: BTreeMap::new(),
            plan: RebuildPlan::default(),
            rebuilding: false,
            pool_grew: false,
            local: None,
            rest: None,
            cache: Mutex::new(OpenCache::new(OPEN_RECORDS_DEFAULT)),
            dirty: BTreeSet::new(),
            removed: BTreeSet::new(),
            q_added: BTreeSet::new(),
            q_released: BTreeSet::new(),
            equivocations_dirty: false,
            q_in_flight: BTreeSet::new(),
            unreadable: std::sync::atomic::AtomicU64::new(0),
            prepared: None,
            parts: Arc::new(parts::MemParts::default()),
            missing_parts: BTreeMap::new(),
        }
    }

    /// Sets where cases' sealed parts rest (the node's `parts/` directory); in memory otherwise.
    pub fn set_parts(&mut self, store: Arc<dyn parts::PartStore>) {
        self.parts = store;
    }

    /// Where cases' sealed parts rest.
    pub fn parts(&self) -> &Arc<dyn parts::PartStore> {
        &self.parts
    }

    /// Sets the device this replica belongs to: sync then asks only for records in its scope.
    pub fn set_local_device(&mut self, device: DeviceId) {
        self.local = Some(device);
    }

    /// The device this replica belongs to, if set.
    pub fn local_device(&self) -> Option<&DeviceId> {
        self.local.as_ref()
    }

    /// Sets the quarantine's bounds (config `limits.quarantine_entries_max`,
    /// `limits.quarantine_bytes_max`); the oldest entries go when a new one would pass either.
    pub fn set_quarantine_max(&mut self, entries_max: usize, bytes_max: usize) {
        self.q_kept.entries_max = entries_max;
        self.q_kept.bytes_max = bytes_max;
    }

    /// The trust state.
    pub fn trust(&self) -> &TrustState {
        &self.trust
    }

    fn cache(&self) -> MutexGuard<'_, OpenCache> {
        // The cache holds no invariant a panicking reader could break half-way: use it as left.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Certificates learned outside the trust document (an invitation token): self-authenticating,
    /// so they may come from anywhere. Returns true if anything was new.
    pub fn add_certificates(&mut self, certs: Vec<Certificate>) -> bool {
        self.bootstrap.extend(certs.iter().cloned());
        let changed = Arc::make_mut(&mut self.trust).add(certs);
        if changed {
            let mut report = IngestReport::default();
            self.retry_quarantine(&mut report);
        }
        changed
    }

    /// The records held (at least one change applied), in id order.
    pub fn records(&self) -> impl Iterator<Item = &DocId> {
        self.slots
            .iter()
            .filter(|(_, s)| s.is_held())
            .map(|(id, _)| id)
    }

    /// The held records with ids in `range`, in id order.
    pub fn held_range<'a>(
        &'a self,
        range: (std::ops::Bound<&DocId>, std::ops::Bound<&DocId>),
    ) -> impl Iterator<Item = &'a DocId> + 'a {
        self.slots
            .range::<DocId, _>(range)
            .filter(|(_, s)| s.is_held())
            .map(|(id, _)| id)
    }

    /// How many records are held.
    pub fn record_count(&self) -> usize {
        self.records().count()
    }

    /// True when the record is held.
    pub fn holds(&self, doc: &DocId) -> bool {
        self.slots.get(doc).is_some_and(Slot::is_held)
    }

    /// A held record's heads, sorted, without opening it.
    pub fn heads_of(&self, doc: &DocId) -> Option<Vec<ChangeHash>> {
        self.slots.get(doc).filter(|s| s.is_held()).map(Slot::heads)
    }

    /// A held record, opened (from the cache, or read from rest).
    pub fn record(&self, doc: &DocId) -> Option<Arc<DocState>> {
        self.state(doc).filter(|s| s.is_held())
    }

    /// Every held record whose id passes `keep`, opened one by one in id order (the filter runs
    /// before a record is opened, so a view of one kind opens no record of another).
    pub fn records_where<'a>(
        &'a self,
        keep: impl Fn(&DocId) -> bool + 'a,
    ) -> impl Iterator<Item = (&'a DocId, Arc<DocState>)> + 'a {
        self.slots
            .iter()
            .filter(move |(id, s)| s.is_held() && keep(id))
            .filter_map(|(id, _)| self.record(id).map(|s| (id, s)))
    }

    /// The ids of every held record, in id order, without opening any.
    pub(crate) fn held_ids(&self) -> impl Iterator<Item = &DocId> + '_ {
        self.slots
            .iter()
            .filter(|(_, s)| s.is_held())
            .map(|(id, _)| id)
    }

    /// The ids of held records after `after` (from the first when `None`), in id order, without
    /// opening any: a scan that goes a bounded step at a time.
    pub(crate) fn held_ids_after<'a>(
        &'a self,
        after: Option<&DocId>,
    ) -> impl Iterator<Item = &'a DocId> + 'a {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |d| Bound::Excluded(d.clone()));
        self.slots
            .range((from, Bound::Unbounded))
            .filter(|(_, s)| s.is_held())
            .map(|(id, _)| id)
    }

    /// A held record's id as the replica holds it, for borrowing beyond a caller's value.
    pub(crate) fn held_id(&self, doc: &DocId) -> Option<&DocId> {
        self.slots
            .get_key_value(doc)
            .filter(|(_, s)| s.is_held())
            .map(|(k, _)| k)
    }

    /// 8-byte prefixes of the changes of every open record, applied or pooled.
    pub(crate) fn open_change_prefixes(&self) -> BTreeSet<[u8; 8]> {
        let prefix = |h: &ChangeHash| {
            let mut out = [0u8; 8];
            out.copy_from_slice(&h.0[..8]);
            out
        };
        let mut known: BTreeSet<[u8; 8]> = self
            .slots
            .values()
            .filter_map(|s| match s {
                Slot::Open(state) => Some(state),
                Slot::Rest(_) => None,
            })
            .flat_map(|s| s.pool_deps.keys().map(prefix))
            .collect();
        known.extend(self.cache().all_change_prefixes(prefix));
        known
    }

    /// Stored records that could not be read back (a corrupt row): they are treated as absent.
    pub fn unreadable_records(&self) -> u64 {
        self.unreadable.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records open in the cache now (for `status` and the memory benchmark).
    pub fn open_records(&self) -> usize {
        self.cache().len()
            + self
                .slots
                .values()
                .filter(|s| matches!(s, Slot::Open(_)))
                .count()
    }

    /// Any record known, held or only pooled, opened.
    pub(crate) fn state(&self, doc: &DocId) -> Option<Arc<DocState>> {
        match self.slots.get(doc)? {
            Slot::Open(state) => Some(state.clone()),
            Slot::Rest(_) => {
                if let Some(state) = self.cache().get(doc) {
                    return Some(state);
                }
                let state = Arc::new(self.read_rest(doc)?);
                self.cache().put(doc.clone(), state.clone());
                Some(state)
            }
        }
    }

    fn read_rest(&self, doc: &DocId) -> Option<DocState> {
        let rest = self.rest.as_ref()?;
        let failed = |what: String| {
            self.unreadable
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            debug_assert!(!what.is_empty());
            None
        };
        match rest.load(doc) {
            Ok(Some(bytes)) => match DocState::from_rest(&bytes) {
                Ok(state) => Some(state),
                Err(e) => failed(e.to_string()),
            },
            Ok(None) => failed(format!("{doc}: indexed but not stored")),
            Err(e) => failed(e),
        }
    }

    /// The record opened for a change: taken out of the cache (so the change does not copy it),
    /// and marked to be written at the next settle.
    ///
    /// # Errors
    /// [`Rejection::Malformed`] when the stored record cannot be read: nothing is written over it.
    fn state_mut(&mut self, doc: &DocId) -> Result<&mut DocState, Rejection> {
        if let Some(Slot::Rest(_)) = self.slots.get(doc) {
            let taken = self.cache().take(doc);
            let state = match taken {
                Some(state) => state,
                None => Arc::new(self.read_rest(doc).ok_or_else(|| Rejection::Malformed {
                    reason: format!(
                        "the stored record {doc} cannot be read; `hallsync store check` reports it"
                    ),
                })?),
            };
            self.slots.insert(doc.clone(), Slot::Open(state));
        }
        // Without a rest nothing is ever written (the simulator): nothing to remember either.
        if self.rest.is_some() && !self.dirty.contains(doc) {
            self.dirty.insert(doc.clone());
        }
        self.removed.remove(doc);
        if !self.slots.contains_key(doc) {
            self.slots.insert(doc.clone(), Slot::Open(Arc::default()));
        }
        let Some(slot) = self.slots.get_mut(doc) else {
            unreachable!("record {doc} was inserted above");
        };
        match slot {
            Slot::Open(state) => Ok(Arc::make_mut(state)),
            // Replaced by an open slot just above.
            Slot::Rest(_) => unreachable!("record {doc} was opened above"),
        }
    }

    /// Opens a replica whose records rest in `rest`: what opening a node does. Reads the index,
    /// builds the trust state from the trust record, adds the certificates learned outside it, the
    /// equivocations known, and judges the quarantine again (what waited may have become valid;
    /// what was refused is refused again with its reason). Changes this makes come out of
    /// [`Replica::unsettled`] as usual. An unreadable equivocation list is skipped and said in the
    /// second value (the pools of the records still hold both sides of each equivocation).
    pub fn open_at_rest(genesis: Genesis, at_rest: AtRest) -> (Replica, Option<String>) {
        let mut replica = Replica::new(genesis);
        replica.set_rest(at_rest.rest, at_rest.open_max);
        replica.load_index(at_rest.index);
        replica.add_certificates(at_rest.bootstrap);
        let problem = at_rest
            .equivocations
            .and_then(|bytes| replica.load_equivocations(&bytes).err());
        let stored: Vec<[u8; 32]> = at_rest
            .quarantine
            .iter()
            .map(SignedChange::digest)
            .collect();
        replica.ingest(at_rest.quarantine);
        // What an earlier version stored and this one keeps in memory only or not at all (junk,
        // strangers' changes) is released from the store with the next write.
        for digest in stored {
            if replica.quarantine.get(&digest).is_none_or(|e| e.waiting) {
                replica.q_released.insert(digest);
                replica.q_added.remove(&digest);
            }
        }
        (replica, problem)
    }

    /// Lets records rest outside memory: from now on, [`Replica::settle`] hands changed records to
    /// the caller's store and reads them back through a cache of `open_max` records. Set it before
    /// the first change: a replica without a rest keeps no account of what to write.
    pub fn set_rest(&mut self, rest: Arc<dyn RecordRest>, open_max: usize) {
        debug_assert!(
            self.rest.is_some() || self.slots.is_empty(),
            "a rest is set before the first change"
        );
        self.rest = Some(rest);
        self.cache().set_max(open_max);
    }

    /// Adds records that rest in the caller's store, as its index says (opening a node reads only
    /// this, never every change). The trust record is read at once: the trust state is built from it.
    pub fn load_index(&mut self, entries: impl IntoIterator<Item = (DocId, IndexEntry)>) {
        for (doc, entry) in entries {
            self.slots.insert(doc, Slot::Rest(entry));
        }
        if let Some(trust) = self.state(&DocId::trust()) {
            let mut certs = Vec::new();
            let mut revocations = Vec::new();
            let mut seal_keys = Vec::new();
            for envelope in trust.applied_envelopes() {
                let Ok(change) = crate::change::envelope::parse_change(&envelope.change) else {
                    continue;
                };
                let Ok(writes) = crate::change::ops::root_writes(&change) else {
                    continue;
                };
                let entries = crate::records::trust_doc::entries(&writes);
                certs.extend(entries.certs);
                revocations.extend(entries.revocations);
                seal_keys.extend(entries.seal_keys);
            }
            let trust = Arc::make_mut(&mut self.trust);
            trust.add_all(certs, revocations);
            trust.add_seal_keys(seal_keys);
        }
    }

    /// Sets the equivocations known, as [`Replica::equivocations_bytes`] wrote them.
    ///
    /// # Errors
    /// The decoder's complaint, in words.
    pub fn load_equivocations(&mut self, bytes: &[u8]) -> Result<(), String> {
        let list: Vec<StoredEquivocation> =
            postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
        for (doc, actor, seq, hashes) in list {
            self.equivocations.insert(
                (doc, actor, seq),
                hashes.into_iter().map(ChangeHash).collect(),
            );
        }
        Ok(())
    }

    /// The equivocations known, for the caller's store.
    pub fn equivocations_bytes(&self) -> Vec<u8> {
        let list: Vec<StoredEquivocation> = self
            .equivocations
            .iter()
            .map(|((doc, actor, seq), hashes)| {
                (
                    doc.clone(),
                    actor.clone(),
                    *seq,
                    hashes.iter().map(|h| h.0).collect(),
                )
            })
            .collect();
        // Ids, byte strings and integers always encode.
        postcard::to_stdvec(&list)
            .unwrap_or_else(|e| unreachable!("postcard of equivocations: {e}"))
    }

    /// What changed since the last [`Replica::settle`], for the caller to write in one transaction.
    pub fn unsettled(&self) -> Unsettled {
        let mut out = Unsettled::default();
        for doc in &self.dirty {
            if let Some(Slot::Open(state)) = self.slots.get(doc) {
                out.records
                    .push((doc.clone(), state.to_rest(), IndexEntry::of(state)));
            }
        }
        out.removed = self.removed.iter().cloned().collect();
        out.quarantined = self
            .q_added
            .iter()
            .filter_map(|d| self.quarantine.get(d).map(|q| (*d, q.envelope.clone())))
            .collect();
        out.released = self.q_released.iter().copied().collect();
        if self.equivocations_dirty {
            out.equivocations = Some(self.equivocations_bytes());
        }
        out
    }

    /// The caller wrote [`Replica::unsettled`]: forget it, and let written records rest (when the
    /// replica has a rest; without one they stay open, as in the simulator).
    pub fn settle(&mut self) {
        let settling = self.take_settling();
        self.settle_written(settling);
    }

    /// [`Replica::unsettled`] for a write that goes on while the replica changes further (a node
    /// commits one sync step while it applies the next): what to write, and what to settle once it
    /// is written ([`Replica::settle_written`]) or to take back if the write failed
    /// ([`Replica::unsettle`]). Changes made meanwhile are the next write's; at most one write may
    /// be in flight, and each must finish before the next is taken.
    pub fn take_unsettled(&mut self) -> (Unsettled, Settling) {
        debug_assert!(self.q_in_flight.is_empty(), "one write in flight at a time");
        let unsettled = self.unsettled();
        let settling = self.take_settling();
        if self.rest.is_some() {
            self.q_in_flight = settling.q_added.clone();
        }
        (unsettled, settling)
    }

    fn take_settling(&mut self) -> Settling {
        self.removed.clear();
        Settling {
            docs: std::mem::take(&mut self.dirty),
            q_added: std::mem::take(&mut self.q_added),
            q_released: std::mem::take(&mut self.q_released),
            equivocations: std::mem::take(&mut self.equivocations_dirty),
        }
    }

    /// The write of `settling` is in the caller's store: its records rest, except those changed
    /// since (they are the next write's).
    pub fn settle_written(&mut self, settling: Settling) {
        self.q_in_flight.clear();
        if self.rest.is_none() {
            return;
        }
        let mut resting = Vec::with_capacity(settling.docs.len());
        for doc in settling.docs {
            if self.dirty.contains(&doc) {
                continue;
            }
            if let Some(slot) = self.slots.get_mut(&doc) {
                if let Slot::Open(state) = slot {
                    let state = state.clone();
                    *slot = Slot::Rest(IndexEntry::of(&state));
                    resting.push((doc, state));
                }
            }
        }
        // One lock for all; records the cache lets go of are dropped here, off any read path.
        let mut cache = self.cache();
        for (doc, state) in resting {
            cache.put(doc, state);
        }
    }

    /// The write of `settling` failed: what it carried is written by the next write instead.
    pub fn unsettle(&mut self, settling: Settling) {
        self.q_in_flight.clear();
        self.dirty.extend(settling.docs);
        for digest in settling.q_added {
            // An entry that left meanwhile was never stored: nothing to add, nothing to release.
            if self.q_released.remove(&digest) || !self.quarantine.contains_key(&digest) {
                continue;
            }
            self.q_added.insert(digest);
        }
        for digest in settling.q_released {
            if !self.q_added.contains(&digest) {
                self.q_released.insert(digest);
            }
        }
        self.equivocations_dirty |= settling.equivocations;
    }

    /// Quarantine entries evicted (oldest first) to stay within the bounds since the replica was
    /// opened.
    pub fn quarantine_evicted(&self) -> u64 {
        self.quarantine_evicted
    }

    /// Bytes of the envelopes kept in the quarantine (stored; not counting those waiting for their
    /// author's certificate in memory).
    pub fn quarantine_bytes(&self) -> usize {
        self.q_kept.bytes
    }

    /// Changes refused without being kept (junk, forgeries, strangers' changes).
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// The quarantine, by envelope digest.
    pub fn quarantine(&self) -> &BTreeMap<[u8; 32], QuarantineEntry> {
        &self.quarantine
    }

    /// The (record, actor, sequence number) triples signed twice, with the hashes of both changes.
    pub fn equivocations(
        &self,
    ) -> impl Iterator<Item = (&DocId, &[u8], u64, &BTreeSet<ChangeHash>)> {
        self.equivocations
            .iter()
            .map(|((doc, actor, seq), hashes)| (doc, actor.as_slice(), *seq, hashes))
    }

    /// Verifies, authorizes and applies `batch`, then retries the quarantine while anything applies;
    /// rebuilds what a revocation or equivocation took something away from.
    pub fn ingest(&mut self, batch: Vec<SignedChange>) -> IngestReport {
        self.ingest_checked(Checked::all(batch))
    }

    /// [`Replica::ingest`] of envelopes verified ahead (see [`Checked`]): the same outcome, with
    /// the signature work done wherever the caller chose.
    pub fn ingest_checked(&mut self, batch: Vec<Checked>) -> IngestReport {
        let mut report = IngestReport::default();
        let mut progress = false;
        for Checked {
            envelope,
            verified,
            writes,
            digest,
        } in batch
        {
            if self.quarantine.contains_key(&digest) {
                report.duplicates += 1;
                continue;
            }
            match verified.and_then(|v| self.try_apply_verified(&envelope, v, writes)) {
                Ok(true) => {
                    report.applied.push(envelope);
                    progress = true;
                }
                Ok(false) => report.duplicates += 1,
                Err(reason) => self.enter_quarantine(digest, envelope, reason, &mut report),
            }
        }
        let waiting_on_keep = self.pool_grew
            && self
                .quarantine
                .values()
                .any(|q| matches!(q.reason, Rejection::Revoked { .. }));
        // A rebuild retries once per round, after all its records: retrying after each of them
        // would go over a quarantine that grows with every change the rebuild refuses.
        if (progress || waiting_on_keep) && !self.rebuilding {
            self.retry_quarantine(&mut report);
        }
        self.pool_grew = false;
        if !self.plan.is_empty() && !self.rebuilding {
            self.rebuild_and_report(&mut report);
        }
        report
    }

    fn enter_quarantine(
        &mut self,
        digest: [u8; 32],
        envelope: SignedChange,
        reason: Rejection,
        report: &mut IngestReport,
    ) {
        // Junk and forgeries: whoever sends them can make more, so they are only counted.
        let junk = matches!(
            reason,
            Rejection::Malformed { .. }
                | Rejection::BadSignature
                | Rejection::ActorMismatch
                | Rejection::WrongDocument { .. }
                | Rejection::Unchanged
        );
        // A change by a device not certified here may be a member's whose certificate comes later
        // in the history: it waits in memory only, evicted first, never stored or pooled.
        let waiting = matches!(reason, Rejection::UnknownAuthor { .. });
        let bytes = envelope_bytes(&envelope);
        let bounds = if waiting {
            &self.q_waiting
        } else {
            &self.q_kept
        };
        if junk || bytes > bounds.bytes_max {
            report.refused.push(reason.clone());
            self.refusals.note(&envelope, reason);
            return;
        }
        loop {
            let bounds = if waiting {
                &self.q_waiting
            } else {
                &self.q_kept
            };
            let Some(oldest) = bounds.over(bytes) else {
                break;
            };
            if let Some(gone) = self.leave_quarantine(&oldest) {
                if gone.waiting {
                    report.refused.push(gone.reason.clone());
                    self.refusals.note(&gone.envelope, gone.reason);
                } else {
                    self.quarantine_evicted += 1;
                }
            }
        }
        report.quarantined.push((envelope.clone(), reason.clone()));
        if self.rest.is_some() && !waiting {
            self.q_added.insert(digest);
            self.q_released.remove(&digest);
        }
        let order = self.q_next;
        self.q_next += 1;
        let bounds = if waiting {
            &mut self.q_waiting
        } else {
            &mut self.q_kept
        };
        bounds.order.insert(order, digest);
        bounds.bytes += bytes;
        self.quarantine.insert(
            digest,
            QuarantineEntry {
                doc: envelope.doc.to_string(),
                author: envelope.author.to_string(),
                envelope,
                reason,
                order,
                waiting,
            },
        );
        debug_assert_eq!(
            self.q_kept.order.len() + self.q_waiting.order.len(),
            self.quarantine.len()
        );
    }

    /// Takes an entry out of the quarantine (applied after all, dropped by a rebuild, or refused).
    pub(crate) fn leave_quarantine(&mut self, digest: &[u8; 32]) -> Option<QuarantineEntry> {
        let entry = self.quarantine.remove(digest)?;
        let bounds = if entry.waiting {
            &mut self.q_waiting
        } else {
            &mut self.q_kept
        };
        bounds.order.remove(&entry.order);
        bounds.bytes -= envelope_bytes(&entry.envelope);
        if entry.waiting {
            // Never stored: nothing to release.
            return Some(entry);
        }
        // Stored already, or about to be by the write in flight: the next write releases it.
        let added_since = self.q_added.remove(digest);
        if self.rest.is_some() && (!added_since || self.q_in_flight.contains(digest)) {
            self.q_released.insert(*digest);
        }
        Some(entry)
    }

    pub(crate) fn retry_quarantine(&mut self, report: &mut IngestReport) {
        // Each pass applies at least one entry or stops, so passes ≤ quarantine size.
        loop {
            let candidates: Vec<[u8; 32]> = self
                .quarantine
                .iter()
                .filter(|(_, e)| e.reason.is_retryable())
                .map(|(d, _)| *d)
                .collect();
            let mut progress = false;
            for digest in candidates {
                let Some(entry) = self.quarantine.get(&digest) else {
                    continue;
                };
                let envelope = entry.envelope.clone();
                let was_waiting = entry.waiting;
                match self.try_apply(&envelope) {
                    Ok(_) => {
                        self.leave_quarantine(&digest);
                        report.applied.push(envelope);
                        progress = true;
                    }
                    Err(reason) => {
                        let certified_now =
                            was_waiting && !matches!(reason, Rejection::UnknownAuthor { .. });
                        if certified_now {
                            // Its author is certified now: it moves to the kept part (stored).
                            if let Some(gone) = self.leave_quarantine(&digest) {
                                self.enter_quarantine(digest, gone.envelope, reason, report);
                            }
                        } else if let Some(entry) = self.quarantine.get_mut(&digest) {
                            entry.reason = reason;
                        }
                    }
                }
            }
            if !progress {
                break;
            }
        }
    }

    /// Records a verified change in its record's pool; returns the equivocation it completes, if any.
    fn pool(&mut self, verified: &VerifiedChange) -> Result<Option<Rejection>, Rejection> {
        let doc = verified.envelope.doc.clone();
        let hash = verified.hash();
        let actor = verified.change.actor_id().to_bytes().to_vec();
        let seq = verified.change.seq();
        let seq_of = (actor.clone(), seq);
        let pooled = self.state(&doc).map(|s| {
            (
                s.pool_deps.contains_key(&hash),
                s.seqs.get(&seq_of).map_or(0, |h| h.len()),
            )
        });
        let signed_under = match pooled {
            // Already pooled: nothing to write.
            Some((true, count)) => count,
            _ => {
                let state = self.state_mut(&doc)?;
                let (hashes, new) =
                    state.pool(hash, verified.change.deps().to_vec(), seq_of.clone());
                let count = hashes.len();
                self.pool_grew |= new;
                count
            }
        };
        if signed_under < 2 {
            return Ok(None);
        }
        let hashes = self
            .state(&doc)
            .and_then(|s| s.seqs.get(&seq_of).cloned())
            .unwrap_or_default();
        let applied = self
            .state(&doc)
            .is_some_and(|s| hashes.iter().any(|h| s.deps.contains_key(h)));
        if applied {
            // One of the pair was applied before the other arrived: neither may win, so rebuild.
            self.plan.docs.insert(doc.clone());
        }
        let key = (doc, actor.clone(), seq);
        if self.equivocations.get(&key) != Some(&hashes) {
            self.equivocations.insert(key, hashes);
            self.equivocations_dirty = true;
        }
        Ok(Some(Rejection::Equivocation {
            actor: hex::encode(&actor[..actor.len().min(8)]),
            seq,
        }))
    }

    /// Removes a change from the pool (the local device's own refused change: nothing of it is kept).
    pub(crate) fn forget_pool_entry(&mut self, envelope: &SignedChange) {
        let Ok(verified) = envelope.verify() else {
            return;
        };
        let hash = verified.hash();
        let seq_of = (
            verified.change.actor_id().to_bytes().to_vec(),
            verified.change.seq(),
        );
        let held = self.state(&envelope.doc).map(|s| s.is_held());
        let key = (envelope.doc.clone(), seq_of.0.clone(), seq_of.1);
        if let Some(hashes) = self.equivocations.get_mut(&key) {
            hashes.remove(&hash);
            if hashes.len() < 2 {
                self.equivocations.remove(&key);
            }
            self.equivocations_dirty = true;
        }
        if let Ok(state) = self.state_mut(&envelope.doc) {
            state.unpool(&hash, &seq_of);
            if held == Some(false) && state.pool_deps.is_empty() {
                // Nothing else was ever known of this record: it leaves no trace.
                self.slots.remove(&envelope.doc);
                self.dirty.remove(&envelope.doc);
                self.cache().take(&envelope.doc);
            }
        }
    }

    /// Applies one envelope; `Ok(false)` if its change is already in the document.
    fn try_apply(&mut self, envelope: &SignedChange) -> Result<bool, Rejection> {
        let verified = envelope.verify()?;
        self.try_apply_verified(envelope, verified, None)
    }

    fn try_apply_verified(
        &mut self,
        envelope: &SignedChange,
        verified: VerifiedChange,
        writes: Option<Result<Vec<crate::change::ops::RootWrite>, Rejection>>,
    ) -> Result<bool, Rejection> {
        let hash = verified.hash();
        if self
            .state(&envelope.doc)
            .is_some_and(|s| s.deps.contains_key(&hash))
        {
            return Ok(false);
        }
        // A stranger's change is never pooled: pools rest on disk with their record, and only the
        // quarantine (bounded) may hold what strangers send. Once its author is certified it is
        // retried from the quarantine and pooled then, so equivocations are still found.
        let author = &envelope.author;
        if !self.trust.is_known(author) && author != &self.trust.genesis().key {
            return Err(Rejection::UnknownAuthor {
                author: author.short(),
            });
        }
        if let Some(equivocation) = self.pool(&verified)? {
            return Err(equivocation);
        }
        let state = self.state(&envelope.doc);
        let missing = verified
            .change
            .deps()
            .iter()
            .filter(|d| !state.as_ref().is_some_and(|s| s.deps.contains_key(d)))
            .count();
        if missing > 0 {
            return Err(Rejection::MissingDependency { missing });
        }
        let actor = verified.change.actor_id().to_bytes();
        let seq = verified.change.seq();
        let last = state.as_deref().map_or(0, |s| s.last_seq_of(actor));
        match doc_state::seq_rule(last, seq) {
            Ok(()) => {}
            Err(Some(missing)) => return Err(Rejection::MissingDependency { missing }),
            Err(None) => {
                return Err(Rejection::Malformed {
                    reason: format!(
                    "change {seq} of its actor is not after the actor's last change to this record"
                ),
                })
            }
        }
        let kind = self.authorize(&verified, state.as_deref(), writes)?;
        drop(state);
        let content = !matches!(kind, Applied::Approval);
        let prepared = self
            .prepared
            .take()
            .filter(|(doc, _)| doc == &envelope.doc)
            .map(|(_, fork)| fork);
        self.state_mut(&envelope.doc)?
            .apply(envelope, verified.change, content, prepared);
        if let Applied::Trust(entries) = kind {
            let trust = Arc::make_mut(&mut self.trust);
            trust.add_all(entries.certs, entries.revocations);
            trust.add_seal_keys(entries.seal_keys);
            // Devices whose certificates now stand differently: their records are re-judged.
            self.plan.changed.extend(trust.take_changed());
        }
        Ok(true)
    }
}
