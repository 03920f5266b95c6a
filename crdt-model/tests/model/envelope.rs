//! The signed-change envelope: signature, actor binding, document binding.

use hallsync_model::{DocId, Rejection, ScalarValue};

use crate::fixture::{fresh, Fed};

fn first_item(fed: &mut Fed) -> hallsync_model::SignedChange {
    fed.create_item("ITEM-1")
}

#[test]
fn tampered_signature_is_a_bad_signature() {
    // Goal: one flipped bit in the signature and the change is refused.
    let mut fed = Fed::new();
    let mut env = first_item(&mut fed);
    env.signature[10] ^= 0x40;
    assert_eq!(env.verify().unwrap_err(), Rejection::BadSignature);
}

#[test]
fn change_signed_by_another_key_is_an_actor_mismatch() {
    // Goal: re-signing someone else's change with your own key does not make it yours.
    let mut fed = Fed::new();
    let env = first_item(&mut fed);
    let thief = fed.stranger.clone();
    let change = automerge::Change::from_bytes(env.change.clone()).unwrap();
    let resigned = hallsync_model::SignedChange::sign(env.doc.clone(), &change, &thief);
    assert_eq!(resigned.verify().unwrap_err(), Rejection::ActorMismatch);
}

#[test]
fn garbage_change_bytes_are_malformed() {
    // Goal: bytes that are not a change are refused without panicking.
    let mut fed = Fed::new();
    let mut env = first_item(&mut fed);
    env.change = vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3];
    assert!(matches!(
        env.verify().unwrap_err(),
        Rejection::Malformed { .. }
    ));
    env.change.clear();
    assert!(matches!(
        env.verify().unwrap_err(),
        Rejection::Malformed { .. }
    ));
}

#[test]
fn change_replayed_into_another_record_is_refused() {
    // Goal: the signature covers the document id, so a change cannot be moved to another record.
    let mut fed = Fed::new();
    let mut env = first_item(&mut fed);
    env.doc = "item/OTHER".parse::<DocId>().unwrap();
    assert_eq!(env.verify().unwrap_err(), Rejection::BadSignature);
    let mut replica = fresh(&fed);
    let report = replica.ingest(fed.log.iter().cloned().chain([env]).collect());
    assert_eq!(
        report.refused,
        [Rejection::BadSignature],
        "refused, not kept"
    );
    assert!(replica.quarantine().is_empty());
    assert!(!replica.holds(&"item/OTHER".parse::<DocId>().unwrap()));
}

#[test]
fn writes_below_the_root_are_malformed() {
    // Goal: records are flat maps; a change that creates a nested object is refused.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let doc: DocId = "item/ITEM-1".parse().unwrap();
    let mut fork = fed.origin.record(&doc).unwrap().doc().fork();
    fork.set_actor(fed.city.device_id().actor(3));
    {
        use automerge::transaction::Transactable;
        let mut tx = fork.transaction();
        tx.put_object(automerge::ROOT, "nested", automerge::ObjType::Map)
            .unwrap();
        tx.commit();
    }
    let env =
        hallsync_model::SignedChange::sign(doc, &fork.get_last_local_change().unwrap(), &fed.city);
    let mut replica = fresh(&fed);
    replica.ingest(fed.log.clone());
    let report = replica.ingest(vec![env]);
    assert!(
        matches!(report.refused[..], [Rejection::Malformed { .. }]),
        "{report:?}"
    );
    let _ = ScalarValue::Null;
}

/// Regression (found by `fuzz/smoke.sh`, target change_ops): change bytes on which automerge's column
/// decoder panics. A peer sending them inside an envelope must get a refusal, not a crashed node.
#[test]
fn change_bytes_that_panic_automerge_are_refused() {
    let bytes = include_bytes!("crashers/change_ops-hexane-rle.bin").to_vec();
    let key = hallsync_model::DeviceKey::from_seed([3; 32]);
    let envelope = hallsync_model::SignedChange {
        doc: "item/ITEM-1".parse().unwrap(),
        change: bytes,
        author: key.device_id(),
        signature: [0; 64],
    };
    assert!(matches!(
        envelope.verify(),
        Err(Rejection::Malformed { .. }) | Err(Rejection::BadSignature)
    ));
    let fed = Fed::new();
    let mut replica = fresh(&fed);
    let report = replica.ingest(vec![envelope]);
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(replica.quarantine().is_empty());
}

#[test]
fn a_record_id_that_would_not_parse_back_is_never_signed() {
    // Goal: ids built from parts (a case number with '/') are refused before anything is signed,
    // so no peer and no store ever meets a change it cannot decode.
    let mut fed = Fed::new();
    let village = fed.village.clone();
    let bad = DocId::case(
        &crate::fixture::hall(crate::fixture::VILLAGE),
        &crate::fixture::hall(crate::fixture::TOWNSHIP),
        "A/B",
    );
    let refused = fed
        .write(
            &village,
            &bad,
            vec![("item".into(), ScalarValue::Str("x".into()))],
        )
        .unwrap_err();
    assert!(
        matches!(refused, Rejection::WrongDocument { .. }),
        "{refused}"
    );
}
