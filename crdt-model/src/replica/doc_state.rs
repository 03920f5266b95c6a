//! One record: what authorization and sync need of its past, its signed changes, and its automerge
//! document, opened only when someone reads it.
//!
//! A record at rest is [`DocState::to_rest`]: its applied envelopes in the order applied, which of
//! them are content, and the verified changes of the record that wait unapplied (the record's pool,
//! which revocations and equivocation checks judge against). Everything else — dependencies, authors,
//! heads, sequence numbers, the automerge document — is derived from those when the record is read
//! back, so the row holds no second copy of anything that could disagree with the signed changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use automerge::{Automerge, ChangeHash};
use serde::{Deserialize, Serialize};

use crate::change::envelope::{parse_change, SignedChange};
use crate::change::ops::root_writes;
use crate::identity::DeviceId;
use crate::records::approval::{Approval, Decided, APPROVAL_PREFIX};
use crate::records::station::DocHistory;
use crate::ScalarValue;

/// (automerge actor bytes, sequence number): two verified changes of one record with the same key
/// and different hashes are an equivocation.
pub(crate) type SeqOf = (Vec<u8>, u64);

/// One record: per applied change the dependencies, author and class; the changes of the record
/// that verified but wait (its pool); and the document, opened on first read.
#[derive(Clone, Default)]
pub struct DocState {
    pub(crate) deps: BTreeMap<ChangeHash, Vec<ChangeHash>>,
    pub(crate) authors: BTreeMap<ChangeHash, DeviceId>,
    pub(crate) content: BTreeSet<ChangeHash>,
    /// Applied envelopes in the order applied, which respects dependencies.
    pub(crate) order: Vec<ChangeHash>,
    pub(crate) envelopes: BTreeMap<ChangeHash, SignedChange>,
    /// The applied changes no other applied change depends on, sorted.
    heads: Vec<ChangeHash>,
    /// Dependencies of every verified change of this record, applied or not.
    pub(crate) pool_deps: BTreeMap<ChangeHash, Vec<ChangeHash>>,
    /// Every verified change of this record by (actor, sequence number). Those in `pool_deps` but
    /// not applied are written at rest, so that an equivocation or a change kept by a revocation is
    /// still recognised after a restart.
    pub(crate) seqs: BTreeMap<SeqOf, BTreeSet<ChangeHash>>,
    /// Devices that signed an applied change: the index entry's, kept as changes apply.
    signers: BTreeSet<DeviceId>,
    /// Every approval and rejection applied, with its signer, in the order applied: read from the
    /// change once when it applies, so that views count decisions without parsing changes again.
    decisions: Vec<Decided>,
    doc: OnceLock<Automerge>,
}

/// A verified change of a record that is not applied (yet): what the pool needs of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Waiting {
    deps: Vec<[u8; 32]>,
    #[serde(with = "serde_bytes")]
    actor: Vec<u8>,
    seq: u64,
}

/// The at-rest row of a record (see the module doc), as read. Versioned by the store's schema.
#[derive(Deserialize)]
struct Rest {
    applied: Vec<SignedChange>,
    /// Indexes into `applied` of the content changes (the rest are approvals).
    content: Vec<u32>,
    waiting: Vec<([u8; 32], Waiting)>,
}

/// The same row as written: borrowed, so writing a record copies none of its changes.
#[derive(Serialize)]
struct RestRef<'a> {
    applied: Vec<&'a SignedChange>,
    content: Vec<u32>,
    waiting: Vec<([u8; 32], Waiting)>,
}

/// Why a stored record could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The row is not a record this version wrote.
    #[error("the stored record is unreadable ({0}); `hallsync store check` reports it, a rebuild from peers repairs it")]
    Decode(String),
    /// A stored change does not parse.
    #[error("a stored change of the record does not parse: {0}")]
    Change(String),
}

impl DocState {
    /// The automerge document, opened from the record's changes on first read.
    pub fn doc(&self) -> &Automerge {
        self.doc.get_or_init(|| self.open_doc())
    }

    /// Runs `f` on the document without keeping it open: the open one if it is, else one built for
    /// the call. For reads on records this node only carries (their sealed parts), so that carrying
    /// a record never costs the memory of its open document.
    pub fn with_doc<R>(&self, f: impl FnOnce(&Automerge) -> R) -> R {
        match self.doc.get() {
            Some(doc) => f(doc),
            None => f(&self.open_doc()),
        }
    }

    /// Builds the document from the applied changes, in the order they were applied. They were
    /// verified and applied once already, so a failure here is a store that changed under us: the
    /// document then holds what applied, and `store check` reports the difference.
    fn open_doc(&self) -> Automerge {
        let mut doc = Automerge::new();
        let changes: Vec<automerge::Change> = self
            .order
            .iter()
            .filter_map(|h| self.envelopes.get(h))
            .filter_map(|e| parse_change(&e.change).ok())
            .collect();
        if doc.apply_changes(changes).is_err() {
            // Fall back to one by one, keeping what applies.
            doc = Automerge::new();
            for e in self.order.iter().filter_map(|h| self.envelopes.get(h)) {
                if let Ok(c) = parse_change(&e.change) {
                    let _ = doc.apply_changes(vec![c]);
                }
            }
        }
        doc
    }

    /// The current heads, sorted.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.heads.clone()
    }

    /// True when at least one change of the record applied.
    pub fn is_held(&self) -> bool {
        !self.order.is_empty()
    }

    /// The applied envelopes, in an order that respects dependencies.
    pub fn applied_envelopes(&self) -> impl Iterator<Item = &SignedChange> {
        self.order.iter().filter_map(|h| self.envelopes.get(h))
    }

    /// The applied envelopes with their changes parsed, in an order that respects dependencies.
    /// Their signatures were checked when they applied: views read them without checking again.
    pub fn applied_changes(&self) -> impl Iterator<Item = (&SignedChange, automerge::Change)> {
        self.applied_envelopes()
            .filter_map(|e| parse_change(&e.change).ok().map(|c| (e, c)))
    }

    /// Who signed each applied change.
    pub fn authors(&self) -> &BTreeMap<ChangeHash, DeviceId> {
        &self.authors
    }

    /// Each applied change's dependencies.
    pub fn deps(&self) -> &BTreeMap<ChangeHash, Vec<ChangeHash>> {
        &self.deps
    }

    /// Every approval and rejection applied to this record, with its signer, in the order applied.
    pub(crate) fn decisions(&self) -> &[Decided] {
        &self.decisions
    }

    /// Devices that signed an applied change of this record.
    pub(crate) fn signers(&self) -> &BTreeSet<DeviceId> {
        &self.signers
    }

    pub(crate) fn history(&self) -> DocHistory<'_> {
        DocHistory {
            deps: &self.deps,
            authors: &self.authors,
            content: &self.content,
            record: Some(self),
        }
    }

    /// Records a verified change in the pool; returns the hashes under its (actor, seq) afterwards
    /// and whether the change was new to the pool.
    pub(crate) fn pool(
        &mut self,
        hash: ChangeHash,
        deps: Vec<ChangeHash>,
        seq_of: SeqOf,
    ) -> (&BTreeSet<ChangeHash>, bool) {
        let new = self.pool_deps.insert(hash, deps).is_none();
        let hashes = self.seqs.entry(seq_of).or_default();
        hashes.insert(hash);
        (hashes, new)
    }

    /// Forgets a pooled change (the local device's own refused change).
    pub(crate) fn unpool(&mut self, hash: &ChangeHash, seq_of: &SeqOf) {
        self.pool_deps.remove(hash);
        if let Some(hashes) = self.seqs.get_mut(seq_of) {
            hashes.remove(hash);
            if hashes.is_empty() {
                self.seqs.remove(seq_of);
            }
        }
    }

    /// Applies a verified change that authorization accepted: bookkeeping and heads, and the
    /// document if it is open. A record that is not open stays closed — its document is derived
    /// from its changes when someone reads it — so ingest does not pay for automerge on records
    /// nobody reads. The verdict never depends on whether the document was open: what automerge
    /// could refuse of a parsed, root-only change with its dependencies present is ruled out
    /// before this ([`seq_rule`], and `verify` refuses author footers).
    pub(crate) fn apply(
        &mut self,
        envelope: &SignedChange,
        change: automerge::Change,
        content: bool,
        prepared: Option<Automerge>,
    ) {
        let hash = change.hash();
        let deps = change.deps().to_vec();
        let decided = if content {
            Vec::new()
        } else {
            decisions_in(&change, envelope.author)
        };
        match prepared {
            // The author's own fork already holds exactly this record's applied changes and this
            // one: a document is a function of its set of changes, so it is this record's document
            // after the change, without applying it a second time.
            Some(fork) if self.is_this_plus(&fork, hash, &deps) => {
                self.doc = OnceLock::from(fork);
            }
            _ => {
                if let Some(doc) = self.doc.get_mut() {
                    if doc.apply_changes(vec![change]).is_err() {
                        // Ruled out by the checks before (see above). Should automerge refuse all
                        // the same, the document is derived again from the changes when next read,
                        // as it is for a record that was not open: the verdict stays the same.
                        debug_assert!(false, "automerge refused a change the rules accepted");
                        self.doc = OnceLock::new();
                    }
                }
            }
        }
        self.note_applied(hash, decided, deps, envelope.clone(), content);
    }

    /// The highest sequence number of `actor`'s applied changes to this record (0 when none).
    pub(crate) fn last_seq_of(&self, actor: &[u8]) -> u64 {
        let from = (actor.to_vec(), 0);
        let to = (actor.to_vec(), u64::MAX);
        self.seqs
            .range(from..=to)
            .rev()
            .find(|(_, hashes)| hashes.iter().any(|h| self.deps.contains_key(h)))
            .map_or(0, |((_, seq), _)| *seq)
    }

    /// True when `fork` holds exactly this record's applied changes and `hash` (with `deps`): it
    /// holds all of them, and its heads are this record's after the change. Nothing else can be in
    /// it then: every ancestor of those heads is one of these changes.
    fn is_this_plus(&self, fork: &Automerge, hash: ChangeHash, deps: &[ChangeHash]) -> bool {
        let mut expected: Vec<ChangeHash> = self
            .heads
            .iter()
            .filter(|h| !deps.contains(h))
            .copied()
            .chain(std::iter::once(hash))
            .collect();
        expected.sort();
        let mut heads = fork.get_heads();
        heads.sort();
        heads == expected
            && self
                .order
                .iter()
                .chain(std::iter::once(&hash))
                .all(|h| fork.get_change_meta_by_hash(h).is_some())
    }

    fn note_applied(
        &mut self,
        hash: ChangeHash,
        decided: Vec<Decided>,
        deps: Vec<ChangeHash>,
        envelope: SignedChange,
        content: bool,
    ) {
        self.decisions.extend(decided);
        self.heads.retain(|h| !deps.contains(h));
        if let Err(at) = self.heads.binary_search(&hash) {
            self.heads.insert(at, hash);
        }
        self.deps.insert(hash, deps);
        self.authors.insert(hash, envelope.author);
        self.signers.insert(envelope.author);
        self.order.push(hash);
        self.envelopes.insert(hash, envelope);
        if content {
            self.content.insert(hash);
        }
    }

    /// A record with nothing applied that still knows every pooled change: what a rebuild starts
    /// from, so that neither side of an equivocation can apply again.
    pub(crate) fn reset_keeping_pool(&self) -> DocState {
        DocState {
            pool_deps: self.pool_deps.clone(),
            seqs: self.seqs.clone(),
            ..DocState::default()
        }
    }

    /// The record's at-rest row (see the module doc).
    pub fn to_rest(&self) -> Vec<u8> {
        let applied: Vec<&SignedChange> = self.applied_envelopes().collect();
        let content = self
            .order
            .iter()
            .enumerate()
            .filter(|(_, h)| self.content.contains(h))
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        let waiting = self
            .seqs
            .iter()
            .flat_map(|((actor, seq), hashes)| {
                hashes
                    .iter()
                    .filter(|h| !self.deps.contains_key(h))
                    .filter_map(move |h| {
                        let deps = self.pool_deps.get(h)?;
                        Some((
                            h.0,
                            Waiting {
                                deps: deps.iter().map(|d| d.0).collect(),
                                actor: actor.clone(),
                                seq: *seq,
                            },
                        ))
                    })
            })
            .collect();
        let rest = RestRef {
            applied,
            content,
            waiting,
        };
        // Encoding plain vectors, byte strings and integers into a Vec cannot fail.
        postcard::to_stdvec(&rest).unwrap_or_else(|e| unreachable!("postcard of a record: {e}"))
    }

    /// Reads a record back from its at-rest row. The document is opened on first read.
    ///
    /// # Errors
    /// [`RestError`] when the row is not one this version wrote or a change does not parse.
    pub fn from_rest(bytes: &[u8]) -> Result<DocState, RestError> {
        let rest: Rest =
            postcard::from_bytes(bytes).map_err(|e| RestError::Decode(e.to_string()))?;
        let content: BTreeSet<u32> = rest.content.into_iter().collect();
        let mut state = DocState::default();
        for (i, envelope) in rest.applied.into_iter().enumerate() {
            let change =
                parse_change(&envelope.change).map_err(|e| RestError::Change(e.to_string()))?;
            let hash = change.hash();
            let deps = change.deps().to_vec();
            let seq_of = (change.actor_id().to_bytes().to_vec(), change.seq());
            state.pool_deps.insert(hash, deps.clone());
            state.seqs.entry(seq_of).or_default().insert(hash);
            let is_content = u32::try_from(i).is_ok_and(|i| content.contains(&i));
            let decided = if is_content {
                Vec::new()
            } else {
                decisions_in(&change, envelope.author)
            };
            state.note_applied(hash, decided, deps, envelope, is_content);
        }
        for (hash, waiting) in rest.waiting {
            let hash = ChangeHash(hash);
            let deps = waiting.deps.iter().map(|d| ChangeHash(*d)).collect();
            state.pool_deps.insert(hash, deps);
            state
                .seqs
                .entry((waiting.actor, waiting.seq))
                .or_default()
                .insert(hash);
        }
        Ok(state)
    }
}

/// The approvals and rejections a decision change writes, with its signer.
fn decisions_in(change: &automerge::Change, author: DeviceId) -> Vec<Decided> {
    root_writes(change)
        .unwrap_or_default()
        .into_iter()
        .filter(|w| w.key.starts_with(APPROVAL_PREFIX))
        .filter_map(|w| match w.value {
            Some(ScalarValue::Str(text)) => Approval::parse(&text).map(|a| Decided::new(author, a)),
            _ => None,
        })
        .collect()
}

/// The sequence rule: an actor's changes to a record are numbered 1, 2, 3 … each after the one
/// before, as automerge numbers them. Given the last number applied (`last`), a change numbered
/// past the next waits for those between (`Err(Some(missing))`, retried); one numbered at or below
/// the last can never apply (`Err(None)`). Checked before applying, it is what makes automerge's own
/// refusal of a change impossible, so a record need not be open to apply one, and the outcome does
/// not depend on the order the changes arrived in.
pub(crate) fn seq_rule(last: u64, seq: u64) -> Result<(), Option<usize>> {
    match seq.checked_sub(last) {
        Some(1) => Ok(()),
        Some(0) | None => Err(None),
        Some(ahead) => Err(Some(usize::try_from(ahead - 1).unwrap_or(usize::MAX))),
    }
}
