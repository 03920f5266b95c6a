//! Keeping, carrying and erasing cases' sealed parts (issue #14; D1, D3).
//!
//! A case record names its sealed parts (the applicant, each sealed note) by address; the parts
//! rest beside it in the replica's [`PartStore`](crate::replica::parts::PartStore). Every holder of
//! the record, carriers included, keeps the parts it names so that it can forward them, and a
//! holder that lacks one asks its peers for it. Once the case is archived and a party has written
//! its erasure (`entry::case::erase`), every holder erases the parts on applying it and
//! takes none back: the content keys were wrapped only inside the parts, so the personal data is
//! gone everywhere the erasure reaches (crypto-shredding), while the signed changes, which name only
//! digests, stay verifiable and the case's non-personal record stays for statistics.
//!
//! A host calls [`Replica::settle_parts`] after each ingest or local write, with the parts that
//! came with the changes; a node's own parts are kept with [`Replica::keep_own_parts`] before the
//! change that names them is committed.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::change::envelope::SignedChange;
use crate::doc_id::{DocId, DocKind};
use crate::records::case::{named_parts, named_parts_at};
use crate::replica::parts::{part_id, CarriedPart, PartId, MISSING_PARTS_MAX, PART_BYTES_MAX};
use crate::replica::{DocState, Replica};

/// What [`Replica::settle_parts`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartsReport {
    /// Parts kept now.
    pub kept: usize,
    /// Parts already held.
    pub duplicates: usize,
    /// Parts refused, each with why (too large, for a record not held, not named by it, erased).
    pub refused: Vec<String>,
    /// Parts erased now because their case's erasure took effect.
    pub erased: usize,
    /// The store failed: what it said (the parts stay missing and are asked for again).
    pub failures: Vec<String>,
}

/// One step of [`Replica::scan_cases`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseScan {
    /// Archived cases whose personal parts are not erased yet, with when each was archived (ms):
    /// the caller erases those whose retention has passed, where it is a party.
    pub archived: Vec<(DocId, i64)>,
    /// Where the next step starts; `None` when the scan reached the last record.
    pub next: Option<DocId>,
}

impl Replica {
    /// Keeps this node's own new parts (from `entry::case::open` or
    /// `entry::case::seal_note`) before the change naming them is written: the store has
    /// them durably first, so a crash never leaves a case naming a part nobody holds.
    ///
    /// # Errors
    /// A part larger than [`PART_BYTES_MAX`], or the store's failure.
    pub fn keep_own_parts(&self, parts: &[Vec<u8>]) -> Result<(), String> {
        for bytes in parts {
            if bytes.len() > PART_BYTES_MAX {
                return Err(format!(
                    "a sealed part of {} bytes is over the limit of {PART_BYTES_MAX}",
                    bytes.len()
                ));
            }
            self.parts.put(&part_id(bytes), bytes)?;
        }
        Ok(())
    }

    /// After `applied` changes were applied (from a peer or written here): erases the parts of
    /// every case among them whose erasure took effect, notes the parts their records name that
    /// are not held, then keeps the `carried` parts that a held, unerased case names and that are
    /// not held yet. Anything else carried is refused, never stored: a peer cannot fill the store
    /// with parts no record names.
    pub fn settle_parts(
        &mut self,
        applied: &[SignedChange],
        carried: Vec<CarriedPart>,
    ) -> PartsReport {
        let mut report = PartsReport::default();
        let docs: BTreeSet<&DocId> = applied
            .iter()
            .map(|c| &c.doc)
            .filter(|d| matches!(d.kind(), DocKind::Case(..)))
            .collect();
        for doc in docs {
            self.erase_or_note(doc, &mut report);
        }
        for part in carried {
            self.take_part(part, &mut report);
        }
        report
    }

    /// The case `doc`'s state as far as its parts go: erased (and its parts erased here), or the
    /// parts it names that are missing here noted.
    fn erase_or_note(&mut self, doc: &DocId, report: &mut PartsReport) {
        let Some((named, erased)) = self.case_part_standing(doc) else {
            return;
        };
        if erased {
            for id in &named {
                self.missing_parts.remove(id);
                let erased = self.parts.holds(id).and_then(|held| {
                    if held {
                        self.parts.erase(id).map(|()| held)
                    } else {
                        Ok(held)
                    }
                });
                match erased {
                    Ok(true) => report.erased += 1,
                    Ok(false) => {}
                    Err(e) => report.failures.push(e),
                }
            }
            return;
        }
        for id in named {
            match self.parts.holds(&id) {
                Ok(true) => {
                    self.missing_parts.remove(&id);
                }
                Ok(false) if self.missing_parts.len() < MISSING_PARTS_MAX => {
                    self.missing_parts.insert(id, doc.clone());
                }
                Ok(false) => {}
                Err(e) => report.failures.push(e),
            }
        }
    }

    fn take_part(&mut self, part: CarriedPart, report: &mut PartsReport) {
        let refuse = |why: &str| format!("a part for {}: {why}", part.doc);
        if part.bytes.len() > PART_BYTES_MAX {
            report.refused.push(refuse("larger than any sealed part"));
            return;
        }
        let id = part_id(&part.bytes);
        let Some((named, erased)) = self.case_part_standing(&part.doc) else {
            report.refused.push(refuse("the record is not held here"));
            return;
        };
        if !named.contains(&id) {
            report.refused.push(refuse("the record names no such part"));
            return;
        }
        if erased {
            report
                .refused
                .push(refuse("its personal data was erased (D1)"));
            return;
        }
        match self.parts.holds(&id) {
            Ok(true) => report.duplicates += 1,
            Ok(false) => match self.parts.put(&id, &part.bytes) {
                Ok(()) => {
                    self.missing_parts.remove(&id);
                    report.kept += 1;
                }
                Err(e) => report.failures.push(e),
            },
            Err(e) => report.failures.push(e),
        }
    }

    /// What held record `doc` says of its sealed parts: the parts it names, and whether its personal
    /// data is erased (archived, and a party wrote the erasure). Read without keeping the record
    /// open, so carrying a case costs no open document; only an erased one is replayed.
    pub fn case_part_standing(&self, doc: &DocId) -> Option<(Vec<PartId>, bool)> {
        let state = self.record(doc)?;
        let (named, erasure) = state.with_doc(|d| (named_parts(d), erasure_written(d)));
        Some((named, erasure && self.case_erased(doc)))
    }

    /// True when case `doc` is archived and a party erased its personal data.
    pub fn case_erased(&self, doc: &DocId) -> bool {
        self.case(doc, None).is_some_and(|v| v.erased_at.is_some())
    }

    /// The held parts record `state` (of `doc`) names that a peer holding its changes up to
    /// `known` lacks (every part when `known` is empty), to travel with the changes it lacks. A
    /// part a peer lacks despite holding its change is asked for (`need`).
    pub(crate) fn parts_to_carry(
        &self,
        doc: &DocId,
        state: &Arc<DocState>,
        known: &[automerge::ChangeHash],
    ) -> Vec<CarriedPart> {
        if !matches!(doc.kind(), DocKind::Case(..)) {
            return Vec::new();
        }
        let known: Vec<automerge::ChangeHash> = known
            .iter()
            .filter(|h| state.deps.contains_key(h))
            .copied()
            .collect();
        let (named, held_by_peer) = state.with_doc(|d| {
            let held: BTreeSet<PartId> = if known.is_empty() {
                BTreeSet::new()
            } else {
                named_parts_at(d, Some(&known)).into_iter().collect()
            };
            (named_parts(d), held)
        });
        named
            .iter()
            .filter(|id| !held_by_peer.contains(*id))
            .filter_map(|id| self.parts.get(id).ok().flatten())
            .map(|bytes| CarriedPart {
                doc: doc.clone(),
                bytes,
            })
            .collect()
    }

    /// The held parts among `ids` that record `doc` names, to travel because a peer asked for them:
    /// the record is read once for all of them.
    pub(crate) fn parts_asked(&self, doc: &DocId, ids: &[PartId]) -> Vec<CarriedPart> {
        let Some(state) = self.record(doc) else {
            return Vec::new();
        };
        let named: BTreeSet<PartId> = state.with_doc(named_parts).into_iter().collect();
        ids.iter()
            .filter(|id| named.contains(*id))
            .filter_map(|id| self.parts.get(id).ok().flatten())
            .map(|bytes| CarriedPart {
                doc: doc.clone(),
                bytes,
            })
            .collect()
    }

    /// Parts named by held records but missing here, with the record naming each.
    pub fn missing_parts(&self) -> impl Iterator<Item = (&PartId, &DocId)> + '_ {
        self.missing_parts.iter()
    }

    /// One bounded step of a scan over the held cases, from after `after`, looking at no more than
    /// `limit` records: erases what an erasure took effect on and was left (a crash between the
    /// erasure's commit and the erasing), notes missing parts (a restart forgets them), and lists
    /// the archived cases not yet erased for the caller's retention rule.
    pub fn scan_cases(&mut self, after: Option<&DocId>, limit: usize) -> (CaseScan, PartsReport) {
        let mut scan = CaseScan::default();
        let mut report = PartsReport::default();
        let docs: Vec<DocId> = self
            .held_ids_after(after)
            .take(limit.max(1))
            .cloned()
            .collect();
        scan.next = docs.last().cloned();
        for doc in docs {
            if !matches!(doc.kind(), DocKind::Case(..)) {
                continue;
            }
            self.erase_or_note(&doc, &mut report);
            let Some(view) = self.case(&doc, None) else {
                continue;
            };
            if view.erased_at.is_some() {
                continue;
            }
            if let Some(at) = view.archived_at {
                scan.archived.push((doc, at));
            }
        }
        if scan.next.is_some() && self.held_ids_after(scan.next.as_ref()).next().is_none() {
            scan.next = None;
        }
        (scan, report)
    }
}

/// Whether a party wrote the case's erasure (it takes effect once the case is archived).
fn erasure_written(doc: &automerge::Automerge) -> bool {
    use automerge::ReadDoc;
    matches!(
        doc.get(automerge::ROOT, crate::records::case::ERASED_KEY),
        Ok(Some(_))
    )
}
