//! The replica: every record this node holds, the trust state, and the quarantine.
//!
//! [`Replica::ingest`] is the only way changes get in, for local and remote changes alike:
//! verify the signature and actor binding, then authorize against the trust state and the document's
//! causal past, then apply. Whatever fails waits in quarantine with its reason; changes that could
//! become valid later (a certificate or a dependency still on its way) are retried whenever something
//! new is applied, so the final state does not depend on the order of arrival.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{transaction::Transactable, ActorId, Automerge, ChangeHash, ScalarValue, ROOT};
use serde::Serialize;

use crate::change::envelope::{SignedChange, VerifiedChange};
use crate::change::ops::root_writes;
use crate::change::rejection::Rejection;
use crate::identity::{DeviceId, DeviceKey};
use crate::records::station::{DocHistory, StationChange};
use crate::records::{item, station, trust_doc, DocId, DocKind};
use crate::trust::genesis::Genesis;
use crate::trust::state::TrustState;

/// Default bound on quarantined envelopes: a peer flooding garbage cannot grow memory past it.
pub const QUARANTINE_ENTRIES_MAX: usize = 10_000;

/// One record's automerge document and what authorization needs of its past.
#[derive(Default)]
pub struct DocState {
    pub(crate) doc: Automerge,
    pub(crate) deps: BTreeMap<ChangeHash, Vec<ChangeHash>>,
    pub(crate) authors: BTreeMap<ChangeHash, DeviceId>,
    pub(crate) content: BTreeSet<ChangeHash>,
    /// Applied envelopes in the order applied, which respects dependencies.
    pub(crate) order: Vec<ChangeHash>,
    pub(crate) envelopes: BTreeMap<ChangeHash, SignedChange>,
    seqs: BTreeMap<(Vec<u8>, u64), ChangeHash>,
}

impl DocState {
    /// The automerge document.
    pub fn doc(&self) -> &Automerge {
        &self.doc
    }

    /// The current heads, sorted.
    pub fn heads(&self) -> Vec<ChangeHash> {
        let mut heads = self.doc.get_heads();
        heads.sort();
        heads
    }

    /// The applied envelopes, in an order that respects dependencies.
    pub fn applied_envelopes(&self) -> impl Iterator<Item = &SignedChange> {
        self.order.iter().filter_map(|h| self.envelopes.get(h))
    }

    pub(crate) fn history(&self) -> DocHistory<'_> {
        DocHistory {
            deps: &self.deps,
            authors: &self.authors,
            content: &self.content,
        }
    }
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
}

/// Every record a node holds, and the trust state they are checked against.
pub struct Replica {
    trust: TrustState,
    docs: BTreeMap<DocId, DocState>,
    quarantine: BTreeMap<[u8; 32], QuarantineEntry>,
    applied_digests: BTreeSet<[u8; 32]>,
    quarantine_max: usize,
}

impl Replica {
    /// An empty replica of the network rooted at `genesis`.
    pub fn new(genesis: Genesis) -> Self {
        Replica {
            trust: TrustState::new(genesis),
            docs: BTreeMap::new(),
            quarantine: BTreeMap::new(),
            applied_digests: BTreeSet::new(),
            quarantine_max: QUARANTINE_ENTRIES_MAX,
        }
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
    /// so they may come from anywhere. Returns true if validity changed.
    pub fn add_certificates(&mut self, certs: Vec<crate::trust::cert::Certificate>) -> bool {
        let changed = self.trust.add(certs);
        if changed {
            let mut report = IngestReport::default();
            self.retry_quarantine(&mut report);
        }
        changed
    }

    /// The records, by id.
    pub fn docs(&self) -> &BTreeMap<DocId, DocState> {
        &self.docs
    }

    /// The quarantine, by envelope digest.
    pub fn quarantine(&self) -> &BTreeMap<[u8; 32], QuarantineEntry> {
        &self.quarantine
    }

    /// Verifies, authorizes and applies `batch`, then retries the quarantine while anything applies.
    pub fn ingest(&mut self, batch: Vec<SignedChange>) -> IngestReport {
        let mut report = IngestReport::default();
        let mut progress = false;
        for envelope in batch {
            let digest = envelope.digest();
            if self.applied_digests.contains(&digest) || self.quarantine.contains_key(&digest) {
                report.duplicates += 1;
                continue;
            }
            match self.try_apply(&envelope) {
                Ok(true) => {
                    self.applied_digests.insert(digest);
                    report.applied.push(envelope);
                    progress = true;
                }
                Ok(false) => report.duplicates += 1,
                Err(reason) => self.enter_quarantine(digest, envelope, reason, &mut report),
            }
        }
        if progress {
            self.retry_quarantine(&mut report);
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

    fn retry_quarantine(&mut self, report: &mut IngestReport) {
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

    /// Applies one envelope; `Ok(false)` if its change is already in the document.
    fn try_apply(&mut self, envelope: &SignedChange) -> Result<bool, Rejection> {
        let verified = envelope.verify()?;
        let hash = verified.hash();
        let state = self.docs.get(&envelope.doc);
        if state.is_some_and(|s| s.deps.contains_key(&hash)) {
            return Ok(false);
        }
        let actor_key = (
            verified.change.actor_id().to_bytes().to_vec(),
            verified.change.seq(),
        );
        if let Some(other) = state.and_then(|s| s.seqs.get(&actor_key)) {
            if *other != hash {
                return Err(Rejection::Equivocation {
                    actor: hex::encode(&actor_key.0[..8]),
                    seq: actor_key.1,
                });
            }
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
        let kind = self.authorize(&verified, state)?;
        let state = self.docs.entry(envelope.doc.clone()).or_default();
        state
            .doc
            .apply_changes(vec![verified.change.clone()])
            .map_err(|e| Rejection::Malformed {
                reason: format!("automerge refused it: {e}"),
            })?;
        state.deps.insert(hash, verified.change.deps().to_vec());
        state.authors.insert(hash, envelope.author);
        state.seqs.insert(actor_key, hash);
        state.order.push(hash);
        state.envelopes.insert(hash, envelope.clone());
        match kind {
            Applied::Content => {
                state.content.insert(hash);
            }
            Applied::Approval => {}
            Applied::Certificates(certs) => {
                state.content.insert(hash);
                self.trust.add(certs);
            }
        }
        Ok(true)
    }

    fn authorize(
        &self,
        verified: &VerifiedChange,
        state: Option<&DocState>,
    ) -> Result<Applied, Rejection> {
        let author = &verified.envelope.author;
        let writes = root_writes(&verified.change)?;
        if let DocKind::Trust = verified.envelope.doc.kind() {
            return trust_doc::authorize(&self.trust, author, &writes).map(Applied::Certificates);
        }
        if !self.trust.is_known(author) {
            return Err(Rejection::UnknownAuthor {
                author: author.short(),
            });
        }
        match verified.envelope.doc.kind() {
            DocKind::Trust => Err(Rejection::WrongDocument {
                reason: "unreachable: trust handled above".into(),
            }),
            DocKind::Item(code) => {
                item::authorize(&self.trust, author, code, &writes).map(|()| Applied::Content)
            }
            DocKind::Station(hall, code) => {
                let empty = DocState::default();
                let history = state.unwrap_or(&empty).history();
                let class = station::authorize(
                    &self.trust,
                    author,
                    hall,
                    code,
                    &writes,
                    verified.change.deps(),
                    &history,
                )?;
                Ok(match class {
                    StationChange::Content => Applied::Content,
                    StationChange::Approval => Applied::Approval,
                })
            }
        }
    }

    /// Makes, signs and ingests a change by the local device: `puts` written at the root of `doc`.
    ///
    /// The change goes through the same checks as a peer's; if they refuse it, nothing is kept.
    ///
    /// # Errors
    /// The [`Rejection`] that the checks give, e.g. when the device may not write this record.
    pub fn author(
        &mut self,
        key: &DeviceKey,
        epoch: u32,
        doc: &DocId,
        now_ms: i64,
        puts: &[(String, ScalarValue)],
    ) -> Result<SignedChange, Rejection> {
        let actor: ActorId = key.device_id().actor(epoch);
        let mut fork = match self.docs.get(doc) {
            Some(state) => state.doc.fork(),
            None => Automerge::new(),
        };
        fork.set_actor(actor);
        let mut tx = fork.transaction();
        for (k, v) in puts {
            tx.put(ROOT, k.as_str(), v.clone())
                .map_err(|e| Rejection::Malformed {
                    reason: e.to_string(),
                })?;
        }
        tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms));
        let change = fork
            .get_last_local_change()
            .ok_or_else(|| Rejection::Malformed {
                reason: "the edit produced no change".into(),
            })?;
        let envelope = SignedChange::sign(doc.clone(), &change, key);
        let digest = envelope.digest();
        match self.try_apply(&envelope) {
            Ok(_) => {
                self.applied_digests.insert(digest);
                let mut report = IngestReport::default();
                self.retry_quarantine(&mut report);
                Ok(envelope)
            }
            Err(reason) => Err(reason),
        }
    }
}

enum Applied {
    Content,
    Approval,
    Certificates(Vec<crate::trust::cert::Certificate>),
}
