//! The sync protocol, run in memory between replicas.

use hallsync_model::sync::wire::{Request, Response, WireError, WireLimits};
use hallsync_model::{Replica, ScalarValue};

use crate::fixture::{fresh, Fed, VILLAGE};

/// The peer device of the in-memory rounds: the city administrator, whose scope holds every record.
fn peer() -> hallsync_model::DeviceId {
    crate::fixture::key(1).device_id()
}

/// Bytes of change payload moved in one round, each way.
#[derive(Default, Debug)]
struct Moved {
    to_a: usize,
    to_b: usize,
    more: bool,
}

fn change_bytes(changes: &[hallsync_model::SignedChange]) -> usize {
    changes.iter().map(|c| c.change.len()).sum()
}

/// One round started by `a`, with every message encoded and decoded as on the wire.
fn round(a: &mut Replica, b: &mut Replica, limits: &WireLimits) -> Moved {
    let mut moved = Moved::default();
    let offer = Request::from_bytes(&a.offer(&peer()).to_bytes(), limits).unwrap();
    let reply =
        Response::from_bytes(&b.answer_offer(&offer, &peer(), limits).to_bytes(), limits).unwrap();
    let Response::OfferReply {
        want,
        changes,
        more,
    } = reply
    else {
        panic!("{reply:?}")
    };
    moved.to_a += change_bytes(&changes);
    moved.more |= more;
    a.ingest(changes);
    let (push, cut) = a.push_for(&want, &peer(), limits);
    moved.more |= cut;
    let push = Request::from_bytes(&push.to_bytes(), limits).unwrap();
    let Request::Push { changes, .. } = &push else {
        panic!()
    };
    moved.to_b += change_bytes(changes);
    b.ingest(changes.clone());
    let answer =
        Response::from_bytes(&b.answer_push(&push, &peer(), limits).to_bytes(), limits).unwrap();
    let Response::PushReply { changes, more } = answer else {
        panic!("{answer:?}")
    };
    moved.to_a += change_bytes(&changes);
    moved.more |= more;
    a.ingest(changes);
    moved
}

fn split_world() -> (Fed, Replica, Replica) {
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let shared = fed.log.clone();
    let mut a = fresh(&fed);
    let mut b = fresh(&fed);
    a.ingest(shared.clone());
    b.ingest(shared);
    (fed, a, b)
}

#[test]
fn two_replicas_with_disjoint_changes_converge_in_one_round_moving_only_what_is_missing() {
    // Goal: after one round both hold everything, and no change the receiver had is sent.
    let (mut fed, mut a, mut b) = split_world();
    let before = fed.log.len();
    fed.create_item("ITEM-2");
    let village = fed.village.clone();
    fed.propose(&village, VILLAGE, "ITEM-1").unwrap();
    let city = fed.city.clone();
    let doc: hallsync_model::DocId = "item/ITEM-1".parse().unwrap();
    fed.write(
        &city,
        &doc,
        vec![("name".into(), ScalarValue::Str("改".into()))],
    )
    .unwrap();
    let new = fed.log[before..].to_vec();
    a.ingest(vec![new[0].clone(), new[2].clone()]);
    b.ingest(vec![new[1].clone()]);
    let limits = WireLimits::default();
    let moved = round(&mut a, &mut b, &limits);
    assert_eq!(a.state_digest(), b.state_digest());
    assert_eq!(a.state_digest(), fed.origin.state_digest());
    assert_eq!(
        moved.to_b,
        new[0].change.len() + new[2].change.len(),
        "{moved:?}"
    );
    assert_eq!(moved.to_a, new[1].change.len(), "{moved:?}");
    let idle = round(&mut a, &mut b, &limits);
    assert_eq!(
        (idle.to_a, idle.to_b),
        (0, 0),
        "an in-sync round moves no changes"
    );
}

#[test]
fn peers_in_sync_are_done_after_one_small_exchange() {
    // Goal: a round between equal replicas costs one summary and its answer, whatever their size;
    // replicas that differ are asked for the list.
    let (mut fed, mut a, b) = split_world();
    let limits = WireLimits::default();
    let summary = a.offer_summary(&peer());
    assert!(
        summary.to_bytes().len() < 64,
        "{} bytes",
        summary.to_bytes().len()
    );
    assert_eq!(b.answer_offer(&summary, &peer(), &limits), Response::InSync);
    let before = fed.log.len();
    fed.create_item("ITEM-9");
    a.ingest(fed.log[before..].to_vec());
    let summary = a.offer_summary(&peer());
    assert_eq!(
        b.answer_offer(&summary, &peer(), &limits),
        Response::NeedList
    );
}

#[test]
fn with_many_records_only_the_differing_buckets_are_listed() {
    // Goal: with 600 shared records of which one differs, the round sends 256 bucket fingerprints and
    // lists only the records of the differing bucket, not all 600, and both sides converge.
    let (mut fed, mut a, mut b) = split_world();
    let before = fed.log.len();
    for i in 0..600 {
        fed.create_item(&format!("ITEM-M{i}"));
    }
    a.ingest(fed.log[before..].to_vec());
    b.ingest(fed.log[before..].to_vec());
    let city = fed.city.clone();
    let doc: hallsync_model::DocId = "item/ITEM-M7".parse().unwrap();
    let new = fed
        .write(
            &city,
            &doc,
            vec![("name".into(), ScalarValue::Str("改名".into()))],
        )
        .unwrap();
    a.ingest(vec![new]);
    let limits = WireLimits::default();
    let summary = a.offer_summary(&peer());
    assert_eq!(
        b.answer_offer(&summary, &peer(), &limits),
        Response::NeedList
    );
    let buckets = a.after_need_list(&peer());
    assert!(matches!(buckets, Request::Buckets { .. }));
    let Response::DifferingBuckets { buckets } = b.answer_buckets(&buckets, &peer()) else {
        panic!()
    };
    assert_eq!(buckets.len(), 1);
    let offer = a.offer_buckets(&peer(), &buckets);
    let Request::Offer { docs, .. } = &offer else {
        panic!()
    };
    assert!(
        docs.len() < 20,
        "{} records listed instead of 600",
        docs.len()
    );
    let bytes = offer.to_bytes().len();
    assert!(bytes < 2_000, "{bytes} bytes");
    let Response::OfferReply { want, changes, .. } = b.answer_offer(&offer, &peer(), &limits)
    else {
        panic!()
    };
    assert!(changes.is_empty(), "b holds nothing a lacks");
    a.ingest(changes);
    let (push, _) = a.push_for(&want, &peer(), &limits);
    let Request::Push { changes, .. } = &push else {
        panic!()
    };
    b.ingest(changes.clone());
    assert_eq!(a.state_digest(), b.state_digest());
}

#[test]
fn tiny_limits_cut_messages_and_repeated_rounds_still_converge() {
    // Goal: a bound on changes per message sets `more`, and rounds continue until equal.
    let (mut fed, mut a, mut b) = split_world();
    let before = fed.log.len();
    for i in 0..6 {
        fed.create_item(&format!("ITEM-N{i}"));
    }
    a.ingest(fed.log[before..].to_vec());
    let limits = WireLimits {
        message_bytes_max: 1 << 20,
        changes_per_message_max: 1,
    };
    let mut rounds = 0;
    let mut saw_more = false;
    while a.state_digest() != b.state_digest() {
        saw_more |= round(&mut b, &mut a, &limits).more;
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
        Request::from_bytes(&big, &limits),
        Err(WireError::TooLarge { .. })
    ));
    assert!(matches!(
        Response::from_bytes(&big, &limits),
        Err(WireError::TooLarge { .. })
    ));
    for junk in [&[0xff_u8, 0xff, 0xff][..], &[][..], &[7, 1, 2][..]] {
        assert!(Request::from_bytes(junk, &limits).is_err());
        assert!(Response::from_bytes(junk, &limits).is_err());
    }
}

#[test]
fn a_peer_of_another_network_is_refused() {
    // Goal: replicas of different networks never exchange records.
    let (fed, a, _) = split_world();
    let other = Replica::new(hallsync_model::Genesis {
        key: fed.stranger.device_id(),
    });
    let answer = other.answer_offer(&a.offer(&peer()), &peer(), &WireLimits::default());
    assert!(matches!(answer, Response::Refused { .. }), "{answer:?}");
}

mod hostile_bytes {
    use proptest::prelude::*;

    use super::*;

    fn valid_reply() -> Vec<u8> {
        let (_, a, b) = split_world();
        let offer = Request::Offer {
            network: a.trust().genesis().network_id(),
            set_digest: [0; 16],
            summary_only: false,
            docs: Vec::new(),
            only_buckets: Vec::new(),
        };
        b.answer_offer(&offer, &peer(), &WireLimits::default())
            .to_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            // Goal: whatever a peer sends, decoding returns a value or an error.
            let limits = WireLimits::default();
            let _ = Request::from_bytes(&bytes, &limits);
            let _ = Response::from_bytes(&bytes, &limits);
        }

        #[test]
        fn mutated_messages_are_refused_or_ingested_without_panic(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            // Goal: a valid reply with bytes flipped either fails to decode or carries changes that
            // ingest verifies and quarantines; nothing panics and nothing forged applies.
            let mut bytes = valid_reply();
            for (at, value) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= value | 1;
            }
            let limits = WireLimits::default();
            if let Ok(Response::OfferReply { changes, .. }) = Response::from_bytes(&bytes, &limits) {
                let fed = Fed::new();
                let mut r = fresh(&fed);
                let report = r.ingest(changes);
                for env in &report.applied {
                    prop_assert!(env.verify().is_ok());
                }
            }
        }
    }
}
