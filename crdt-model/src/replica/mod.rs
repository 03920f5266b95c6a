//! The replica: every record this node holds, the trust state, and the quarantine.
//!
//! [`Replica::ingest`] is the only way changes get in, local and remote alike: verify the signature
//! and actor binding, then authorize against the trust state and the record's causal past, then
//! apply. What fails waits in quarantine with its reason; changes that could become valid later (a
//! certificate or a dependency still on its way) are retried whenever something new is applied.
//!
//! Two events can take away what was granted: a revocation (strong removal) and an equivocation
//! (two changes with one actor and sequence number, of which neither may win). Either one rebuilds
//! the replica from every envelope it holds, trust first, so the result is the same function of the
//! set of envelopes as on a node that received them in any other order.

mod author;
mod authorize;
mod doc_state;
mod keep;
mod rebuild;

pub use doc_state::DocState;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use automerge::ChangeHash;
use serde::Serialize;

use crate::change::envelope::{Checked, SignedChange, VerifiedChange};
use crate::change::rejection::Rejection;
use crate::identity::DeviceId;
use crate::records::DocId;
use crate::trust::cert::Certificate;
use crate::trust::genesis::Genesis;
use crate::trust::state::TrustState;
use authorize::Applied;

/// Default bound on quarantined envelopes: a peer flooding garbage cannot grow memory past it.
pub const QUARANTINE_ENTRIES_MAX: usize = 10_000;

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
}

/// What one call to [`Replica::ingest`] did.
#[derive(Debug, Default)]
pub struct IngestReport {
    /// Envelopes applied now (including ones released from quarantine): the caller stores these.
    pub applied: Vec<SignedChange>,
    /// Envelopes that went into quarantine now: the caller stores these too, so a restart keeps them.
    pub quarantined: Vec<(SignedChange, Rejection)>,
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
        self.duplicates += later.duplicates;
        self.rebuilt |= later.rebuilt;
    }
}

type SeqKey = (DocId, Vec<u8>, u64);

/// Every record a node holds, and the trust state they are checked against. Records and the trust
/// state are shared between clones until one of them changes (copy on write): a simulator builds one
/// replica holding the trust record and clones it for a thousand nodes at the cost of one.
#[derive(Clone)]
pub struct Replica {
    pub(crate) trust: Arc<TrustState>,
    pub(crate) docs: BTreeMap<DocId, Arc<DocState>>,
    pub(crate) quarantine: BTreeMap<[u8; 32], QuarantineEntry>,
    applied_digests: BTreeSet<[u8; 32]>,
    quarantine_max: usize,
    /// Certificates from outside the trust document (an invitation token), kept for rebuilds.
    bootstrap: Vec<Certificate>,
    /// Dependencies of every verified change per record, applied or not.
    pub(crate) pool_deps: BTreeMap<DocId, BTreeMap<ChangeHash, Vec<ChangeHash>>>,
    /// Every verified change by (record, actor, sequence number): two hashes there are an equivocation.
    seqs: BTreeMap<SeqKey, BTreeSet<ChangeHash>>,
    needs_rebuild: bool,
    rebuilding: bool,
    /// The device this replica belongs to, for its replication scope (`None`: hold everything).
    local: Option<DeviceId>,
    /// Set when a verified change joined the pool: a change kept by a revocation's heads may only be
    /// recognisable as kept once the changes between it and those heads are known, even unapplied.
    pool_grew: bool,
}

impl Replica {
    /// An empty replica of the network rooted at `genesis`.
    pub fn new(genesis: Genesis) -> Self {
        Replica {
            trust: Arc::new(TrustState::new(genesis)),
            docs: BTreeMap::new(),
            quarantine: BTreeMap::new(),
            applied_digests: BTreeSet::new(),
            quarantine_max: QUARANTINE_ENTRIES_MAX,
            bootstrap: Vec::new(),
            pool_deps: BTreeMap::new(),
            seqs: BTreeMap::new(),
            needs_rebuild: false,
            rebuilding: false,
            pool_grew: false,
            local: None,
        }
    }

    /// Sets the device this replica belongs to: sync then asks only for records in its scope.
    pub fn set_local_device(&mut self, device: DeviceId) {
        self.local = Some(device);
    }

    /// The device this replica belongs to, if set.
    pub fn local_device(&self) -> Option<&DeviceId> {
        self.local.as_ref()
    }

    /// Sets the quarantine bound (config `limits.quarantine_entries_max`).
    pub fn set_quarantine_max(&mut self, entries_max: usize) {
        self.quarantine_max = entries_max;
    }

    /// The trust state.
    pub fn trust(&self) -> &TrustState {
        &self.trust
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

    /// The records, by id.
    pub fn docs(&self) -> &BTreeMap<DocId, Arc<DocState>> {
        &self.docs
    }

    /// The quarantine, by envelope digest.
    pub fn quarantine(&self) -> &BTreeMap<[u8; 32], QuarantineEntry> {
        &self.quarantine
    }

    /// The (record, actor, sequence number) triples signed twice, with the hashes of both changes.
    pub fn equivocations(
        &self,
    ) -> impl Iterator<Item = (&DocId, &[u8], u64, &BTreeSet<ChangeHash>)> {
        self.seqs
            .iter()
            .filter(|(_, hashes)| hashes.len() > 1)
            .map(|((doc, actor, seq), hashes)| (doc, actor.as_slice(), *seq, hashes))
    }

    /// Verifies, authorizes and applies `batch`, then retries the quarantine while anything applies;
    /// rebuilds everything if a revocation or equivocation took something away.
    pub fn ingest(&mut self, batch: Vec<SignedChange>) -> IngestReport {
        self.ingest_checked(batch.into_iter().map(Checked::new).collect())
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
            if self.applied_digests.contains(&digest) || self.quarantine.contains_key(&digest) {
                report.duplicates += 1;
                continue;
            }
            match verified.and_then(|v| self.try_apply_verified(&envelope, v, writes)) {
                Ok(true) => {
                    self.applied_digests.insert(digest);
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
        if progress || waiting_on_keep {
            self.retry_quarantine(&mut report);
        }
        self.pool_grew = false;
        if self.needs_rebuild && !self.rebuilding {
            self.rebuild_and_report(&mut report);
        }
        report
    }

    /// Rebuilds, then rewrites `report` as what changed relative to before this ingest: envelopes
    /// applied now that were not before, and envelopes quarantined now that were not before.
    fn rebuild_and_report(&mut self, report: &mut IngestReport) {
        let added: BTreeSet<[u8; 32]> = report.applied.iter().map(SignedChange::digest).collect();
        let before_applied: BTreeSet<[u8; 32]> =
            self.applied_digests.difference(&added).copied().collect();
        let q_added: BTreeSet<[u8; 32]> =
            report.quarantined.iter().map(|(e, _)| e.digest()).collect();
        let before_quarantined: BTreeSet<[u8; 32]> = self
            .quarantine
            .keys()
            .filter(|d| !q_added.contains(*d))
            .copied()
            .collect();
        self.rebuild();
        report.rebuilt = true;
        report.applied = self
            .docs
            .values()
            .flat_map(|s| s.applied_envelopes())
            .filter(|e| !before_applied.contains(&e.digest()))
            .cloned()
            .collect();
        report.quarantined = self
            .quarantine
            .iter()
            .filter(|(d, _)| !before_quarantined.contains(*d))
            .map(|(_, e)| (e.envelope.clone(), e.reason.clone()))
            .collect();
    }

    fn enter_quarantine(
        &mut self,
        digest: [u8; 32],
        envelope: SignedChange,
        reason: Rejection,
        report: &mut IngestReport,
    ) {
        if self.quarantine.len() >= self.quarantine_max {
            return;
        }
        report.quarantined.push((envelope.clone(), reason.clone()));
        self.quarantine.insert(
            digest,
            QuarantineEntry {
                doc: envelope.doc.to_string(),
                author: envelope.author.to_string(),
                envelope,
                reason,
            },
        );
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
                match self.try_apply(&envelope) {
                    Ok(_) => {
                        self.quarantine.remove(&digest);
                        self.applied_digests.insert(digest);
                        report.applied.push(envelope);
                        progress = true;
                    }
                    Err(reason) => {
                        if let Some(entry) = self.quarantine.get_mut(&digest) {
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

    /// Records a verified change in the pool; returns the equivocation it completes, if any.
    fn pool(&mut self, verified: &VerifiedChange) -> Option<Rejection> {
        let doc = verified.envelope.doc.clone();
        let hash = verified.hash();
        let new = self
            .pool_deps
            .entry(doc.clone())
            .or_default()
            .insert(hash, verified.change.deps().to_vec())
            .is_none();
        self.pool_grew |= new;
        let actor = verified.change.actor_id().to_bytes().to_vec();
        let seq = verified.change.seq();
        let hashes = self
            .seqs
            .entry((doc.clone(), actor.clone(), seq))
            .or_default();
        hashes.insert(hash);
        if hashes.len() < 2 {
            return None;
        }
        let applied = self
            .docs
            .get(&doc)
            .is_some_and(|s| hashes.iter().any(|h| s.deps.contains_key(h)));
        if applied {
            // One of the pair was applied before the other arrived: neither may win, so rebuild.
            self.needs_rebuild = true;
        }
        Some(Rejection::Equivocation {
            actor: hex::encode(&actor[..actor.len().min(8)]),
            seq,
        })
    }

    /// Removes a change from the pool (the local device's own refused change: nothing of it is kept).
    pub(crate) fn forget_pool_entry(&mut self, envelope: &SignedChange) {
        let Ok(verified) = envelope.verify() else {
            return;
        };
        let hash = verified.hash();
        if let Some(deps) = self.pool_deps.get_mut(&envelope.doc) {
            deps.remove(&hash);
        }
        let key = (
            envelope.doc.clone(),
            verified.change.actor_id().to_bytes().to_vec(),
            verified.change.seq(),
        );
        if let Some(hashes) = self.seqs.get_mut(&key) {
            hashes.remove(&hash);
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
        if let Some(equivocation) = self.pool(&verified) {
            return Err(equivocation);
        }
        let state = self.docs.get(&envelope.doc).map(|s| &**s);
        if state.is_some_and(|s| s.deps.contains_key(&hash)) {
            return Ok(false);
        }
        let missing = verified
            .change
            .deps()
            .iter()
            .filter(|d| !state.is_some_and(|s| s.deps.contains_key(d)))
            .count();
        if missing > 0 {
            return Err(Rejection::MissingDependency { missing });
        }
        let kind = self.authorize(&verified, state, writes)?;
        let state = Arc::make_mut(self.docs.entry(envelope.doc.clone()).or_default());
        state
            .doc
            .apply_changes(vec![verified.change.clone()])
            .map_err(|e| Rejection::Malformed {
                reason: format!("automerge refused it: {e}"),
            })?;
        state.deps.insert(hash, verified.change.deps().to_vec());
        state.authors.insert(hash, envelope.author);
        state.order.push(hash);
        state.envelopes.insert(hash, envelope.clone());
        match kind {
            Applied::Content => {
                state.content.insert(hash);
            }
            Applied::Approval => {}
            Applied::Trust(entries) => {
                state.content.insert(hash);
                let before = self.trust.active_ids();
                let revokes = !entries.revocations.is_empty();
                Arc::make_mut(&mut self.trust).add_all(entries.certs, entries.revocations);
                if revokes || !before.is_subset(&self.trust.active_ids()) {
                    self.needs_rebuild = true;
                }
            }
        }
        Ok(true)
    }
}
