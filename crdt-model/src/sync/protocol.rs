//! The protocol's steps as pure functions of the replica: the node and the simulator call these and
//! move the resulting messages; [`Replica::ingest`] takes in the changes that arrive.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use automerge::ChangeHash;
use sha2::{Digest, Sha256};

use crate::change::envelope::SignedChange;
use crate::change::rejection::Rejection;
use crate::doc_id::{DocId, DocKind};
use crate::identity::DeviceId;
use crate::records::approval::closure;
use crate::replica::parts::{CarriedPart, PartId};
use crate::replica::{DocState, Replica};
use crate::sync::peer_state::PeerState;
use crate::sync::ranges::{self, Item, LIST_MAX};
use crate::sync::scope::in_scope;
use crate::sync::wire::{
    DocHave, Listed, Message, NeededPart, Part, Range, Step, WireLimits, DOCS_PER_MESSAGE_MAX,
    HELD_PER_MESSAGE_MAX, NEEDS_PER_MESSAGE_MAX, RANGES_PER_MESSAGE_MAX, SAMPLES_PER_DOC_MAX,
};

/// Most steps the opening side sends in one round: reconciliation of a million records needs five,
/// so a peer that keeps answering with work cannot hold a round open.
pub const STEPS_MAX: usize = 8;

/// The newest changes of a record sampled one by one before the samples thin out.
const DENSE_SAMPLES: usize = 16;

/// Digest of a record's heads.
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

/// First 8 bytes of the SHA-256 of a network id, as every step carries it.
pub fn network_tag(network: &str) -> [u8; 8] {
    let full = Sha256::digest(network.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

fn raw(heads: &[ChangeHash]) -> Vec<[u8; 32]> {
    heads.iter().map(|h| h.0).collect()
}

fn prefix(hash: &ChangeHash) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&hash.0[..8]);
    out
}

/// Samples of a record's history for [`DocHave::samples`]: the newest [`DENSE_SAMPLES`] changes,
/// then every one about 10 % further back than the last, to the first.
pub fn samples(state: &DocState) -> Vec<[u8; 8]> {
    let order = &state.order;
    let mut out = Vec::new();
    let mut back = 1usize;
    while back <= order.len() && out.len() < SAMPLES_PER_DOC_MAX {
        out.push(prefix(&order[order.len() - back]));
        back += if back < DENSE_SAMPLES { 1 } else { back / 10 };
    }
    out
}

/// Byte and count budget of one outgoing step.
struct Budget {
    bytes_left: usize,
    changes_left: usize,
    docs_left: usize,
    ranges_left: usize,
    cut: bool,
}

impl Budget {
    fn new(limits: &WireLimits) -> Self {
        Budget {
            // Leave room for the message's own framing.
            bytes_left: limits
                .message_bytes_max
                .saturating_sub(limits.message_bytes_max / 8),
            changes_left: limits.changes_per_message_max,
            docs_left: DOCS_PER_MESSAGE_MAX,
            ranges_left: RANGES_PER_MESSAGE_MAX,
            cut: false,
        }
    }

    fn spend(&mut self, bytes: usize, changes: usize, docs: usize, ranges: usize) -> bool {
        if bytes > self.bytes_left
            || changes > self.changes_left
            || docs > self.docs_left
            || ranges > self.ranges_left
        {
            self.cut = true;
            return false;
        }
        self.bytes_left -= bytes;
        self.changes_left -= changes;
        self.docs_left -= docs;
        self.ranges_left -= ranges;
        true
    }
}

/// Records to send changes of, and what the peer is known to hold of each.
struct Sends<'r> {
    list: Vec<(&'r DocId, Arc<DocState>, Vec<ChangeHash>)>,
}

/// A step being built.
struct Out<'r> {
    budget: Budget,
    step: Step,
    sends: Sends<'r>,
    /// Changes the peer said it holds unapplied: never sent.
    peer_held: BTreeSet<[u8; 8]>,
}

impl<'r> Out<'r> {
    fn new(
        network: [u8; 8],
        held: Vec<[u8; 8]>,
        peer_held: &[[u8; 8]],
        limits: &WireLimits,
    ) -> Self {
        Out {
            peer_held: peer_held.iter().copied().collect(),
            budget: Budget::new(limits),
            step: Step {
                network,
                ranges: Vec::new(),
                have: Vec::new(),
                want: Vec::new(),
                changes: Vec::new(),
                held,
                fetch: Vec::new(),
                more: false,
                parts: Vec::new(),
                need: Vec::new(),
            },
            sends: Sends { list: Vec::new() },
        }
    }

    fn range(&mut self, range: Range) {
        let (bytes, docs) = match &range {
            Range::Split { parts, .. } => (24 + parts.len() * 14, 0),
            Range::List { items, .. } => (
                24 + items.iter().map(|i| 10 + 8 * i.heads.len()).sum::<usize>(),
                items.len(),
            ),
        };
        if self.budget.spend(bytes, 0, docs, 1) {
            self.step.ranges.push(range);
        }
    }

    fn want(&mut self, key: [u8; 8]) {
        if self.budget.spend(9, 0, 1, 0) {
            self.step.want.push(key);
        }
    }

    fn have(&mut self, have: DocHave) {
        let bytes = have.doc.as_str().len() + 33 * have.heads.len() + 9 * have.samples.len() + 6;
        if self.budget.spend(bytes, 0, 1, 0) {
            self.step.have.push(have);
        }
    }

    /// Adds one change as it is (a change waiting in quarantine that the peer asked for).
    fn extra(&mut self, change: SignedChange) {
        let size = change.change.len() + change.doc.as_str().len() + 112;
        if self.budget.spend(size, 1, 0, 0) {
            self.step.changes.push(change);
        }
    }

    /// Queues the changes of `state` outside the closure of `known` (hashes the peer holds).
    fn send(&mut self, doc: &'r DocId, state: Arc<DocState>, known: Vec<ChangeHash>) {
        self.sends.list.push((doc, state, known));
    }

    /// Adds one sealed part, within budget.
    fn part(&mut self, part: CarriedPart) -> bool {
        let size = part.bytes.len() + part.doc.as_str().len() + 8;
        let fits = self.budget.spend(size, 0, 0, 0);
        if fits {
            self.step.parts.push(part);
        }
        fits
    }

    /// Emits the queued changes within budget, the trust record first so the receiver knows the
    /// authors of everything after it, each record's sealed parts before its first change. Returns
    /// the records sent in full.
    fn finish(mut self, replica: &Replica) -> (Step, Vec<(DocId, Vec<ChangeHash>)>) {
        let mut list = std::mem::take(&mut self.sends.list);
        list.sort_by_key(|(doc, _, _)| !matches!(doc.kind(), DocKind::Trust));
        let mut sent: BTreeSet<ChangeHash> = BTreeSet::new();
        let mut complete = Vec::new();
        'docs: for (doc, state, known) in list {
            let have = closure(&known, &state.deps);
            let mut parts_sent = false;
            for hash in state.order.iter().filter(|h| !have.contains(h)) {
                let Some(change) = state.envelopes.get(hash) else {
                    continue;
                };
                if self.peer_held.contains(&prefix(hash)) || !sent.insert(*hash) {
                    continue;
                }
                if !parts_sent {
                    parts_sent = true;
                    for part in replica.parts_to_carry(doc, &state, &known) {
                        if !self.part(part) {
                            break 'docs;
                        }
                    }
                }
                let size = change.change.len() + change.doc.as_str().len() + 112;
                if !self.budget.spend(size, 1, 0, 0) {
                    break 'docs;
                }
                self.step.changes.push(change.clone());
            }
            complete.push((doc.clone(), state.heads()));
        }
        self.step.more |= self.budget.cut;
        (self.step, complete)
    }
}

impl Replica {
    /// True when the local device should hold `doc` (always, when the replica has no local device).
    fn wants(&self, doc: &DocId) -> bool {
        self.local_device()
            .is_none_or(|me| in_scope(self.trust(), doc, me))
    }

    /// The records both this node and `peer` should hold, in key order.
    /// A digest of what this node holds that `peer` should hold too (the root of the first step's
    /// range): two nodes whose records in their shared scope agree print the same value for each
    /// other, whatever else each holds (`state_digest` covers everything held, so it never matches
    /// between levels).
    pub fn shared_digest(&self, peer: &DeviceId) -> String {
        hex::encode(&ranges::fingerprint(&self.sync_items(peer))[..8])
    }

    fn sync_items(&self, peer: &DeviceId) -> Vec<Item<'_>> {
        let mut items: Vec<Item<'_>> = self
            .records()
            .filter(|doc| in_scope(self.trust(), doc, peer) && self.wants(doc))
            .map(|doc| Item {
                key: ranges::key_of(doc),
                doc,
                heads_digest: heads_digest(&self.heads_of(doc).unwrap_or_default()),
            })
            .collect();
        ranges::sort(&mut items);
        items
    }

    /// Changes in quarantine that wait for history (missing dependencies, or a revocation whose
    /// kept heads are not all known yet) or are evidence of an equivocation (so every node flags
    /// both versions, not only those that happened to receive both), by certified authors, for
    /// records `peer` may hold, keyed by prefix. Junk (bad signatures, strangers, refusals) is never
    /// offered, so it cannot travel.
    fn waiting_for(&self, peer: &DeviceId) -> BTreeMap<[u8; 8], &SignedChange> {
        self.quarantine()
            .values()
            .filter(|q| {
                matches!(
                    q.reason,
                    Rejection::MissingDependency { .. }
                        | Rejection::Revoked { .. }
                        | Rejection::Equivocation { .. }
                )
            })
            .filter(|q| self.trust().is_known(&q.envelope.author))
            .filter(|q| in_scope(self.trust(), &q.envelope.doc, peer))
            .filter_map(|q| {
                crate::change::envelope::parse_change(&q.envelope.change)
                    .ok()
                    .map(|c| (prefix(&c.hash()), &q.envelope))
            })
            .take(HELD_PER_MESSAGE_MAX)
            .collect()
    }

    /// Prefixes of changes held in quarantine for records `peer` may hold (see [`Step::held`]).
    fn held_for(&self, peer: &DeviceId) -> Vec<[u8; 8]> {
        self.waiting_for(peer).into_keys().collect()
    }

    /// Of `offered` prefixes, those of changes this node holds in no form.
    fn unknown_of(&self, offered: &[[u8; 8]]) -> Vec<[u8; 8]> {
        if offered.is_empty() {
            return Vec::new();
        }
        // Changes of open records (every record, when they do not rest elsewhere). A change of a
        // record at rest may be fetched once more than needed: it arrives as a duplicate, which
        // costs its bytes and nothing else.
        let mut known: BTreeSet<[u8; 8]> = self.open_change_prefixes();
        known.extend(self.quarantine().values().filter_map(|q| {
            crate::change::envelope::parse_change(&q.envelope.change)
                .ok()
                .map(|c| prefix(&c.hash()))
        }));
        offered
            .iter()
            .filter(|p| !known.contains(*p))
            .copied()
            .collect()
    }

    /// The parts this node lacks that `peer` may hold (it shares the records naming them).
    fn needs_for(&self, peer: &DeviceId) -> Vec<NeededPart> {
        self.missing_parts()
            .filter(|(_, doc)| in_scope(self.trust(), doc, peer))
            .take(NEEDS_PER_MESSAGE_MAX)
            .map(|(id, doc)| NeededPart {
                doc: doc.clone(),
                id: *id,
            })
            .collect()
    }

    fn network(&self) -> [u8; 8] {
        network_tag(&self.trust().genesis().network_id().0)
    }

    /// Opens a round with `peer`: one fingerprint over every record both should hold (peers in sync
    /// are done after this and its answer), and the changes written since `peer` last stated its
    /// heads, so a reconnecting peer receives them at once.
    pub fn sync_open(&self, peer: &DeviceId, state: &mut PeerState, limits: &WireLimits) -> Step {
        let items = self.sync_items(peer);
        let held = state.to_offer(self.held_for(peer));
        let mut out = Out::new(self.network(), held, &[], limits);
        let root = ranges::fingerprint(&items);
        out.range(Range::Split {
            lo: 0,
            hi: u64::MAX,
            parts: vec![Part {
                count: u32::try_from(items.len()).unwrap_or(u32::MAX),
                fingerprint: root,
            }],
        });
        self.push_since(&items, state, &mut out);
        out.step.need = self.needs_for(peer);
        let (step, complete) = out.finish(self);
        for (doc, heads) in complete {
            state.note(&doc, raw(&heads));
        }
        // What the peer holds if it answers "all equal": the records with the heads just sent.
        state.opened(root);
        step
    }

    /// Answers `peer`'s step. The caller ingests `incoming.changes` first, so the answer reflects
    /// them. `Refused` when the peer is of another network; an empty step ends the round.
    pub fn sync_answer(
        &self,
        incoming: &Step,
        peer: &DeviceId,
        state: &mut PeerState,
        limits: &WireLimits,
    ) -> Message {
        if incoming.network != self.network() {
            return Message::Refused {
                reason: format!(
                    "this node is in network {}; the peer is not",
                    self.trust().genesis().network_id()
                ),
            };
        }
        let items = self.sync_items(peer);
        let opened = state.take_opened();
        if incoming.is_empty() && opened.is_some() && opened == Some(ranges::fingerprint(&items)) {
            // The answer to this node's opening step, and nothing to do: the peer holds exactly this.
            self.note_equal(&items, state);
        }
        let mut out = Out::new(self.network(), self.held_for(peer), &incoming.held, limits);
        for range in &incoming.ranges {
            match range {
                Range::Split { lo, hi, parts } => {
                    if range.is_opening() {
                        if parts[0].fingerprint == ranges::fingerprint(&items) {
                            self.note_equal(&items, state);
                        } else {
                            // The peer opened and differs: send at once what was written here
                            // since it last stated its heads; the parts below then find the rest.
                            self.push_since(&items, state, &mut out);
                        }
                    }
                    self.answer_split(&items, (*lo, *hi), parts, &mut out)
                }
                Range::List {
                    lo,
                    hi,
                    items: theirs,
                } => self.answer_list(&items, (*lo, *hi), theirs, state, &mut out),
            }
        }
        for key in &incoming.want {
            let key = u64::from_be_bytes(*key);
            for item in ranges::within(&items, key, key) {
                if let Some(mine) = self.record(item.doc) {
                    out.send(item.doc, mine, Vec::new());
                }
            }
        }
        out.step.fetch = self.unknown_of(&incoming.held);
        if !incoming.fetch.is_empty() {
            let waiting = self.waiting_for(peer);
            for p in &incoming.fetch {
                if let Some(change) = waiting.get(p) {
                    out.extra((*change).clone());
                }
            }
        }
        let carried: BTreeSet<&DocId> = incoming.changes.iter().map(|c| &c.doc).collect();
        for doc in &carried {
            // The peer holds what it sent; the rest of this round settles whatever else differs,
            // so noting this node's heads keeps the next opening step from sending it back.
            if let Some(heads) = self.heads_of(doc) {
                state.note(doc, raw(&heads));
            }
        }
        for have in &incoming.have {
            self.answer_have(have, carried.contains(&have.doc), peer, state, &mut out);
        }
        // Parts the peer lacks, by record (each read once), for records it shares with this node.
        let mut asked: BTreeMap<&DocId, Vec<PartId>> = BTreeMap::new();
        for needed in &incoming.need {
            asked.entry(&needed.doc).or_default().push(needed.id);
        }
        'asked: for (doc, ids) in asked {
            if !in_scope(self.trust(), doc, peer) {
                continue;
            }
            for part in self.parts_asked(doc, &ids) {
                if !out.part(part) {
                    break 'asked;
                }
            }
        }
        if incoming.ranges.iter().any(Range::is_opening) {
            out.step.need = self.needs_for(peer);
        }
        let (mut step, complete) = out.finish(self);
        for (doc, heads) in complete {
            state.note(&doc, raw(&heads));
        }
        // Held prefixes matter where the peer is about to send changes (it answers ranges, `have`
        // and `want`) and once a round for fetching (the answer to an opening step); elsewhere they
        // would only repeat.
        let answers_opening = incoming.ranges.iter().any(Range::is_opening);
        if step.ranges.is_empty() && step.have.is_empty() && step.want.is_empty() {
            step.held = if answers_opening {
                state.to_offer(std::mem::take(&mut step.held))
            } else {
                Vec::new()
            };
        }
        Message::Step(step)
    }

    /// Queues what was written since `peer` last stated its heads (see [`PeerState`]).
    fn push_since<'r>(&'r self, items: &[Item<'r>], state: &PeerState, out: &mut Out<'r>) {
        for item in items {
            let Some(mine) = self.record(item.doc) else {
                continue;
            };
            match state.heads(item.doc) {
                Some(theirs) => {
                    let theirs: Vec<ChangeHash> = theirs.iter().map(|h| ChangeHash(*h)).collect();
                    if heads_digest(&theirs) != item.heads_digest
                        && theirs.iter().all(|h| mine.deps.contains_key(h))
                    {
                        out.send(item.doc, mine, theirs);
                    }
                }
                // Written since the last round that found both sides equal: the peer has none of it.
                None if state.primed() => out.send(item.doc, mine, Vec::new()),
                None => {}
            }
        }
    }

    fn note_equal(&self, items: &[Item<'_>], state: &mut PeerState) {
        state.note_all(
            items
                .iter()
                .filter_map(|i| self.heads_of(i.doc).map(|h| (i.doc, raw(&h)))),
        );
    }

    fn answer_split<'r>(
        &'r self,
        items: &[Item<'r>],
        (lo, hi): (u64, u64),
        parts: &[Part],
        out: &mut Out<'r>,
    ) {
        for (i, part) in parts.iter().enumerate() {
            let Some((a, b)) = ranges::part_bounds(lo, hi, parts.len(), i) else {
                continue;
            };
            let mine = ranges::within(items, a, b);
            if mine.len() == part.count as usize && ranges::fingerprint(mine) == part.fingerprint {
                continue;
            }
            if part.count == 0 {
                // They hold none of these: send them whole.
                for item in mine {
                    if let Some(state) = self.record(item.doc) {
                        out.send(item.doc, state, Vec::new());
                    }
                }
            } else if mine.len() <= LIST_MAX {
                let listed = mine
                    .iter()
                    .filter_map(|i| {
                        self.heads_of(i.doc).map(|h| Listed {
                            key: i.key.to_be_bytes(),
                            heads: h.iter().map(prefix).collect(),
                        })
                    })
                    .collect();
                out.range(Range::List {
                    lo: a,
                    hi: b,
                    items: listed,
                });
            } else {
                let n = ranges::fanout(mine.len().max(part.count as usize));
                out.range(Range::Split {
                    lo: a,
                    hi: b,
                    parts: ranges::split(mine, a, b, n),
                });
            }
        }
    }

    fn answer_list<'r>(
        &'r self,
        items: &[Item<'r>],
        (lo, hi): (u64, u64),
        theirs: &[Listed],
        state: &mut PeerState,
        out: &mut Out<'r>,
    ) {
        let mine = ranges::within(items, lo, hi);
        let listed: BTreeMap<u64, &Listed> = theirs
            .iter()
            .map(|l| (u64::from_be_bytes(l.key), l))
            .filter(|(k, _)| (lo..=hi).contains(k))
            .collect();
        for item in mine {
            let Some(mine_state) = self.record(item.doc) else {
                continue;
            };
            let Some(entry) = listed.get(&item.key) else {
                // They hold none of it.
                out.send(item.doc, mine_state.clone(), Vec::new());
                continue;
            };
            let shares_key = mine.iter().filter(|i| i.key == item.key).count() > 1;
            let wanted: BTreeSet<[u8; 8]> = entry.heads.iter().copied().collect();
            let known: Vec<ChangeHash> = mine_state
                .order
                .iter()
                .rev()
                .filter(|h| wanted.contains(&prefix(h)))
                .copied()
                .collect();
            let heads = mine_state.heads();
            if !shares_key && known.len() == wanted.len() {
                let mut sorted = known.clone();
                sorted.sort();
                state.note(item.doc, raw(&sorted));
                if sorted != heads {
                    // They lack only what came after heads this node knows: exactly that goes.
                    out.send(item.doc, mine_state.clone(), known);
                }
            } else {
                out.have(DocHave {
                    doc: item.doc.clone(),
                    heads: raw(&heads),
                    samples: samples(&mine_state),
                });
            }
        }
        for key in listed.keys() {
            if !mine.iter().any(|i| i.key == *key) {
                out.want(key.to_be_bytes());
            }
        }
    }

    fn answer_have<'r>(
        &'r self,
        have: &DocHave,
        carried: bool,
        peer: &DeviceId,
        state: &mut PeerState,
        out: &mut Out<'r>,
    ) {
        if !in_scope(self.trust(), &have.doc, peer) {
            return;
        }
        let Some(doc) = self.held_id(&have.doc) else {
            return;
        };
        let Some(mine) = self.record(doc) else {
            return;
        };
        state.note(doc, have.heads.clone());
        let sampled: BTreeSet<[u8; 8]> = have.samples.iter().copied().collect();
        let mut known: Vec<ChangeHash> = have
            .heads
            .iter()
            .map(|h| ChangeHash(*h))
            .filter(|h| mine.deps.contains_key(h))
            .collect();
        let all_heads_known = known.len() == have.heads.len();
        if !sampled.is_empty() {
            known.extend(
                mine.order
                    .iter()
                    .filter(|h| sampled.contains(&prefix(h)))
                    .copied(),
            );
        }
        out.send(doc, mine.clone(), known);
        // This node lacks something too; unless the peer just sent changes of the record (what it
        // thought this node lacked), say what this node holds.
        if !all_heads_known && !carried && self.wants(doc) {
            out.have(DocHave {
                doc: doc.clone(),
                heads: raw(&mine.heads()),
                samples: samples(&mine),
            });
        }
    }
}
