//! The protocol's steps as pure functions of the replica: the node and the simulator call these and
//! move the resulting messages; [`Replica::ingest`] takes in what arrives.

use std::collections::BTreeSet;

use automerge::ChangeHash;
use sha2::{Digest, Sha256};

use crate::change::envelope::SignedChange;
use crate::identity::DeviceId;
use crate::records::approval::closure;
use crate::records::DocId;
use crate::replica::{DocState, Replica};
use crate::sync::scope::in_scope;
use crate::sync::wire::{DocDigest, DocHeads, Request, Response, WireLimits};

/// Digest of a record's heads, as offered.
pub fn heads_digest(heads: &[ChangeHash]) -> [u8; 16] {
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut hasher = Sha256::new();
    for h in &sorted {
        hasher.update(h.0);
    }
    let full = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// One digest over a list of (record, heads digest), in record order.
pub fn set_digest(docs: &[DocDigest]) -> [u8; 16] {
    let mut hasher = Sha256::new();
    for d in docs {
        hasher.update(d.doc.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(d.digest);
    }
    let full = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Fills a list of changes up to the byte and count budget.
struct Budget {
    bytes_left: usize,
    changes_left: usize,
    cut: bool,
}

impl Budget {
    fn new(limits: &WireLimits) -> Self {
        Budget {
            // Leave room for the message's own framing and head lists.
            bytes_left: limits
                .message_bytes_max
                .saturating_sub(limits.message_bytes_max / 8),
            changes_left: limits.changes_per_message_max,
            cut: false,
        }
    }

    fn take(&mut self, change: &SignedChange, out: &mut Vec<SignedChange>) -> bool {
        let size = change.change.len() + change.doc.as_str().len() + 112;
        if self.changes_left == 0 || size > self.bytes_left {
            self.cut = true;
            return false;
        }
        self.changes_left -= 1;
        self.bytes_left -= size;
        out.push(change.clone());
        true
    }
}

fn missing_from<'a>(
    state: &'a DocState,
    their_heads: &[ChangeHash],
) -> impl Iterator<Item = &'a SignedChange> + 'a {
    let known: Vec<ChangeHash> = their_heads
        .iter()
        .filter(|h| state.deps.contains_key(h))
        .copied()
        .collect();
    let have: BTreeSet<ChangeHash> = closure(&known, &state.deps);
    state
        .order
        .iter()
        .filter(move |h| !have.contains(h))
        .filter_map(|h| state.envelopes.get(h))
}

fn hashes(raw: &[[u8; 32]]) -> Vec<ChangeHash> {
    raw.iter().map(|b| ChangeHash(*b)).collect()
}

impl Replica {
    /// True when the local device should hold `doc` (always, when the replica has no local device).
    fn wants(&self, doc: &DocId) -> bool {
        self.local_device()
            .is_none_or(|me| in_scope(self.trust(), doc, me))
    }

    fn shared_digests(&self, peer: &DeviceId) -> Vec<DocDigest> {
        self.docs()
            .iter()
            .filter(|(doc, _)| in_scope(self.trust(), doc, peer))
            .map(|(doc, state)| DocDigest {
                doc: doc.clone(),
                digest: heads_digest(&state.heads()),
            })
            .collect()
    }

    /// Starts a round with `peer`: one digest over every record both may hold. Two peers in sync are
    /// done after one exchange of a few dozen bytes; otherwise the peer answers `NeedList`.
    pub fn offer_summary(&self, peer: &DeviceId) -> Request {
        let docs = self.shared_digests(peer);
        Request::Offer {
            network: self.trust().genesis().network_id(),
            set_digest: set_digest(&docs),
            summary_only: true,
            docs: Vec::new(),
        }
    }

    /// The full offer to `peer`: every record held that the peer may hold, and its heads digest.
    pub fn offer(&self, peer: &DeviceId) -> Request {
        let docs = self.shared_digests(peer);
        Request::Offer {
            network: self.trust().genesis().network_id(),
            set_digest: set_digest(&docs),
            summary_only: false,
            docs,
        }
    }

    /// Answers `peer`'s offer: only records this node should hold are asked for, only records the
    /// peer may hold are sent.
    pub fn answer_offer(
        &self,
        request: &Request,
        peer: &DeviceId,
        limits: &WireLimits,
    ) -> Response {
        let Request::Offer {
            network,
            docs,
            summary_only,
            set_digest: theirs,
        } = request
        else {
            return Response::Refused {
                reason: "expected an offer".into(),
            };
        };
        if network != &self.trust().genesis().network_id() {
            return Response::Refused {
                reason: format!(
                    "this node is in network {}, not {network}",
                    self.trust().genesis().network_id()
                ),
            };
        }
        if *summary_only {
            let mine = set_digest(&self.shared_digests(peer));
            return if &mine == theirs {
                Response::InSync
            } else {
                Response::NeedList
            };
        }
        let mut want = Vec::new();
        let offered: BTreeSet<&DocId> = docs.iter().map(|d| &d.doc).collect();
        for entry in docs.iter().filter(|e| self.wants(&e.doc)) {
            match self.docs().get(&entry.doc) {
                None => want.push(DocHeads {
                    doc: entry.doc.clone(),
                    heads: Vec::new(),
                }),
                Some(state) if heads_digest(&state.heads()) != entry.digest => {
                    want.push(DocHeads {
                        doc: entry.doc.clone(),
                        heads: state.heads().iter().map(|h| h.0).collect(),
                    })
                }
                Some(_) => {}
            }
        }
        let mut budget = Budget::new(limits);
        let mut changes = Vec::new();
        // The trust record first, so the receiver knows the authors of everything after it.
        let mut unknown: Vec<(&DocId, &DocState)> = self
            .docs()
            .iter()
            .filter(|(doc, _)| !offered.contains(doc) && in_scope(self.trust(), doc, peer))
            .collect();
        unknown.sort_by_key(|(doc, _)| !matches!(doc.kind(), crate::records::DocKind::Trust));
        'outer: for (_, state) in unknown {
            for change in missing_from(state, &[]) {
                if !budget.take(change, &mut changes) {
                    break 'outer;
                }
            }
        }
        Response::OfferReply {
            want,
            changes,
            more: budget.cut,
        }
    }

    /// The push that follows an offer reply: what `peer` lacks of the records it named (and may hold),
    /// and our heads.
    pub fn push_for(
        &self,
        want: &[DocHeads],
        peer: &DeviceId,
        limits: &WireLimits,
    ) -> (Request, bool) {
        let mut budget = Budget::new(limits);
        let mut changes = Vec::new();
        let mut heads = Vec::new();
        let mut full = false;
        for entry in want.iter().filter(|e| in_scope(self.trust(), &e.doc, peer)) {
            let Some(state) = self.docs().get(&entry.doc) else {
                continue;
            };
            heads.push(DocHeads {
                doc: entry.doc.clone(),
                heads: state.heads().iter().map(|h| h.0).collect(),
            });
            if full {
                continue;
            }
            for change in missing_from(state, &hashes(&entry.heads)) {
                if !budget.take(change, &mut changes) {
                    full = true;
                    break;
                }
            }
        }
        let more = budget.cut;
        (Request::Push { changes, heads }, more)
    }

    /// Answers `peer`'s push (after the caller ingested its changes): what the pusher lacks of the
    /// records it may hold.
    pub fn answer_push(&self, request: &Request, peer: &DeviceId, limits: &WireLimits) -> Response {
        let Request::Push { heads, .. } = request else {
            return Response::Refused {
                reason: "expected a push".into(),
            };
        };
        let mut budget = Budget::new(limits);
        let mut changes = Vec::new();
        'outer: for entry in heads
            .iter()
            .filter(|e| in_scope(self.trust(), &e.doc, peer))
        {
            let Some(state) = self.docs().get(&entry.doc) else {
                continue;
            };
            for change in missing_from(state, &hashes(&entry.heads)) {
                if !budget.take(change, &mut changes) {
                    break 'outer;
                }
            }
        }
        Response::PushReply {
            changes,
            more: budget.cut,
        }
    }
}
