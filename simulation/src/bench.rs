//! `hallsync-sim bench`: our sync against automerge's own sync protocol and against sending whole
//! documents, on the same workload in one run.
//!
//! Two peers, no history of each other (the worst case for us: no per-peer state to push from).
//!
//! - (a) one record with `shared` changes in common and `d` new changes on each side;
//! - (b) `docs` records, of which `k` got one new change on one side.
//!
//! Ours moves signed changes (ed25519 signature, author and record id on each); automerge's sync
//! moves bare changes, one sync conversation per document over one connection (as automerge-repo
//! does), run in parallel, so its round trips are those of the slowest document; "whole" sends every
//! document's saved bytes both ways. Every figure is measured, none extrapolated.

use automerge::sync::{Message as AmMessage, State as AmState, SyncDoc};
use automerge::Automerge;
use hallsync_model::records::item::ItemFields;
use hallsync_model::sync::memory::{round, RoundCost, Side};
use hallsync_model::sync::wire::WireLimits;
use hallsync_model::{DeviceKey, DocId, ItemCode, PeerState, Replica, ScalarValue, SignedChange};
use serde::Serialize;

/// What one side-by-side case cost.
#[derive(Debug, Serialize)]
pub struct Case {
    /// Which case: `a` (one record changed on both sides) or `b` (k of M records differ).
    pub case: String,
    /// Records both peers hold.
    pub docs: usize,
    /// Records that differ.
    pub differing: usize,
    /// Changes that had to move, both ways.
    pub changes_to_move: usize,
    /// Ours.
    pub hallsync: Ours,
    /// Automerge's sync protocol, per document.
    pub automerge_sync: Theirs,
    /// Every document's saved bytes, both ways.
    pub whole_docs: Theirs,
}

/// Our protocol's cost in one case.
#[derive(Debug, Serialize)]
pub struct Ours {
    /// Bytes of every message, both ways.
    pub bytes: usize,
    /// Request/response exchanges.
    pub round_trips: usize,
    /// Bytes of the signed changes that had to move, as encoded.
    pub payload_bytes: usize,
    /// Bytes beyond the payload.
    pub overhead_bytes: usize,
    /// bytes / payload_bytes.
    pub overhead_ratio: f64,
    /// bytes ≤ 1.1 × payload_bytes + 2,048 (the target of issue #5).
    pub within_target: bool,
    /// Both replicas were equal afterwards.
    pub converged: bool,
}

/// A baseline's cost in one case.
#[derive(Debug, Serialize)]
pub struct Theirs {
    /// Bytes of every message, both ways.
    pub bytes: usize,
    /// Round trips (two message hops each).
    pub round_trips: usize,
    /// Bytes of the bare automerge changes that had to move.
    pub payload_bytes: usize,
}

/// Sizes of a bench run.
#[derive(Clone, Copy, Debug)]
pub struct BenchSize {
    /// Records in case (b).
    pub docs: usize,
    /// Changes in common in case (a).
    pub shared: usize,
}

impl Default for BenchSize {
    fn default() -> Self {
        BenchSize {
            docs: 100_000,
            shared: 200,
        }
    }
}

fn key() -> DeviceKey {
    DeviceKey::from_seed([7; 32])
}

/// Most changes in common case (a) builds: beyond this the run only takes longer.
pub const SHARED_MAX: usize = 10_000;

/// Most records case (b) builds: item codes here have five free digits.
pub const DOCS_MAX: usize = 100_000;

fn item_doc(n: usize) -> (DocId, Vec<(String, ScalarValue)>) {
    let Ok(code) = ItemCode::new(&format!("4420{:05}000", n % DOCS_MAX)) else {
        // Built from digits in the form C1 accepts; a failure is a bug in this bench.
        unreachable!("bench item codes are valid")
    };
    let item = ItemFields::minimal(
        code,
        format!("事项{n}"),
        hallsync_model::records::item::ItemType::PublicService,
        "民政局".into(),
        5,
    );
    (DocId::item(&item.code), item.writes())
}

fn rename(name: String) -> Vec<(String, ScalarValue)> {
    vec![("name".into(), ScalarValue::Str(name.into()))]
}

fn write(
    replica: &mut Replica,
    epoch: u32,
    doc: &DocId,
    at: i64,
    puts: &[(String, ScalarValue)],
) -> SignedChange {
    match replica.author(&key(), epoch, doc, at, puts) {
        Ok(change) => change,
        Err(e) => unreachable!("the bench writes only valid changes as the genesis key: {e}"),
    }
}

/// What each side knows of the other.
#[derive(Default)]
struct States {
    a: PeerState,
    b: PeerState,
}

fn ours(a: &mut Replica, b: &mut Replica, states: &mut States, payload: usize) -> Ours {
    let limits = WireLimits::default();
    let device = key().device_id();
    let (sa, sb) = (&mut states.a, &mut states.b);
    let mut total = RoundCost::default();
    // Rounds until equal (one, unless a bound cut it short).
    for _ in 0..16 {
        let Ok(cost) = round(
            Side {
                replica: a,
                device,
                state: &mut *sa,
            },
            Side {
                replica: b,
                device,
                state: &mut *sb,
            },
            &limits,
        ) else {
            break;
        };
        total.bytes += cost.bytes;
        total.round_trips += cost.round_trips;
        if !cost.more {
            break;
        }
    }
    let bytes = total.bytes;
    Ours {
        bytes,
        round_trips: total.round_trips,
        payload_bytes: payload,
        overhead_bytes: bytes.saturating_sub(payload),
        overhead_ratio: bytes as f64 / payload.max(1) as f64,
        within_target: bytes as f64 <= 1.1 * payload as f64 + 2048.0,
        converged: a.state_digest() == b.state_digest(),
    }
}

/// Automerge's sync between two documents, both sides sending at once each hop; returns
/// (bytes, hops).
fn automerge_sync(a: &Automerge, b: &Automerge) -> (usize, usize) {
    let (mut a, mut b) = (a.clone(), b.clone());
    let (mut sa, mut sb) = (AmState::new(), AmState::new());
    let (mut bytes, mut hops) = (0, 0);
    for _ in 0..64 {
        let to_b = a.generate_sync_message(&mut sa);
        let to_a = b.generate_sync_message(&mut sb);
        if to_b.is_none() && to_a.is_none() {
            break;
        }
        hops += 1;
        for (message, doc, state) in [(to_b, &mut b, &mut sb), (to_a, &mut a, &mut sa)] {
            if let Some(message) = message {
                let encoded = message.encode();
                bytes += encoded.len();
                if let Ok(decoded) = AmMessage::decode(&encoded) {
                    let _ = doc.receive_sync_message(state, decoded);
                }
            }
        }
    }
    (bytes, hops)
}

fn doc_of(replica: &Replica, doc: &DocId) -> Automerge {
    replica
        .record(doc)
        .map_or_else(Automerge::new, |s| s.doc().clone())
}

fn baselines(a: &Replica, b: &Replica, docs: &[DocId], bare_payload: usize) -> (Theirs, Theirs) {
    let (mut bytes, mut hops, mut whole) = (0, 0, 0);
    for doc in docs {
        let (da, db) = (doc_of(a, doc), doc_of(b, doc));
        let (b_, h) = automerge_sync(&da, &db);
        bytes += b_;
        hops = hops.max(h);
        whole += da.save().len() + db.save().len();
    }
    (
        Theirs {
            bytes,
            round_trips: hops.div_ceil(2),
            payload_bytes: bare_payload,
        },
        Theirs {
            bytes: whole,
            round_trips: 1,
            payload_bytes: bare_payload,
        },
    )
}

/// Case (a): one record, `shared` changes in common, `d` new on each side.
pub fn case_a(shared: usize, d: usize) -> Case {
    let mut a = crate::world::city_replica(&key());
    let mut b = a.clone();
    let (doc, puts) = item_doc(1);
    let first = write(&mut a, 1, &doc, 1, &puts);
    let mut common = vec![first];
    for i in 0..shared {
        common.push(write(
            &mut a,
            1,
            &doc,
            2 + i as i64,
            &rename(format!("共同 {i}")),
        ));
    }
    b.ingest(common);
    let (mut payload, mut bare) = (0, 0);
    for i in 0..d {
        for (side, epoch) in [(&mut a, 2), (&mut b, 3)] {
            let change = write(
                side,
                epoch,
                &doc,
                10_000 + i as i64,
                &rename(format!("改 {epoch} {i}")),
            );
            payload += change.wire_len();
            bare += change.change.len();
        }
    }
    let (automerge_sync, whole_docs) = baselines(&a, &b, std::slice::from_ref(&doc), bare);
    let hallsync = ours(&mut a, &mut b, &mut States::default(), payload);
    Case {
        case: format!("a: 1 record, {shared} shared changes, {d} new on each side"),
        docs: 1,
        differing: 1,
        changes_to_move: 2 * d,
        hallsync,
        automerge_sync,
        whole_docs,
    }
}

/// Case (b): `docs` records on both sides; for each `k`, `k` of them get one new change on one side.
pub fn case_b(docs: usize, ks: &[usize], progress: &mut dyn FnMut(&str)) -> Vec<Case> {
    let mut a = crate::world::city_replica(&key());
    let mut ids = Vec::with_capacity(docs);
    for n in 0..docs {
        let (doc, puts) = item_doc(n);
        write(&mut a, 1, &doc, 1, &puts);
        ids.push(doc);
        if n > 0 && n % 20_000 == 0 {
            progress(&format!("  built {n} of {docs} records"));
        }
    }
    let mut b = a.clone();
    let mut out = Vec::new();
    let mut at = 10;
    let mut change = |a: &mut Replica, k: usize, round: usize| {
        let (mut payload, mut bare) = (0, 0);
        for j in 0..k {
            // Spread over the id space: every (docs/k)-th record, shifted each round.
            let doc = &ids[(j * docs / k.max(1) + round) % docs];
            at += 1;
            let change = write(a, 2, doc, at, &rename(format!("改 {k} {j} {round}")));
            payload += change.wire_len();
            bare += change.change.len();
        }
        (payload, bare)
    };
    let mut states = States::default();
    for (round, &k) in ks.iter().enumerate() {
        // First contact (no sync state), then the same peers again with the state the first round
        // left, as a node stores it: an idle round, k new changes, and the round that finds them.
        for reconnecting in [false, true] {
            if reconnecting {
                ours(&mut b, &mut a, &mut states, 0);
            } else {
                states = States::default();
            }
            let (payload, bare) = change(&mut a, k, 2 * round + usize::from(reconnecting));
            let label = if reconnecting {
                format!("b: {k} of {docs} differ, reconnecting peer")
            } else {
                format!("b: {k} of {docs} records differ")
            };
            progress(&format!("  {label}: automerge per-document sync"));
            let (automerge_sync, whole_docs) = baselines(&a, &b, &ids, bare);
            progress(&format!("  {label}: hallsync"));
            let hallsync = if reconnecting {
                // The side that wrote while away opens, as a node does on reconnecting.
                std::mem::swap(&mut states.a, &mut states.b);
                let cost = ours(&mut a, &mut b, &mut states, payload);
                std::mem::swap(&mut states.a, &mut states.b);
                cost
            } else {
                ours(&mut b, &mut a, &mut states, payload)
            };
            out.push(Case {
                case: label,
                docs,
                differing: k,
                changes_to_move: k,
                hallsync,
                automerge_sync,
                whole_docs,
            });
        }
    }
    out
}

/// The whole bench.
pub fn run(size: BenchSize, progress: &mut dyn FnMut(&str)) -> Vec<Case> {
    let mut cases = Vec::new();
    for d in [1, 10, 100] {
        progress(&format!("case a, d = {d}"));
        cases.push(case_a(size.shared, d));
    }
    progress(&format!("case b, {} records", size.docs));
    cases.extend(case_b(size.docs, &[1, 10, 100, 1000], progress));
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_changed_on_both_sides_is_within_the_overhead_target() {
        // Goal: case (a) converges and costs at most 1.1× the signed changes that had to move
        // plus 2 kB, in at most three round trips, with no sync state to help.
        for d in [1, 20] {
            let case = case_a(60, d);
            assert!(case.hallsync.converged, "{case:?}");
            assert!(case.hallsync.within_target, "{case:?}");
            assert!(case.hallsync.round_trips <= 3, "{case:?}");
        }
    }

    #[test]
    fn differing_records_are_found_in_three_round_trips_and_a_reconnect_takes_one() {
        // Goal: k of M differing records are found and moved in ≤ 3 round trips on first contact;
        // with the sync state of an earlier round, one round trip within the overhead target.
        let cases = case_b(3_000, &[1, 25], &mut |_| {});
        assert_eq!(cases.len(), 4);
        for case in &cases {
            assert!(case.hallsync.converged, "{case:?}");
            assert!(case.hallsync.round_trips <= 3, "{case:?}");
            assert!(
                case.hallsync.bytes < case.automerge_sync.bytes,
                "less than automerge's per-document sync: {case:?}"
            );
        }
        for warm in cases.iter().filter(|c| c.case.contains("reconnecting")) {
            assert_eq!(warm.hallsync.round_trips, 1, "{warm:?}");
            assert!(warm.hallsync.within_target, "{warm:?}");
        }
    }
}
