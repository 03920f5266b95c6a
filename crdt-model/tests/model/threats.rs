//! One test per threat of docs/THREAT-MODEL.md, each named after it.

use hallsync_model::{Decision, DocId, Level, Rejection, Role, ScalarValue};

use crate::fixture::{cert, forge_on, fresh, key, Fed, DISTRICT_B, TOWNSHIP, VILLAGE};

fn proposed(fed: &mut Fed) -> DocId {
    fed.create_item("ITEM-1");
    let village = fed.village.clone();
    fed.propose(&village, VILLAGE, "ITEM-1").unwrap();
    Fed::station_doc(VILLAGE, "ITEM-1")
}

#[test]
fn t1_outside_peer_forging_an_approval_is_refused() {
    // Goal: an approval in the township administrator's name but signed by another key never counts.
    let mut fed = Fed::new();
    let doc = proposed(&mut fed);
    let township = fed.township.clone();
    let puts = fed.approval_puts(&township, &doc, Decision::Approve, None);
    let mut forged = forge_on(&fed.origin, &fed.stranger, 5, &doc, &puts);
    forged.author = township.device_id();
    let mut r = fresh(&fed);
    r.ingest(fed.log.clone());
    let report = r.ingest(vec![forged]);
    assert_eq!(report.refused, [Rejection::BadSignature]);
    assert!(r.quarantine().is_empty(), "a forgery is not kept");
    assert_eq!(r.stations()[0].status, "pending");
}

#[test]
fn t2_compromised_village_device_writing_another_halls_record_is_refused() {
    // Goal: a stolen village key cannot write a township's (or a sibling's) stationing.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let village = fed.village.clone();
    let doc = Fed::station_doc(TOWNSHIP, "ITEM-1");
    let puts = vec![
        ("hall".into(), ScalarValue::Str(TOWNSHIP.into())),
        ("item".into(), ScalarValue::Str("ITEM-1".into())),
    ];
    let env = fed.forge(&village, 3, &doc, puts);
    let mut r = fresh(&fed);
    let report = r.ingest(fed.log.clone());
    assert!(report
        .quarantined
        .iter()
        .any(|(e, why)| e == &env && matches!(why, Rejection::OutOfScope { .. })));
}

#[test]
fn t3_compromised_administrator_certifying_outside_its_jurisdiction_gains_nothing() {
    // Goal: district A's administrator certifies an operator for a village under district B; the
    // certificate does not stand, and that operator's writes are refused.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let district = fed.district.clone();
    let puppet = key(50);
    let rogue = cert(
        &district,
        &puppet,
        "440306001777",
        Level::Village,
        Some("440306001"),
        Role::Operator,
    );
    fed.publish_cert(&district, &rogue).unwrap();
    assert!(!fed.origin.trust().valid().contains_key(&rogue.id()));
    let refused = fed.propose(&puppet, "440306001777", "ITEM-1").unwrap_err();
    assert!(
        matches!(refused, Rejection::UnknownAuthor { .. }),
        "{refused}"
    );
    let _ = DISTRICT_B;
}

#[test]
fn t4_revoked_keys_change_arriving_before_the_revocation_is_removed() {
    // Goal: a change by the village made after its revocation (unknown to it) is applied by a node
    // that has not yet heard of the revocation, and removed when the revocation arrives: strong removal.
    let mut fed = Fed::new();
    proposed(&mut fed);
    let (township, village) = (fed.township.clone(), fed.village.clone());
    let revocation = fed.revoke(&township, &village, true).unwrap();
    let doc2 = Fed::station_doc(VILLAGE, "ITEM-2");
    fed.create_item("ITEM-2");
    let late = forge_on(
        &fed.origin,
        &village,
        9,
        &doc2,
        &[
            ("hall".into(), ScalarValue::Str(VILLAGE.into())),
            ("item".into(), ScalarValue::Str("ITEM-2".into())),
        ],
    );
    let mut r = fresh(&fed);
    let without: Vec<_> = fed
        .log
        .iter()
        .filter(|e| **e != revocation)
        .cloned()
        .collect();
    r.ingest(without);
    r.ingest(vec![late.clone()]);
    assert!(r.holds(&doc2), "applied while the revocation is unknown");
    let report = r.ingest(vec![revocation]);
    assert!(report.rebuilt);
    assert!(!r.holds(&doc2), "removed once the revocation arrives");
    assert!(r
        .quarantine()
        .values()
        .any(|q| q.envelope == late && matches!(q.reason, Rejection::Revoked { .. })));
    assert_eq!(
        r.stations().len(),
        1,
        "the proposal from before the revocation is kept"
    );
    let mut fed_view = fresh(&fed);
    fed_view.ingest(fed.log.clone());
    assert_eq!(r.state_digest(), fed_view.state_digest());
}

#[test]
fn t5_replaying_relay_changes_nothing() {
    // Goal: replaying old valid changes (duplicates, or a whole history) is idempotent.
    let mut fed = Fed::new();
    proposed(&mut fed);
    let mut r = fresh(&fed);
    r.ingest(fed.log.clone());
    let digest = r.state_digest();
    for _ in 0..3 {
        let report = r.ingest(fed.log.iter().rev().cloned().collect());
        assert!(report.applied.is_empty() && report.quarantined.is_empty());
    }
    assert_eq!(r.state_digest(), digest);
}

#[test]
fn t6_equivocating_device_is_flagged_and_neither_change_wins() {
    // Goal: the village signs two different changes as one (actor, seq); both are held and flagged.
    let mut fed = Fed::new();
    let doc = proposed(&mut fed);
    let village = fed.village.clone();
    let a = forge_on(
        &fed.origin,
        &village,
        42,
        &doc,
        &[("note".into(), ScalarValue::Str("甲".into()))],
    );
    let b = forge_on(
        &fed.origin,
        &village,
        42,
        &doc,
        &[("note".into(), ScalarValue::Str("乙".into()))],
    );
    for order in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
        let mut r = fresh(&fed);
        r.ingest(fed.log.clone());
        for e in order {
            r.ingest(vec![e]);
        }
        assert_eq!(r.equivocations().count(), 1);
        let held: Vec<_> = r
            .quarantine()
            .values()
            .filter(|q| matches!(q.reason, Rejection::Equivocation { .. }))
            .collect();
        assert_eq!(held.len(), 2);
    }
}

#[test]
fn t7_clock_liar_cannot_use_an_expired_certificate_with_an_honest_clock_and_is_bounded_by_revocation(
) {
    // Goal: a certificate's validity is checked against the change's own signed time; a device
    // whose certificate expired is refused, and backdating is stopped by revocation (which names
    // heads, not times).
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let township = fed.township.clone();
    let temp = key(60);
    let mut short = cert(
        &township,
        &temp,
        VILLAGE,
        Level::Village,
        Some(TOWNSHIP),
        Role::Operator,
    );
    short.body.valid_until_ms = Some(1_700_000_000_000 + 1);
    let short = hallsync_model::Certificate::sign(short.body, &township).unwrap();
    fed.publish_cert(&township, &short).unwrap();
    let refused = fed.propose(&temp, VILLAGE, "ITEM-1").unwrap_err();
    assert!(matches!(refused, Rejection::Expired { .. }), "{refused}");
    // Backdated into the validity window it would pass the time check; revoking the key without
    // keeping anything removes it regardless of the time it claims.
    let doc = Fed::station_doc(VILLAGE, "ITEM-1");
    let puts: Vec<(String, ScalarValue)> = vec![
        ("hall".into(), ScalarValue::Str(VILLAGE.into())),
        ("item".into(), ScalarValue::Str("ITEM-1".into())),
    ];
    let mut backdated = fed
        .origin
        .record(&doc)
        .map(|s| s.doc().fork())
        .unwrap_or_default();
    backdated.set_actor(temp.device_id().actor(1));
    {
        use automerge::transaction::Transactable;
        let mut tx = backdated.transaction();
        for (k, v) in &puts {
            tx.put(automerge::ROOT, k.as_str(), v.clone()).unwrap();
        }
        tx.commit_with(
            automerge::transaction::CommitOptions::default().with_time(1_700_000_000_000),
        );
    }
    let env = hallsync_model::SignedChange::sign(
        doc.clone(),
        &backdated.get_last_local_change().unwrap(),
        &temp,
    );
    let mut r = fresh(&fed);
    r.ingest(fed.log.clone());
    assert_eq!(
        r.ingest(vec![env.clone()]).applied.len(),
        1,
        "a backdated change passes the time check"
    );
    fed.log.push(env);
    fed.revoke(&township, &temp, false).unwrap();
    let mut r = fresh(&fed);
    r.ingest(fed.log.clone());
    assert!(!r.holds(&doc));
}

#[test]
fn t8_administrators_cannot_revoke_their_peers_or_superiors() {
    // Goal: revocation authority flows strictly down the hall tree, so no two administrators can
    // revoke each other (no state resets).
    let mut fed = Fed::new();
    let (township, district, district_b) = (
        fed.township.clone(),
        fed.district.clone(),
        fed.district_b.clone(),
    );
    let active_before = fed.origin.trust().valid().len();
    fed.revoke(&township, &district, true).unwrap();
    fed.revoke(&district_b, &district, true).unwrap();
    assert_eq!(fed.origin.trust().valid().len(), active_before);
    fed.revoke(&district, &township, true).unwrap();
    assert_eq!(fed.origin.trust().valid().len(), active_before - 1);
}

#[test]
fn a_strangers_changes_leave_no_record_and_no_stored_row_behind() {
    // Goal (issue #9 × #10): records rest on disk with their pool of waiting changes, so a
    // stranger with a valid key and no certificate must not be able to create a record row per
    // change it sends, nor a stored quarantine row: what it sends waits in memory, in a bound of
    // its own.
    use hallsync_model::replica::MemRest;
    use std::sync::Arc;
    let mut fed = Fed::new();
    let stranger = fed.stranger.clone();
    let rest = Arc::new(MemRest::new());
    let (mut r, _) =
        hallsync_model::Replica::open_at_rest(fed.genesis(), rest.at_rest(Vec::new(), 16));
    r.ingest(fed.log.clone());
    rest.write(&r.unsettled());
    r.settle();
    let held_before = r.record_count();
    let junk: Vec<_> = (0..50)
        .map(|i| {
            let doc: DocId = format!("item/JUNK-{i}").parse().unwrap();
            fed.forge(
                &stranger,
                1,
                &doc,
                vec![("name".into(), ScalarValue::Str("x".into()))],
            )
        })
        .collect();
    r.ingest(junk.clone());
    let unsettled = r.unsettled();
    assert!(
        unsettled.records.is_empty(),
        "a stranger made {} record rows",
        unsettled.records.len()
    );
    assert!(
        unsettled.quarantined.is_empty(),
        "a stranger's changes are never stored (issue #10)"
    );
    assert_eq!(r.quarantine().len(), junk.len(), "they wait in memory");
    assert!(r.quarantine().values().all(|q| q.waiting));
    assert_eq!(r.record_count(), held_before);
}
