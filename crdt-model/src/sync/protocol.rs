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
use crate::sync::wire::{bucket_of, DocDigest, DocHeads, Request, Response, WireLimits, BUCKETS};

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

/// Up to this many shared records, a differing pair lists them at once instead of comparing buckets.
pub const LIST_DIRECTLY_MAX: usize = 256;

/// A fingerprint per bucket over the (record, heads digest) pairs in it.
pub fn bucket_fingerprints(docs: &[DocDigest]) -> Vec<[u8; 16]> {
    let mut per: Vec<Vec<DocDigest>> = vec![Vec::new(); BUCKETS];
    for d in docs {
        per[usize::from(bucket_of(&d.doc))].push(d.clone());
    }
    per.iter().map(|b| set_digest(b)).collect()
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
            only_buckets: Vec::new(),
        }
    }

    /// The full offer to `peer`: every record held that the peer may hold, and its heads digest.
    pub fn offer(&self, peer: &DeviceId) -> Request {
        self.offer_buckets(peer, &[])
    }

    /// The step after `NeedList`: with many shared records, bucket fingerprints first; with few, the
    /// full offer at once (a list of a few hundred records is smaller than 256 fingerprints).
    pub fn after_need_list(&self, peer: &DeviceId) -> Request {
        let docs = self.shared_digests(peer);
        if docs.len() <= LIST_DIRECTLY_MAX {
            return self.offer(peer);
        }
        Request::Buckets {
            fingerprints: bucket_fingerprints(&docs),
        }
    }

    /// An offer listing only the records in `buckets` (all records when empty).
    pub fn offer_buckets(&self, peer: &DeviceId, buckets: &[u8]) -> Request {
        let all = self.shared_digests(peer);
        let digest = set_digest(&all);
        let docs = all
            .into_iter()
            .filter(|d| buckets.is_empty() || buckets.contains(&bucket_of(&d.doc)))
            .collect();
        Request::Offer {
            network: self.trust().genesis().network_id(),
            set_digest: digest,
            summary_only: false,
            docs,
            only_buckets: buckets.to_vec(),
        }
    }

    /// Answers `Buckets` from `peer`: the buckets whose fingerprints differ from ours.
    pub fn answer_buckets(&self, request: &Request, peer: &DeviceId) -> Response {
        let Request::Buckets { fingerprints } = request else {
            return Response::Refused {
                reason: "expected buckets".into(),
            };
        };
        let mine = bucket_fingerprints(&self.shared_digests(peer));
        let buckets = (0..BUCKETS)
            .filter(|i| fingerprints.get(*i) != mine.get(*i))
            .map(|i| i as u8)
            .collect();
        Response::DifferingBuckets { buckets }
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
            only_buckets,
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
            .filter(|(doc, _)| only_buckets.is_empty() || only_buckets.contains(&bucket_of(doc)))
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
