//! The sync protocol, run in memory between replicas with every step encoded as on the wire.

use hallsync_model::sync::memory::{round, RoundCost, Side};
use hallsync_model::sync::wire::{Message, WireError, WireLimits};
use hallsync_model::{DocId, PeerState, Replica, ScalarValue, SignedChange};

use crate::fixture::{fresh, Fed, VILLAGE};

/// The device both sides see the other as: the city administrator, whose scope holds every record.
fn peer() -> hallsync_model::DeviceId {
    crate::fixture::key(1).device_id()
}

/// Two replicas and what each knows of the other.
struct Pair {
    a: Replica,
    b: Replica,
    a_knows: PeerState,
    b_knows: PeerState,
}

impl Pair {
    fn new(a: Replica, b: Replica) -> Pair {
        Pair {
            a,
            b,
            a_knows: PeerState::default(),
            b_knows: PeerState::default(),
        }
    }

    /// One round opened by `a`, or by `b` when `a_opens` is false.
    fn round(&mut self, a_opens: bool, limits: &WireLimits) -> RoundCost {
        let a = Side {
            replica: &mut self.a,
            device: peer(),
            state: &mut self.a_knows,
        };
        let b = Side {
            replica: &mut self.b,
            device: peer(),
            state: &mut self.b_knows,
        };
        let (opener, answerer) = if a_opens { (a, b) } else { (b, a) };
        round(opener, answerer, limits).unwrap()
    }

    fn round_from_a(&mut self, limits: &WireLimits) -> RoundCost {
        self.round(true, limits)
    }

    fn round_from_b(&mut self, limits: &WireLimits) -> RoundCost {
        self.round(false, limits)
    }
}

fn wire_bytes(changes: &[SignedChange]) -> usize {
    changes.iter().map(SignedChange::wire_len).sum()
}

/// The city renames ITEM-1.
fn rename_item_1(fed: &mut Fed, name: &str) -> SignedChange {
    let city = fed.city.clone();
    let doc: DocId = "item/ITEM-1".parse().unwrap();
    fed.write(
        &city,
        &doc,
        vec![("name".into(), ScalarValue::Str(name.into()))],
    )
    .unwrap()
}

fn split_world() -> (Fed, Pair) {
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let shared = fed.log.clone();
    let mut a = fresh(&fed);
    let mut b = fresh(&fed);
    a.ingest(shared.clone());
    b.ingest(shared);
    (fed, Pair::new(a, b))
}

#[test]
fn two_replicas_with_disjoint_changes_converge_in_one_round_moving_only_what_is_missing() {
    // Goal: after one round both hold everything, and no change the receiver had is sent.
    let (mut fed, mut pair) = split_world();
    let before = fed.log.len();
    fed.create_item("ITEM-2");
    let village = fed.village.clone();
    fed.propose(&village, VILLAGE, "ITEM-1").unwrap();
    rename_item_1(&mut fed, "改");
    let new = fed.log[before..].to_vec();
    pair.a.ingest(vec![new[0].clone(), new[2].clone()]);
    pair.b.ingest(vec![new[1].clone()]);
    let limits = WireLimits::default();
    let cost = pair.round_from_a(&limits);
    assert_eq!(pair.a.state_digest(), pair.b.state_digest());
    assert_eq!(pair.a.state_digest(), fed.origin.state_digest());
    assert_eq!(
        cost.changes_to_answerer,
        wire_bytes(&[new[0].clone(), new[2].clone()]),
        "{cost:?}"
    );
    assert_eq!(cost.changes_to_opener, wire_bytes(&new[1..2]), "{cost:?}");
    let idle = pair.round_from_a(&limits);
    assert_eq!(
        (
            idle.changes_to_opener,
            idle.changes_to_answerer,
            idle.round_trips
        ),
        (0, 0, 1),
        "an in-sync round moves no changes and ends after one exchange"
    );
}

#[test]
fn peers_in_sync_are_done_after_one_exchange_of_a_few_dozen_bytes() {
    // Goal: a round between equal replicas costs one fingerprint and an empty answer, whatever
    // their size.
    let (mut fed, mut pair) = split_world();
    let before = fed.log.len();
    for i in 0..300 {
        fed.create_item(&format!("ITEM-S{i}"));
    }
    pair.a.ingest(fed.log[before..].to_vec());
    pair.b.ingest(fed.log[before..].to_vec());
    let cost = pair.round_from_a(&WireLimits::default());
    assert_eq!(cost.round_trips, 1, "{cost:?}");
    assert!(cost.bytes < 64, "{cost:?}");
}

#[test]
fn with_many_records_only_the_differing_ones_are_listed() {
    // Goal: with 2,000 shared records of which one differs, the round costs a few hundred bytes
    // beyond the change itself (fingerprints of the parts, one listed part), not a list of 2,000.
    let (mut fed, mut pair) = split_world();
    let before = fed.log.len();
    for i in 0..2_000 {
        fed.create_item(&format!("ITEM-M{i}"));
    }
    pair.a.ingest(fed.log[before..].to_vec());
    pair.b.ingest(fed.log[before..].to_vec());
    let city = fed.city.clone();
    let doc: DocId = "item/ITEM-M7".parse().unwrap();
    let new = fed
        .write(
            &city,
            &doc,
            vec![("name".into(), ScalarValue::Str("改名".into()))],
        )
        .unwrap();
    pair.a.ingest(vec![new.clone()]);
    let cost = pair.round_from_b(&WireLimits::default());
    assert_eq!(pair.a.state_digest(), pair.b.state_digest());
    assert_eq!(cost.changes_to_opener, new.wire_len());
    let overhead = cost.bytes - new.wire_len();
    assert!(
        overhead < 2_500,
        "{overhead} bytes beyond the change: {cost:?}"
    );
    assert!(cost.round_trips <= 3, "{cost:?}");
}

#[test]
fn a_record_changed_on_both_sides_moves_little_of_the_shared_past() {
    // Goal: one record with 200 changes in common and 5 new on each side: what moves is the 10
    // new changes and at most a tenth more, plus a bounded overhead (the 1.1× + 2 kB).
    let (fed, mut pair) = split_world();
    let city = fed.city.clone();
    let doc: DocId = "item/ITEM-1".parse().unwrap();
    for i in 0..200 {
        let env = pair
            .a
            .author(
                &city,
                1,
                &doc,
                fed.now_ms() + i,
                &[("name".into(), ScalarValue::Str(format!("共同 {i}").into()))],
            )
            .unwrap();
        pair.b.ingest(vec![env]);
    }
    let mut moved = 0;
    for i in 0..5 {
        let puts =
            |side: &str| vec![("name".into(), ScalarValue::Str(format!("{side}{i}").into()))];
        moved += pair
            .a
            .author(&city, 2, &doc, fed.now_ms() + 1000 + i, &puts("a"))
            .unwrap()
            .wire_len();
        moved += pair
            .b
            .author(&city, 3, &doc, fed.now_ms() + 1000 + i, &puts("b"))
            .unwrap()
            .wire_len();
    }
    let cost = pair.round_from_a(&WireLimits::default());
    assert_eq!(pair.a.state_digest(), pair.b.state_digest());
    let carried = cost.changes_to_opener + cost.changes_to_answerer;
    assert!(carried * 10 <= moved * 11, "carried {carried} for {moved}");
    assert!(
        cost.bytes * 10 <= moved * 11 + 20_480,
        "{} bytes for {moved}: {cost:?}",
        cost.bytes
    );
}

#[test]
fn a_reconnecting_peer_receives_what_was_written_since_in_the_first_step() {
    // Goal: the per-peer sync state makes the next round push new changes at once: one exchange.
    let (mut fed, mut pair) = split_world();
    let limits = WireLimits::default();
    pair.round_from_a(&limits);
    let before = fed.log.len();
    rename_item_1(&mut fed, "新");
    fed.create_item("ITEM-NEW");
    pair.a.ingest(fed.log[before..].to_vec());
    // The state survives a restart: it is stored as bytes and read back.
    pair.a_knows = PeerState::from_bytes(&pair.a_knows.to_bytes()).unwrap();
    let cost = pair.round_from_a(&limits);
    assert_eq!(pair.a.state_digest(), pair.b.state_digest());
    assert_eq!(cost.round_trips, 1, "{cost:?}");
    assert_eq!(cost.changes_to_answerer, wire_bytes(&fed.log[before..]));
}

#[test]
fn tiny_limits_cut_messages_and_repeated_rounds_still_converge() {
    // Goal: a bound on changes per message sets `more`, and rounds continue until equal.
    let (mut fed, mut pair) = split_world();
    let before = fed.log.len();
    for i in 0..6 {
        fed.create_item(&format!("ITEM-N{i}"));
    }
    pair.a.ingest(fed.log[before..].to_vec());
    let limits = WireLimits {
        message_bytes_max: 1 << 20,
        changes_per_message_max: 1,
    };
    let mut rounds = 0;
    let mut saw_more = false;
    while pair.a.state_digest() != pair.b.state_digest() {
        saw_more |= pair.round_from_b(&limits).more;
        rounds += 1;
        assert!(rounds <= 20, "did not converge in 20 rounds");
    }
    assert!(saw_more);
    assert!(rounds >= 6);
}

#[test]
fn decoders_refuse_oversized_and_garbage_input() {
    // Goal: every decoder of peer bytes fails cleanly on bad input.
    let limits = WireLimits {
        message_bytes_max: 64,
        changes_per_message_max: 10,
    };
    let big = vec![0u8; 65];
    assert!(matches!(
        Message::from_bytes(&big, &limits),
        Err(WireError::TooLarge { .. })
    ));
    for junk in [&[0xff_u8, 0xff, 0xff][..], &[][..], &[7, 1, 2][..]] {
        assert!(Message::from_bytes(junk, &limits).is_err());
    }
}

#[test]
fn a_range_that_ends_before_it_starts_is_refused() {
    let (_, pair) = split_world();
    let mut step = pair
        .a
        .sync_open(&peer(), &mut PeerState::default(), &WireLimits::default());
    step.ranges = vec![hallsync_model::sync::wire::Range::List {
        lo: 9,
        hi: 3,
        items: Vec::new(),
    }];
    let bytes = Message::Step(step).to_bytes();
    let err = Message::from_bytes(&bytes, &WireLimits::default()).unwrap_err();
    assert!(err.to_string().contains("ends before it starts"), "{err}");
}

#[test]
fn a_peer_of_another_network_is_refused() {
    // Goal: replicas of different networks never exchange records.
    let (fed, pair) = split_world();
    let other = Replica::new(hallsync_model::Genesis {
        key: fed.stranger.device_id(),
    });
    let limits = WireLimits::default();
    let opening = pair
        .a
        .sync_open(&peer(), &mut PeerState::default(), &limits);
    let answer = other.sync_answer(&opening, &peer(), &mut PeerState::default(), &limits);
    assert!(matches!(answer, Message::Refused { .. }), "{answer:?}");
}

mod converging {
    use proptest::prelude::*;

    use super::*;
    use crate::convergence::{run, step};

    proptest! {
        #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24), .. ProptestConfig::default() })]

        #[test]
        fn replicas_holding_any_parts_of_a_history_converge_by_sync_rounds(
            steps in proptest::collection::vec(step(), 1..24),
            keep in proptest::collection::vec(any::<u8>(), 64),
            order in proptest::collection::vec((0usize..3, 0usize..3), 12),
            changes_max in prop_oneof![Just(CHANGES_MAX), 1usize..6],
        ) {
            // Goal: three replicas that each received an arbitrary part of a history (valid and
            // invalid changes, in log order) reach exactly the state of a replica that received
            // everything any of them held, by sync rounds between arbitrary pairs — whatever the
            // bounds on a message, with every step encoded as on the wire.
            let mut fed = Fed::new();
            let _invalid = run(&mut fed, &steps);
            let mut replicas: Vec<Replica> = (0..3).map(|_| fresh(&fed)).collect();
            let mut union = Vec::new();
            for (i, change) in fed.log.iter().enumerate() {
                let bits = keep[i % keep.len()].rotate_left(i as u32 / keep.len() as u32);
                let mut held = false;
                for (r, replica) in replicas.iter_mut().enumerate() {
                    // The trust record's first changes go everywhere: a replica must know the network.
                    if i < 8 || bits & (1 << r) != 0 {
                        replica.ingest(vec![change.clone()]);
                        held = true;
                    }
                }
                if held {
                    union.push(change.clone());
                }
            }
            let mut expected = fresh(&fed);
            expected.ingest(union);
            let limits = WireLimits { changes_per_message_max: changes_max, ..WireLimits::default() };
            let mut states: Vec<PeerState> = (0..9).map(|_| PeerState::default()).collect();
            let settled = |rs: &[Replica]| rs.iter().all(|r| r.state_digest() == expected.state_digest());
            // Whatever the order, 0–1 and 1–2 also meet, so every replica is reachable.
            let order: Vec<(usize, usize)> = order.into_iter().chain([(0, 1), (2, 1)]).collect();
            let mut rounds = 0;
            while !settled(&replicas) {
                prop_assert!(rounds < 400, "not converged after {rounds} rounds");
                for &(x, y) in &order {
                    if x == y {
                        continue;
                    }
                    let (lo, hi) = (x.min(y), x.max(y));
                    let (left, right) = replicas.split_at_mut(hi);
                    let (a, b) = (&mut left[lo], &mut right[0]);
                    let (sa, sb) = pick_two(&mut states, lo * 3 + hi, hi * 3 + lo);
                    let (opener, answerer) = if x < y { ((a, sa), (b, sb)) } else { ((b, sb), (a, sa)) };
                    round(
                        Side { replica: opener.0, device: peer(), state: opener.1 },
                        Side { replica: answerer.0, device: peer(), state: answerer.1 },
                        &limits,
                    )
                    .unwrap();
                    rounds += 1;
                }
            }
            for r in &replicas {
                prop_assert_eq!(r.stations(), expected.stations());
                prop_assert_eq!(r.items(), expected.items());
            }
        }
    }

    const CHANGES_MAX: usize = hallsync_model::sync::wire::CHANGES_PER_MESSAGE_MAX;

    /// Two distinct elements of `v`, mutably.
    fn pick_two(v: &mut [PeerState], i: usize, j: usize) -> (&mut PeerState, &mut PeerState) {
        assert_ne!(i, j);
        if i < j {
            let (l, r) = v.split_at_mut(j);
            (&mut l[i], &mut r[0])
        } else {
            let (l, r) = v.split_at_mut(i);
            (&mut r[0], &mut l[j])
        }
    }
}

mod hostile_bytes {
    use proptest::prelude::*;

    use super::*;

    /// A valid step that carries changes: the first answer to an empty replica's opening.
    fn valid_step() -> Vec<u8> {
        let (fed, pair) = split_world();
        let empty = fresh(&fed);
        let limits = WireLimits::default();
        let opening = empty.sync_open(&peer(), &mut PeerState::default(), &limits);
        pair.a
            .sync_answer(&opening, &peer(), &mut PeerState::default(), &limits)
            .to_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            // Goal: whatever a peer sends, decoding returns a value or an error.
            let _ = Message::from_bytes(&bytes, &WireLimits::default());
        }

        #[test]
        fn mutated_steps_are_refused_or_answered_without_panic(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            // Goal: a valid step with bytes flipped either fails to decode or is answered, and the
            // changes it carries are verified and quarantined; nothing panics, nothing forged applies.
            let mut bytes = valid_step();
            prop_assume!(!bytes.is_empty());
            for (at, value) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= value | 1;
            }
            let limits = WireLimits::default();
            if let Ok(Message::Step(step)) = Message::from_bytes(&bytes, &limits) {
                let (_, pair) = split_world();
                let mut r = pair.b;
                let report = r.ingest(step.changes.clone());
                for env in &report.applied {
                    prop_assert!(env.verify().is_ok());
                }
                let _ = r.sync_answer(&step, &peer(), &mut PeerState::default(), &limits);
            }
        }
    }
}

#[test]
fn a_change_waiting_for_history_at_its_only_holder_still_travels() {
    // Goal (found by the property above): a village's two changes to one record exist only at two
    // replicas, one of which also holds the village's revocation keeping both. There the first waits
    // (its keeping heads name the second), at the other the second waits for the first; the two
    // replicas meet only through a third. Each offers what it holds waiting; the others fetch it, and
    // every replica ends with both changes applied.
    use crate::convergence::{run, Step};
    let mut fed = Fed::new();
    run(
        &mut fed,
        &[
            Step::Propose(3),
            Step::Reject(3),
            Step::Propose(0),
            Step::Propose(0),
            Step::RevokeVillage(true),
        ],
    );
    let n = fed.log.len();
    let (first, second, revocation) = (&fed.log[n - 3], &fed.log[n - 2], &fed.log[n - 1]);
    let mut holders: Vec<Replica> = (0..3).map(|_| fresh(&fed)).collect();
    for r in &mut holders {
        r.ingest(fed.log[..n - 3].to_vec());
    }
    holders[0].ingest(vec![first.clone(), revocation.clone()]);
    holders[2].ingest(vec![second.clone()]);
    assert!(holders[0].quarantine().len() == 1 && holders[2].quarantine().len() == 1);
    let mut states: Vec<PeerState> = (0..4).map(|_| PeerState::default()).collect();
    let limits = WireLimits::default();
    for _ in 0..3 {
        for (opener, answerer) in [(0, 1), (2, 1)] {
            let (left, right) = holders.split_at_mut(answerer.max(opener));
            let (x, y) = (&mut left[answerer.min(opener)], &mut right[0]);
            let (o, a) = if opener < answerer { (x, y) } else { (y, x) };
            let (so, sa) = states.split_at_mut(2);
            round(
                Side {
                    replica: o,
                    device: peer(),
                    state: &mut so[opener / 2],
                },
                Side {
                    replica: a,
                    device: peer(),
                    state: &mut sa[opener / 2],
                },
                &limits,
            )
            .unwrap();
        }
    }
    let doc = Fed::station_doc(VILLAGE, "ITEM-0");
    for r in &holders {
        assert!(
            r.quarantine().is_empty(),
            "{:?}",
            r.quarantine()
                .values()
                .map(|q| q.reason.code())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            r.record(&doc).map(|s| s.applied_envelopes().count()),
            Some(2)
        );
    }
}
