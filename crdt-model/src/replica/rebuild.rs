//! Rebuilding what a revocation or an equivocation took something away from.
//!
//! Authorization of a change depends on the trust state and on its own record's past only (no
//! change depends on another record), so a rebuild need not touch every record: it rebuilds every
//! record with a change signed by a device whose standing differs from before, and the records of
//! new equivocations. Every other record would be judged exactly as it was. The trust record itself
//! is rebuilt only for an equivocation inside it: which trust entries are accepted never depends on
//! revocations (see `trust::state`), so a revocation changes standings, not the trust record.
//! [`Replica::rebuilt`] is the full rebuild from every envelope, kept as the oracle that
//! `store check` and the property tests compare with.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::change::envelope::{Checked, SignedChange};
use crate::doc_id::{DocId, DocKind};
use crate::identity::DeviceId;
use crate::replica::{IngestReport, QuarantineBounds, Replica, Slot};
use crate::trust::state::TrustState;

/// Devices whose certificates stand differently in `after` than in `before`.
fn changed_devices(before: &TrustState, after: &TrustState) -> BTreeSet<DeviceId> {
    let (a, b) = (before.standings(), after.standings());
    a.keys()
        .chain(b.keys())
        .filter(|d| a.get(*d) != b.get(*d))
        .copied()
        .collect()
}

impl Replica {
    /// Rebuilds what the pending plan names, then rewrites `report` as what changed relative to
    /// before this ingest: envelopes applied now that were not before, and envelopes quarantined
    /// now that were not before.
    pub(crate) fn rebuild_and_report(&mut self, report: &mut IngestReport) {
        let this_applied: BTreeSet<[u8; 32]> =
            report.applied.iter().map(SignedChange::digest).collect();
        let this_quarantined: BTreeSet<[u8; 32]> =
            report.quarantined.iter().map(|(e, _)| e.digest()).collect();
        let mut before_applied = BTreeSet::new();
        let mut before_quarantined = BTreeSet::new();
        let nested = self.rebuild(&mut |replica, doc| {
            if let Some(state) = replica.state(doc) {
                before_applied.extend(
                    state
                        .applied_envelopes()
                        .map(SignedChange::digest)
                        .filter(|d| !this_applied.contains(d)),
                );
            }
            before_quarantined.extend(
                replica
                    .quarantine
                    .iter()
                    .filter(|(d, q)| &q.envelope.doc == doc && !this_quarantined.contains(*d))
                    .map(|(d, _)| *d),
            );
        });
        let rebuilt_docs = nested.1;
        let nested = nested.0;
        report.rebuilt = true;
        let mut applied: Vec<SignedChange> = std::mem::take(&mut report.applied)
            .into_iter()
            .filter(|e| !rebuilt_docs.contains(&e.doc))
            .collect();
        let mut seen: BTreeSet<[u8; 32]> = applied.iter().map(SignedChange::digest).collect();
        for e in nested.applied {
            let d = e.digest();
            if !before_applied.contains(&d) && seen.insert(d) {
                applied.push(e);
            }
        }
        report.applied = applied;
        let mut quarantined: Vec<(SignedChange, crate::Rejection)> =
            std::mem::take(&mut report.quarantined)
                .into_iter()
                .filter(|(e, _)| {
                    !rebuilt_docs.contains(&e.doc) && self.quarantine.contains_key(&e.digest())
                })
                .collect();
        let mut seen: BTreeSet<[u8; 32]> = quarantined.iter().map(|(e, _)| e.digest()).collect();
        for (e, r) in nested.quarantined {
            let d = e.digest();
            if !before_quarantined.contains(&d)
                && self.quarantine.contains_key(&d)
                && seen.insert(d)
            {
                quarantined.push((e, r));
            }
        }
        report.quarantined = quarantined;
    }

    /// Runs the pending plan: the trust record when trust lost something, then the records signed
    /// by devices whose standing changed, and records of new equivocations. `before` sees each
    /// record just before it is rebuilt. Returns what the nested ingests did and the records rebuilt.
    fn rebuild(
        &mut self,
        before: &mut dyn FnMut(&Replica, &DocId),
    ) -> (IngestReport, BTreeSet<DocId>) {
        self.rebuilding = true;
        let mut nested = IngestReport::default();
        let mut rebuilt = BTreeSet::new();
        // A rebuild can reveal more (a revocation that only now takes effect): repeat until none
        // is pending. Each round rebuilds at least the trust record or a record; bounded below.
        for _ in 0..16 {
            let plan = std::mem::take(&mut self.plan);
            if plan.is_empty() {
                break;
            }
            let mut docs = plan.docs;
            // Which trust entries are accepted never depends on revocations (membership ignores
            // them and only grows), so a revocation leaves the trust record as it is: only the
            // standing of devices changes, and the trust state already holds it. An equivocation
            // inside the trust record is another matter: both sides leave it, and the trust state
            // is recomputed from what remains.
            let trust_doc = DocId::trust();
            let mut changed = plan.changed;
            if docs.remove(&trust_doc) {
                before(self, &trust_doc);
                let old = self.trust.clone();
                let mut trust = TrustState::new(self.trust.genesis().clone());
                trust.add(self.bootstrap.clone());
                self.trust = Arc::new(trust);
                nested.absorb(self.rebuild_record(&trust_doc));
                rebuilt.insert(trust_doc);
                // Rebuilt from nothing: every device "changed" on the way; compare with before.
                let _ = Arc::make_mut(&mut self.trust).take_changed();
                self.plan.changed.clear();
                changed.extend(changed_devices(&old, &self.trust));
            }
            if !changed.is_empty() {
                docs.extend(
                    self.slots
                        .iter()
                        .filter(|(id, slot)| {
                            !matches!(id.kind(), DocKind::Trust)
                                && changed.iter().any(|d| slot.signed_by(d))
                        })
                        .map(|(id, _)| id.clone()),
                );
            }
            docs.remove(&DocId::trust());
            for doc in docs {
                before(self, &doc);
                nested.absorb(self.rebuild_record(&doc));
                rebuilt.insert(doc);
            }
            // What waits (a dependency, a certificate, kept heads) is retried once, after all.
            self.retry_quarantine(&mut nested);
            // The records signed by every device whose standing changed were rebuilt above.
        }
        self.plan = Default::default();
        self.rebuilding = false;
        (nested, rebuilt)
    }

    /// Forgets one record's derived state and ingests its envelopes again (applied and
    /// quarantined), keeping its pool: the pool is a function of the envelopes, and keeping it is
    /// what lets neither side of an equivocation apply again.
    fn rebuild_record(&mut self, doc: &DocId) -> IngestReport {
        let old = self.state(doc);
        // Applied before: their signatures were checked then. Quarantined ones are checked in full.
        let mut checked: Vec<Checked> = old
            .as_ref()
            .map(|s| {
                s.applied_envelopes()
                    .cloned()
                    .map(Checked::applied_before)
                    .collect()
            })
            .unwrap_or_default();
        let mut envelopes: Vec<SignedChange> = Vec::new();
        let waiting: Vec<[u8; 32]> = self
            .quarantine
            .iter()
            .filter(|(_, q)| &q.envelope.doc == doc)
            .map(|(d, _)| *d)
            .collect();
        for digest in waiting {
            if let Some(entry) = self.leave_quarantine(&digest) {
                envelopes.push(entry.envelope);
            }
        }
        if let Some(old) = old {
            let fresh = old.reset_keeping_pool();
            self.cache().take(doc);
            self.slots.insert(doc.clone(), Slot::Open(Arc::new(fresh)));
            if self.rest.is_some() {
                self.dirty.insert(doc.clone());
            }
        }
        checked.extend(Checked::all(envelopes));
        self.ingest_checked(checked)
    }

    /// Every envelope held, applied or quarantined: trust record first. Reads every record.
    pub fn all_envelopes(&self) -> Vec<SignedChange> {
        let mut trust = Vec::new();
        let mut other = Vec::new();
        for doc in self.slots.keys() {
            let target = if matches!(doc.kind(), DocKind::Trust) {
                &mut trust
            } else {
                &mut other
            };
            if let Some(state) = self.state(doc) {
                target.extend(state.applied_envelopes().cloned());
            }
        }
        for entry in self.quarantine.values() {
            let target = if matches!(entry.envelope.doc.kind(), DocKind::Trust) {
                &mut trust
            } else {
                &mut other
            };
            target.push(entry.envelope.clone());
        }
        trust.extend(other);
        trust
    }

    /// The full rebuild: a fresh replica of the same network, device and bootstrap certificates,
    /// fed every envelope this one holds, trust first. What this replica holds must equal it
    /// (see [`Replica::differences`]); the incremental rebuild and a reopened store are checked so.
    ///
    /// The records are fed a slice at a time and rest in memory in their compact form, so checking
    /// a node of 100 000 records needs about what its store holds, not every document open.
    pub fn rebuilt(&self) -> Replica {
        /// Envelopes fed between two settles.
        const SLICE: usize = 1_000;
        let rest = Arc::new(crate::replica::MemRest::new());
        let mut fresh = Replica::new(self.trust.genesis().clone());
        fresh.q_kept = QuarantineBounds::new(self.q_kept.entries_max, self.q_kept.bytes_max);
        fresh.local = self.local;
        fresh.set_rest(rest.clone(), crate::replica::OPEN_RECORDS_DEFAULT);
        fresh.add_certificates(self.bootstrap.clone());
        let settle = |fresh: &mut Replica| {
            rest.write(&fresh.unsettled());
            fresh.settle();
        };
        let quarantined = |trust: bool| {
            self.quarantine
                .values()
                .filter(move |q| matches!(q.envelope.doc.kind(), DocKind::Trust) == trust)
                .map(|q| q.envelope.clone())
        };
        // Trust first, so the trust state is final before any other record is judged.
        let mut trust: Vec<SignedChange> = self
            .state(&DocId::trust())
            .map(|s| s.applied_envelopes().cloned().collect())
            .unwrap_or_default();
        trust.extend(quarantined(true));
        fresh.ingest(trust);
        settle(&mut fresh);
        let mut batch: Vec<SignedChange> = Vec::new();
        for doc in self
            .slots
            .keys()
            .filter(|d| !matches!(d.kind(), DocKind::Trust))
        {
            if let Some(state) = self.state(doc) {
                batch.extend(state.applied_envelopes().cloned());
            }
            if batch.len() >= SLICE {
                fresh.ingest(std::mem::take(&mut batch));
                settle(&mut fresh);
            }
        }
        batch.extend(quarantined(false));
        fresh.ingest(batch);
        settle(&mut fresh);
        fresh
    }

    /// Where this replica and `other` differ in what they hold: per record, the applied changes and
    /// which of them are content; the quarantine's envelopes; the equivocations; the trust state's
    /// standings. Empty when they agree. Reads every record of both.
    pub fn differences(&self, other: &Replica) -> Vec<String> {
        let mut out = Vec::new();
        let ids: BTreeSet<&DocId> = self.records().chain(other.records()).collect();
        for doc in ids {
            let (a, b) = (self.record(doc), other.record(doc));
            let summary = |s: &Option<Arc<crate::replica::DocState>>| {
                s.as_ref().map(|s| {
                    let applied: BTreeSet<_> = s.deps.keys().copied().collect();
                    (applied, s.content.clone())
                })
            };
            if summary(&a) != summary(&b) {
                out.push(format!(
                    "{doc}: {} applied here, {} in the rebuild",
                    a.as_ref().map_or(0, |s| s.deps.len()),
                    b.as_ref().map_or(0, |s| s.deps.len())
                ));
            }
        }
        let qa: BTreeSet<_> = self.quarantine.keys().collect();
        let qb: BTreeSet<_> = other.quarantine.keys().collect();
        if qa != qb {
            out.push(format!(
                "quarantine: {} entries here, {} in the rebuild ({} differ)",
                qa.len(),
                qb.len(),
                qa.symmetric_difference(&qb).count()
            ));
        }
        let ea: BTreeSet<_> = self.equivocations.keys().collect();
        let eb: BTreeSet<_> = other.equivocations.keys().collect();
        if ea != eb {
            out.push(format!(
                "equivocations: {} here, {} in the rebuild",
                ea.len(),
                eb.len()
            ));
        }
        if self.trust.standings() != other.trust.standings() {
            out.push("trust: certificates stand differently".into());
        }
        out
    }
}
