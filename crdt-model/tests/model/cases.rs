//! Cross-region cases: lifecycle, who signs what (K13), one correction notice (K2), deferrable
//! materials (K5), deadlines (K6), and deterministic resolution of concurrent transitions.

use hallsync_model::records::case::{CaseState, Transition};
use hallsync_model::records::item::ItemFields;
use hallsync_model::replica::parts::CarriedPart;
use hallsync_model::{
    DeviceId, DeviceKey, DocId, ItemCode, Level, Rejection, Replica, Role, ScalarValue,
    SignedChange,
};
use proptest::prelude::*;

use crate::fixture::{cert, fresh, hall, key, Fed, TOWNSHIP, TOWNSHIP_B, VILLAGE};

const CODE: &str = "442000001000";

fn case_doc() -> DocId {
    DocId::case(&hall(VILLAGE), &hall(TOWNSHIP_B), "C1")
}

fn setup() -> Fed {
    let mut fed = Fed::new();
    let item = ItemFields::example(
        ItemCode::new(CODE).unwrap(),
        "老年证",
        hallsync_model::records::item::ItemType::PublicService,
        "民政局",
        5,
    );
    let city = fed.city.clone();
    fed.write(&city, &DocId::item(&item.code), item.writes())
        .unwrap();
    let village = fed.village.clone();
    let header = vec![
        ("item".to_string(), ScalarValue::Str(CODE.into())),
        ("case_no".into(), ScalarValue::Str("C1".into())),
        (
            "applicant_ref".into(),
            ScalarValue::Str("9f86d081884c7d65".into()),
        ),
        ("cross_region".into(), ScalarValue::Str("citywide".into())),
    ];
    fed.write(&village, &case_doc(), header).unwrap();
    fed
}

fn step(
    fed: &mut Fed,
    who: &DeviceKey,
    from: &str,
    to: &str,
    materials: &[&str],
) -> Result<SignedChange, Rejection> {
    let t = Transition {
        from: CaseState::parse(from).unwrap(),
        to: CaseState::parse(to).unwrap(),
        at_ms: fed.now_ms() + 1000,
        materials: materials.iter().map(|m| m.to_string()).collect(),
        note: String::new(),
        supply_by: (to == "accepted_with_deferred_materials").then(|| "2026-12-01".to_string()),
        mode: None,
        sealed_note: None,
    };
    let key = t.key(&who.device_id());
    fed.write(
        who,
        &case_doc(),
        vec![(key, ScalarValue::Str(t.to_value().into()))],
    )
}

#[test]
fn a_case_runs_its_whole_lifecycle_across_two_districts() {
    // Goal: accepted at a village of district A, decided at a township of district B, issued back at
    // the village; every state in order, with a due date in working days from acceptance (K6).
    let mut fed = setup();
    let (village, handling) = (fed.village.clone(), fed.township_b.clone());
    for (who, from, to) in [
        (&village, "received", "accepted"),
        (&village, "accepted", "transferred"),
        (&handling, "transferred", "in_review"),
        (&handling, "in_review", "decided"),
        (&village, "decided", "issued"),
        (&village, "issued", "delivered"),
        (&handling, "delivered", "archived"),
    ] {
        step(&mut fed, who, from, to, &[]).unwrap();
    }
    let mut other = fresh(&fed);
    other.ingest(fed.log.iter().rev().cloned().collect());
    for r in [&fed.origin, &other] {
        let c = &r.cases(None)[0];
        assert_eq!(c.state, "archived");
        assert!(c.history.iter().all(|s| s.applied));
        let (accepted, due): (
            hallsync_model::calendar::Date,
            hallsync_model::calendar::Date,
        ) = (
            c.accepted_on.as_ref().unwrap().parse().unwrap(),
            c.due.as_ref().unwrap().parse().unwrap(),
        );
        assert_eq!(r.calendar().working_days_between(accepted, due), 5);
    }
}

#[test]
fn k13_the_accepting_hall_cannot_decide() {
    // Goal: the intake site may never record a decision; the handling site may.
    let mut fed = setup();
    let village = fed.village.clone();
    step(&mut fed, &village, "received", "accepted", &[]).unwrap();
    step(&mut fed, &village, "accepted", "transferred", &[]).unwrap();
    let refused = step(&mut fed, &village, "transferred", "in_review", &[]).unwrap_err();
    assert!(
        matches!(&refused, Rejection::OutOfScope { reason } if reason.starts_with("K13")),
        "{refused}"
    );
}

#[test]
fn k2_one_correction_notice_and_k5_only_deferrable_materials() {
    // Goal: a second correction notice does not take effect; deferring a non-deferrable material
    // does not either, while deferring a deferrable one does.
    let mut fed = setup();
    let village = fed.village.clone();
    step(
        &mut fed,
        &village,
        "received",
        "correction_requested",
        &["id", "photo"],
    )
    .unwrap();
    step(&mut fed, &village, "correction_requested", "received", &[]).unwrap();
    step(
        &mut fed,
        &village,
        "received",
        "correction_requested",
        &["other"],
    )
    .unwrap();
    step(
        &mut fed,
        &village,
        "received",
        "accepted_with_deferred_materials",
        &["id"],
    )
    .unwrap();
    let c = &fed.origin.cases(None)[0];
    assert_eq!(c.state, "received");
    assert!(c.history[2].why_not.as_deref().unwrap().starts_with("K2"));
    assert!(c.history[3].why_not.as_deref().unwrap().starts_with("K5"));
    step(
        &mut fed,
        &village,
        "received",
        "accepted_with_deferred_materials",
        &["photo"],
    )
    .unwrap();
    assert_eq!(
        fed.origin.cases(None)[0].state,
        "accepted_with_deferred_materials"
    );
}

const STATES: [&str; 11] = [
    "received",
    "correction_requested",
    "accepted",
    "accepted_with_deferred_materials",
    "rejected",
    "transferred",
    "in_review",
    "decided",
    "issued",
    "delivered",
    "archived",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24), .. ProptestConfig::default() })]

    #[test]
    fn concurrent_case_transitions_converge_and_never_skip_a_state(
        moves in proptest::collection::vec((0usize..3, 0usize..11, 0usize..11), 1..14),
        seed in any::<u64>(),
    ) {
        // Three signers on three disconnected branches (two operators of the accepting village, one
        // of the handling township) move the case concurrently; merged in any order, every replica
        // shows the same case, and its applied transitions form a legal path from `received`.
        // Every transition carries a note sealed to the parties (issue #14): the properties hold over
        // encrypted content, and every order opens the same notes for a party.
        let mut fed = setup();
        fed.announce_seal_keys();
        let township = fed.township.clone();
        let operator2 = key(91);
        let c = cert(&township, &operator2, VILLAGE, Level::Village, Some(TOWNSHIP), Role::Operator);
        fed.publish_cert(&township, &c).unwrap();
        let signers = [fed.village.clone(), operator2, fed.township_b.clone()];
        let mut parts = Vec::new();
        let mut branches: Vec<(Replica, Vec<SignedChange>)> = (0..3)
            .map(|_| { let mut r = fresh(&fed); r.ingest(fed.log.clone()); (r, Vec::new()) })
            .collect();
        for (i, (b, from, to)) in moves.iter().enumerate() {
            let mut t = Transition { from: CaseState::parse(STATES[*from]).unwrap(), to: CaseState::parse(STATES[*to]).unwrap(), at_ms: 1_800_000_000_000 + i as i64, materials: vec![], note: format!("note {i}"), supply_by: Some("2026-12-01".into()), mode: None , sealed_note: None};
            let who = &signers[*b];
            let (replica, log) = &mut branches[*b];
            let secrets = hallsync_model::entry::case::CaseSecrets { content_key: [i as u8; 32], ephemeral: [(i + 100) as u8; 32] };
            let part = hallsync_model::entry::case::seal_note(replica, &case_doc(), &who.device_id(), &mut t, &secrets).unwrap().unwrap();
            replica.keep_own_parts(std::slice::from_ref(&part)).unwrap();
            parts.push(CarriedPart { doc: case_doc(), bytes: part });
            let puts = vec![(t.key(&who.device_id()), ScalarValue::Str(t.to_value().into()))];
            if let Ok(env) = replica.author(who, 10 + *b as u32, &case_doc(), t.at_ms, &puts) {
                log.push(env);
            }
        }
        let all: Vec<SignedChange> = fed.log.iter().cloned().chain(branches.iter().flat_map(|(_, l)| l.clone())).collect();
        let mut views = Vec::new();
        let mut notes = Vec::new();
        let party = [Fed::open_key(&fed.village)];
        for k in 0..3u64 {
            let mut order = all.clone();
            crate::fixture::shuffle(&mut order, seed.wrapping_add(k));
            let mut r = fresh(&fed);
            // The sealed notes travel beside the changes (as sync carries them): each is kept once
            // an applied change names it.
            for chunk in order.chunks(2) {
                let report = r.ingest(chunk.to_vec());
                r.settle_parts(&report.applied, parts.clone());
            }
            let view = r.cases(None);
            let opened: Vec<Option<String>> = view[0].history.iter()
                .map(|s| r.case_note(&case_doc(), &s.key, &party).ok().flatten())
                .collect();
            prop_assert!(view[0].history.iter().all(|s| s.sealed && s.note.is_empty()));
            prop_assert!(opened.iter().all(|n| n.as_deref().is_some_and(|n| n.starts_with("note "))));
            notes.push(opened);
            views.push(view);
        }
        prop_assert_eq!(&views[0], &views[1]);
        prop_assert_eq!(&views[0], &views[2]);
        prop_assert_eq!(&notes[0], &notes[1]);
        prop_assert_eq!(&notes[0], &notes[2]);
        let case = &views[0][0];
        let mut at = CaseState::Received;
        for s in case.history.iter().filter(|s| s.applied) {
            prop_assert_eq!(&s.from, &at);
            prop_assert!(hallsync_model::records::case::side_of(s.from, s.to).is_some());
            at = s.to;
        }
        prop_assert_eq!(&at, &case.state);
    }
}

#[test]
fn a_case_replicates_only_to_its_parties_and_the_halls_between_them() {
    // Goal: the halls on the tree path between the parties carry a case; a sibling township does
    // not, and the sync protocol neither sends it nor lists it to that township's device.
    use hallsync_model::sync::memory::{round, Side};
    use hallsync_model::sync::scope::{carries, in_scope};
    use hallsync_model::sync::wire::{Range, WireLimits};
    use hallsync_model::PeerState;
    let mut fed = setup();
    let trust = fed.origin.trust().clone();
    let (a, h) = (hall(VILLAGE), hall(TOWNSHIP_B));
    for carrier in [
        VILLAGE,
        TOWNSHIP,
        crate::fixture::DISTRICT,
        crate::fixture::CITY,
        crate::fixture::DISTRICT_B,
        TOWNSHIP_B,
    ] {
        assert!(carries(&trust, &hall(carrier), &a, &h), "{carrier}");
    }
    let district = fed.district.clone();
    let sibling = key(92);
    let c = cert(
        &district,
        &sibling,
        "440305002",
        Level::Township,
        Some(crate::fixture::DISTRICT),
        Role::Admin,
    );
    fed.publish_cert(&district, &c).unwrap();
    let trust = fed.origin.trust().clone();
    assert!(!carries(&trust, &hall("440305002"), &a, &h));
    // A hall's own records go to it and the halls above it, not to a sibling.
    let station = Fed::station_doc(VILLAGE, CODE);
    assert!(in_scope(&trust, &station, &fed.district.device_id()));
    assert!(in_scope(&trust, &station, &fed.village.device_id()));
    assert!(!in_scope(&trust, &station, &sibling.device_id()));
    assert!(!in_scope(&trust, &station, &fed.township_b.device_id()));
    assert!(!in_scope(&trust, &case_doc(), &sibling.device_id()));
    assert!(in_scope(&trust, &case_doc(), &fed.township_b.device_id()));

    let limits = WireLimits::default();
    let mut theirs = fresh(&fed);
    theirs.set_local_device(sibling.device_id());
    let (mut mine, mut other) = (PeerState::default(), PeerState::default());
    round(
        Side {
            replica: &mut theirs,
            device: sibling.device_id(),
            state: &mut mine,
        },
        Side {
            replica: &mut fed.origin,
            device: fed.city.device_id(),
            state: &mut other,
        },
        &limits,
    )
    .unwrap();
    assert!(
        theirs.cases(None).is_empty(),
        "the sibling township never receives the case"
    );
    assert!(
        theirs.record_count() > 0,
        "it does receive the records every member holds"
    );
    // The case is not even counted in what the origin reconciles with the sibling.
    let opening = fed
        .origin
        .sync_open(&sibling.device_id(), &mut PeerState::default(), &limits);
    let Range::Split { parts, .. } = &opening.ranges[0] else {
        panic!()
    };
    let shared = fed
        .origin
        .records()
        .filter(|d| in_scope(&trust, d, &sibling.device_id()))
        .count();
    assert_eq!(parts[0].count as usize, shared);
    assert!(shared < fed.origin.record_count());
}

#[test]
fn k5_a_deferred_acceptance_sets_its_supply_date() {
    // Goal: a 容缺 acceptance that names no supply date does not take effect.
    let mut fed = setup();
    let village = fed.village.clone();
    let t = Transition {
        from: CaseState::parse("received").unwrap(),
        to: CaseState::parse("accepted_with_deferred_materials").unwrap(),
        at_ms: fed.now_ms() + 1000,
        materials: vec!["photo".into()],
        note: String::new(),
        supply_by: None,
        mode: None,
        sealed_note: None,
    };
    let key = t.key(&village.device_id());
    fed.write(
        &village,
        &case_doc(),
        vec![(key, ScalarValue::Str(t.to_value().into()))],
    )
    .unwrap();
    let c = &fed.origin.cases(None)[0];
    assert_eq!(c.state, "received");
    assert!(c.history[0]
        .why_not
        .as_deref()
        .unwrap()
        .contains("supplied"));
}

#[test]
fn k6_a_case_keeps_the_limit_of_the_item_it_was_taken_in_under() {
    // Goal (issue #11, K6): raising an item's promised days from 5 to 20 after a case was taken in
    // does not move that case's due date; the case carries the limit it was opened under.
    let (mut fed, mut item) = with_complete_item();
    fed.announce_seal_keys();
    let city = fed.city.clone();
    let village = fed.village.clone();
    let opened = village_opens(&fed, &item.code, "C1").unwrap();
    assert!(
        opened.unchecked.is_some(),
        "a village does not hold township B's stationings"
    );
    fed.write(&village, &opened.doc, opened.writes).unwrap();
    step(&mut fed, &village, "received", "accepted", &[]).unwrap();
    let due_before = fed.origin.cases(None)[0].due.clone().unwrap();
    item.promised_days = 20;
    fed.write(&city, &DocId::item(&item.code), item.writes())
        .unwrap();
    let due_after = fed.origin.cases(None)[0].due.clone().unwrap();
    assert_eq!(due_before, due_after, "the due date did not move");
}

#[test]
fn k11_a_case_needs_a_hall_of_the_network_and_an_item_with_a_cross_region_scope() {
    // Goal (issue #11, K11): an unknown handling hall, an item whose scope is `none`, and (where
    // this node holds the handling hall's stationings) an item not stationed there are refused;
    // a bad applicant id too.
    use hallsync_model::entry::case::{open, CaseOpening};
    use hallsync_model::entry::EntryError;
    let (mut fed, mut item) = with_complete_item();
    fed.announce_seal_keys();
    let city = fed.city.clone();
    let township = fed.township.clone();
    let try_open = |fed: &Fed, me: &DeviceKey, accepting: &str, handling: &str, id: &str| {
        open(
            &fed.origin,
            &me.device_id(),
            &CaseOpening {
                accepting: &hall(accepting),
                handling: &hall(handling),
                item: &ItemCode::new(CODE).unwrap(),
                case_no: "C9",
                applicant_id: id,
                applicant_name: "",
            },
            &SECRETS,
        )
    };
    let good_id = "440300199001011238";
    assert!(matches!(
        try_open(&fed, &township, TOWNSHIP, "999999", good_id),
        Err(EntryError::UnknownHall { .. })
    ));
    // The township holds its villages' stationings: the item is not stationed at the village.
    assert!(matches!(
        try_open(&fed, &township, TOWNSHIP, VILLAGE, good_id),
        Err(EntryError::NotHandledThere { .. })
    ));
    assert!(matches!(
        try_open(&fed, &township, TOWNSHIP, VILLAGE, "123"),
        Err(EntryError::BadApplicantId { .. })
    ));
    item.cross_region = hallsync_model::records::item::CrossRegion::None;
    fed.write(&city, &DocId::item(&item.code), item.writes())
        .unwrap();
    assert!(matches!(
        try_open(&fed, &township, TOWNSHIP, VILLAGE, good_id),
        Err(EntryError::OutsideCrossRegionScope { .. })
    ));
}

/// The fixture with a complete, citywide item `CODE` in its catalogue.
/// The randomness of the tests' case openings.
const SECRETS: hallsync_model::entry::case::CaseSecrets =
    hallsync_model::entry::case::CaseSecrets {
        content_key: [1; 32],
        ephemeral: [2; 32],
    };

#[test]
fn a_case_is_sealed_to_its_parties_and_its_carriers_cannot_read_it() {
    // Goal (issue #14, D3): the applicant's id and name are sealed to the devices of the accepting
    // and handling halls; a hall on the path (the district) holds the case and cannot open it; the
    // record's bytes hold neither the id, its plain SHA-256, nor the name; a case with no key
    // announced for a party is refused.
    use sha2::Digest;
    let (mut fed, item) = with_complete_item();
    let village = fed.village.clone();
    let opening = |fed: &Fed| village_opens(fed, &item.code, "S1");
    assert!(matches!(
        opening(&fed),
        Err(hallsync_model::entry::EntryError::NoSealingKey { .. })
    ));
    fed.announce_seal_keys();
    let opened = opening(&fed).unwrap();
    fed.origin.keep_own_parts(&opened.parts).unwrap();
    fed.write(&village, &opened.doc, opened.writes).unwrap();
    let doc = opened.doc;
    for party in [fed.village.clone(), fed.township_b.clone()] {
        let applicant = fed
            .origin
            .case_applicant(&doc, &[Fed::open_key(&party)])
            .unwrap()
            .unwrap();
        assert_eq!(
            (applicant.id.as_str(), applicant.name.as_str()),
            ("440300199001011238", "张三")
        );
    }
    for carrier in [
        fed.district.clone(),
        fed.city.clone(),
        fed.district_b.clone(),
    ] {
        assert_eq!(
            fed.origin.case_applicant(&doc, &[Fed::open_key(&carrier)]),
            Err(hallsync_model::seal::SealError::NotARecipient)
        );
    }
    let bytes: Vec<u8> = fed.log.iter().flat_map(|e| e.change.clone()).collect();
    let text = String::from_utf8_lossy(&bytes);
    let hash = hex::encode(sha2::Sha256::digest(b"440300199001011238"));
    assert!(
        !text.contains("440300199001011238") && !text.contains("张三") && !text.contains(&hash)
    );
    assert!(fed.origin.cases(None)[0].sealed);
}

#[test]
fn a_rotated_party_reads_its_old_notes_and_a_revoked_one_reads_nothing_new() {
    // Goal (issue #14): a party that announces a new sealing key (a rotation) reads notes sealed to
    // its old key with the old key kept, and new notes with the new one; once the handling hall's
    // device is revoked, notes written after are not sealed to it.
    use hallsync_model::seal::{OpenKey, SealError, SealKey};
    let (mut fed, item) = with_complete_item();
    fed.announce_seal_keys();
    let (village, township_b) = (fed.village.clone(), fed.township_b.clone());
    let opened = village_opens(&fed, &item.code, "R1").unwrap();
    let doc = opened.doc.clone();
    fed.origin.keep_own_parts(&opened.parts).unwrap();
    fed.write(&village, &doc, opened.writes).unwrap();
    let write_note = |fed: &mut Fed, from: &str, to: &str, note: &str| -> String {
        sealed_step(fed, &doc, &village, from, to, note)
    };
    let before = write_note(&mut fed, "received", "accepted", "材料齐全");
    // The village rotates its sealing key: a newer announcement.
    let new_village = OpenKey::from_bytes([77; 32]);
    let announcement = hallsync_model::trust::seal_keys::SealAnnouncement::sign(
        &village,
        new_village.seal_key(),
        fed.now_ms() + 5000,
    );
    fed.write(
        &village,
        &DocId::trust(),
        vec![(
            announcement.record_key(),
            ScalarValue::Bytes(announcement.to_bytes()),
        )],
    )
    .unwrap();
    assert_eq!(
        fed.origin.trust().seal_key_of(&village.device_id()),
        Some(new_village.seal_key())
    );
    let after = write_note(&mut fed, "accepted", "transferred", "已流转");
    let old_village = Fed::open_key(&village);
    let both = [new_village, old_village];
    assert_eq!(
        fed.origin.case_note(&doc, &before, &both).unwrap().unwrap(),
        "材料齐全"
    );
    assert_eq!(
        fed.origin.case_note(&doc, &after, &both).unwrap().unwrap(),
        "已流转"
    );
    assert_eq!(
        fed.origin
            .case_note(&doc, &after, &[Fed::open_key(&village)]),
        Err(SealError::NotARecipient),
        "the new note is sealed to the new key only"
    );
    // Township B's device is revoked: what is written after is not sealed to it.
    let district_b = fed.district_b.clone();
    fed.revoke(&district_b, &township_b, true).unwrap();
    let (keys, _) = fed.origin.trust().seal_recipients(&hall(TOWNSHIP_B));
    assert!(
        keys.is_empty(),
        "a revoked device is no recipient: {keys:?}"
    );
    let revoked_key: SealKey = Fed::open_key(&township_b).seal_key();
    assert!(!keys.contains(&revoked_key));
    // (A step the village may sign; the replay supersedes it, which does not matter here.)
    let late = write_note(&mut fed, "received", "rejected", "复核");
    assert_eq!(
        fed.origin
            .case_note(&doc, &late, &[Fed::open_key(&township_b)]),
        Err(SealError::NotARecipient)
    );
    assert_eq!(
        fed.origin
            .case_note(&doc, &before, &[Fed::open_key(&township_b)])
            .unwrap()
            .unwrap(),
        "材料齐全",
        "what was sealed to it before stays what it was"
    );
}

/// The village opens case `no` for `item` at township B, applicant 张三, with the tests' randomness.
fn village_opens(
    fed: &Fed,
    item: &ItemCode,
    no: &str,
) -> Result<hallsync_model::entry::case::OpenedCase, hallsync_model::entry::EntryError> {
    hallsync_model::entry::case::open(
        &fed.origin,
        &fed.village.device_id(),
        &hallsync_model::entry::case::CaseOpening {
            accepting: &hall(VILLAGE),
            handling: &hall(TOWNSHIP_B),
            item,
            case_no: no,
            applicant_id: "440300199001011238",
            applicant_name: "张三",
        },
        &SECRETS,
    )
}

fn with_complete_item() -> (Fed, ItemFields) {
    let mut fed = Fed::new();
    let city = fed.city.clone();
    let item = ItemFields::example(
        ItemCode::new(CODE).unwrap(),
        "老年证",
        hallsync_model::records::item::ItemType::PublicService,
        "民政局",
        5,
    );
    fed.write(&city, &DocId::item(&item.code), item.writes())
        .unwrap();
    (fed, item)
}

#[test]
fn k11_every_receiver_refuses_an_opening_whose_scope_does_not_reach() {
    // Goal (issue #11, K11 on receipt): an opening that names scope `none` for a case between two
    // halls is invalid wherever it arrives, an opening without its scope too, and an opening to a
    // hall the network does not know waits (it is retried when that hall's certificate arrives).
    let (mut fed, _) = with_complete_item();
    let village = fed.village.clone();
    let header = |scope: Option<&str>| {
        let mut h = vec![
            ("item".to_string(), ScalarValue::Str(CODE.into())),
            ("case_no".into(), ScalarValue::Str("C2".into())),
            (
                "applicant_ref".into(),
                ScalarValue::Str("9f86d081884c7d65".into()),
            ),
        ];
        if let Some(scope) = scope {
            h.push(("cross_region".into(), ScalarValue::Str(scope.into())));
        }
        h
    };
    let doc = DocId::case(&hall(VILLAGE), &hall(TOWNSHIP_B), "C2");
    let none = fed.write(&village, &doc, header(Some("none"))).unwrap_err();
    assert!(
        matches!(
            none,
            Rejection::Invalid {
                rule: hallsync_model::Rule::K11,
                ..
            }
        ),
        "{none}"
    );
    assert!(!none.is_retryable());
    let missing = fed.write(&village, &doc, header(None)).unwrap_err();
    assert!(
        matches!(
            missing,
            Rejection::Invalid {
                rule: hallsync_model::Rule::K11,
                ..
            }
        ),
        "{missing}"
    );
    let nowhere = DocId::case(&hall(VILLAGE), &hall("999999"), "C2");
    let unknown = fed
        .write(&village, &nowhere, header(Some("citywide")))
        .unwrap_err();
    assert!(unknown.is_retryable(), "{unknown}");
    fed.write(&village, &doc, header(Some("citywide"))).unwrap();
}

#[test]
fn k11_a_node_that_holds_the_handling_halls_stationings_flags_a_case_it_does_not_station() {
    // Goal (issue #11, K11 on receipt): the opener may not hold the handling hall's stationings;
    // a node that does shows the case with a K11 warning when the item is not stationed there.
    fn warnings(fed: &Fed) -> Vec<String> {
        fed.origin.case(&case_doc(), None).unwrap().warnings
    }
    let mut fed = setup();
    // Nothing of township B's stationings is held yet: nothing can be said.
    assert!(warnings(&fed).is_empty());
    let township_b = fed.township_b.clone();
    fed.create_item("440100002000");
    fed.propose(&township_b, TOWNSHIP_B, "440100002000")
        .unwrap();
    let flagged = warnings(&fed);
    assert!(flagged.iter().any(|w| w.starts_with("K11")), "{flagged:?}");
}

/// `who` moves case `doc` from `from` to `to` with `note` sealed to the parties, keeping the sealed
/// part at the origin as a node keeps its own; returns the transition's key.
fn sealed_step(
    fed: &mut Fed,
    doc: &DocId,
    who: &DeviceKey,
    from: &str,
    to: &str,
    note: &str,
) -> String {
    let mut t = Transition {
        from: CaseState::parse(from).unwrap(),
        to: CaseState::parse(to).unwrap(),
        at_ms: fed.now_ms() + 1000,
        materials: vec![],
        note: note.into(),
        supply_by: None,
        mode: (to == "issued").then(|| "window".into()),
        sealed_note: None,
    };
    let part = hallsync_model::entry::case::seal_note(
        &fed.origin,
        doc,
        &who.device_id(),
        &mut t,
        &SECRETS,
    )
    .unwrap();
    fed.origin.keep_own_parts(part.as_slice()).unwrap();
    assert!(t.note.is_empty() && (note.is_empty() || t.sealed_note.is_some()));
    let key = t.key(&who.device_id());
    fed.write(
        who,
        doc,
        vec![(key.clone(), ScalarValue::Str(t.to_value().into()))],
    )
    .unwrap();
    key
}

/// Sync rounds between two replicas, each opening in turn (a fresh replica admits nobody until it
/// holds the trust record, so it opens first), three times: enough for these small networks.
fn sync_pair(a: &mut Replica, a_dev: DeviceId, b: &mut Replica, b_dev: DeviceId) {
    use hallsync_model::sync::memory::{round, Side};
    use hallsync_model::sync::wire::WireLimits;
    use hallsync_model::PeerState;
    let (mut sa, mut sb) = (PeerState::default(), PeerState::default());
    for i in 0..6 {
        let a_side = Side {
            replica: &mut *a,
            device: a_dev,
            state: &mut sa,
        };
        let b_side = Side {
            replica: &mut *b,
            device: b_dev,
            state: &mut sb,
        };
        let (opener, answerer) = if i % 2 == 0 {
            (b_side, a_side)
        } else {
            (a_side, b_side)
        };
        round(opener, answerer, &WireLimits::default()).unwrap();
    }
}

#[test]
fn d1_an_erasure_takes_the_personal_parts_from_every_store_and_leaves_the_case() {
    // Goal (issue #14, D1): sync carries a case's sealed parts to its carriers and parties beside
    // the signed changes, which name them only by digest. Once the case is archived, a party's
    // signed erasure makes every holder erase the parts (the only wraps of their content keys):
    // the party that wrote it at once, a carrier when it syncs, a late replica that still held the
    // ciphertext when it syncs with the carrier; none takes them back, the erasure converges, and
    // the case's non-personal record stays. Before archiving there is no erasure; a carrier cannot
    // write one.
    use hallsync_model::entry::case::erase;
    use hallsync_model::entry::EntryError;
    use hallsync_model::records::case::{named_parts, ERASED_KEY};
    let (mut fed, item) = with_complete_item();
    fed.announce_seal_keys();
    let (village, township_b, district) = (
        fed.village.clone(),
        fed.township_b.clone(),
        fed.district.clone(),
    );
    let opened = village_opens(&fed, &item.code, "E1").unwrap();
    let doc = opened.doc.clone();
    fed.origin.keep_own_parts(&opened.parts).unwrap();
    fed.write(&village, &doc, opened.writes).unwrap();
    for (who, from, to, note) in [
        (&village, "received", "accepted", ""),
        (&village, "accepted", "transferred", ""),
        (&township_b, "transferred", "in_review", ""),
        (&township_b, "in_review", "decided", "准予许可 approved"),
        (&village, "decided", "issued", ""),
        (&village, "issued", "delivered", ""),
    ] {
        sealed_step(&mut fed, &doc, who, from, to, note);
    }
    assert!(matches!(
        erase(&fed.origin, &doc, &hall(VILLAGE), fed.now_ms()),
        Err(EntryError::Erasure { .. })
    ));
    sealed_step(&mut fed, &doc, &village, "delivered", "archived", "");
    assert_eq!(fed.origin.case(&doc, None).unwrap().state, "archived");

    // A carrier (the district) and the handling party (township B) receive the case by sync.
    // Each holds the trust record already (members that joined), so their sessions admit each other.
    let trust: Vec<SignedChange> = fed
        .log
        .iter()
        .filter(|e| e.doc == DocId::trust())
        .cloned()
        .collect();
    let mut carrier = fresh(&fed);
    carrier.set_local_device(district.device_id());
    carrier.ingest(trust.clone());
    let mut late = fresh(&fed);
    late.set_local_device(township_b.device_id());
    late.ingest(trust);
    let origin_dev = village.device_id();
    sync_pair(
        &mut fed.origin,
        origin_dev,
        &mut carrier,
        district.device_id(),
    );
    sync_pair(
        &mut carrier,
        district.device_id(),
        &mut late,
        township_b.device_id(),
    );
    let ids = named_parts(fed.origin.record(&doc).unwrap().doc());
    assert_eq!(ids.len(), 2, "the applicant and the decision's note");
    for r in [&fed.origin, &carrier, &late] {
        for id in &ids {
            assert!(r.parts().holds(id).unwrap(), "sync carried every part");
        }
    }
    let held: Vec<CarriedPart> = ids
        .iter()
        .map(|id| CarriedPart {
            doc: doc.clone(),
            bytes: carrier.parts().get(id).unwrap().unwrap(),
        })
        .collect();
    assert_eq!(
        late.case_applicant(&doc, &[Fed::open_key(&township_b)])
            .unwrap()
            .unwrap()
            .name,
        "张三",
        "the handling party reads what the carrier forwarded"
    );

    // A peer cannot fill a store with parts no record names, nor with parts for a record it lacks.
    let junk = carrier.settle_parts(
        &[],
        vec![
            CarriedPart {
                doc: doc.clone(),
                bytes: vec![7; 300],
            },
            CarriedPart {
                doc: DocId::case(&hall(VILLAGE), &hall(TOWNSHIP_B), "NOPE"),
                bytes: vec![8; 300],
            },
        ],
    );
    assert_eq!((junk.kept, junk.refused.len()), (0, 2), "{junk:?}");
    assert!(!carrier
        .parts()
        .holds(&hallsync_model::replica::parts::part_id(&[7; 300]))
        .unwrap());
    // A carrier cannot erase.
    let forged = fed.origin.author(
        &district,
        0,
        &doc,
        fed.now_ms() + 1000,
        &[(ERASED_KEY.into(), ScalarValue::Int(1))],
    );
    assert!(
        matches!(forged, Err(Rejection::OutOfScope { .. })),
        "{forged:?}"
    );

    // The village erases: its own parts go at once.
    let writes = erase(&fed.origin, &doc, &hall(VILLAGE), fed.now_ms()).unwrap();
    let tombstone = fed.write(&village, &doc, writes).unwrap();
    assert_eq!(tombstone.author, village.device_id());
    assert!(tombstone.verify().is_ok(), "the erasure is signed");
    for id in &ids {
        assert!(!fed.origin.parts().holds(id).unwrap());
    }
    assert_eq!(
        fed.origin
            .case_applicant(&doc, &[Fed::open_key(&village)])
            .unwrap(),
        None
    );
    let view = fed.origin.case(&doc, None).unwrap();
    assert!(view.erased_at.is_some() && view.state == "archived" && view.sealed);
    assert_eq!(view.item, CODE, "the non-personal record stays");

    // The carrier syncs with the village and erases; the late party still holds the ciphertext.
    sync_pair(
        &mut fed.origin,
        origin_dev,
        &mut carrier,
        district.device_id(),
    );
    for id in &ids {
        assert!(!carrier.parts().holds(id).unwrap());
        assert!(late.parts().holds(id).unwrap());
    }
    // The late replica syncs with the carrier (not the village) and drops it.
    sync_pair(
        &mut carrier,
        district.device_id(),
        &mut late,
        township_b.device_id(),
    );
    for id in &ids {
        assert!(
            !late.parts().holds(id).unwrap(),
            "the late replica dropped it"
        );
    }
    assert_eq!(
        late.case_applicant(&doc, &[Fed::open_key(&township_b)])
            .unwrap(),
        None
    );
    // The erasure converged: the same case everywhere.
    let at = |r: &Replica| r.case(&doc, None).unwrap();
    assert_eq!(at(&fed.origin), at(&carrier));
    assert_eq!(at(&fed.origin), at(&late));
    // The ciphertext offered again is refused, not kept.
    let report = fed.origin.settle_parts(&[], held);
    assert_eq!(report.kept, 0);
    assert_eq!(report.refused.len(), 2);
    assert!(report.refused.iter().all(|r| r.contains("erased")));
}

#[test]
fn a_holder_that_lacks_a_part_asks_its_peers_for_it() {
    // Goal (issue #14): a replica that holds a case's changes but not its sealed part (the change
    // came without it, or the store was restored) notes the part missing and asks for it in its next
    // round; a peer that shares the case sends it, though no change is left to send.
    let (mut fed, item) = with_complete_item();
    fed.announce_seal_keys();
    let (village, district) = (fed.village.clone(), fed.district.clone());
    let opened = village_opens(&fed, &item.code, "N1").unwrap();
    fed.origin.keep_own_parts(&opened.parts).unwrap();
    fed.write(&village, &opened.doc, opened.writes).unwrap();
    let mut carrier = fresh(&fed);
    carrier.set_local_device(district.device_id());
    let report = carrier.ingest(fed.log.clone());
    assert!(carrier.holds(&opened.doc));
    carrier.settle_parts(&report.applied, Vec::new());
    let missing: Vec<_> = carrier.missing_parts().map(|(id, _)| *id).collect();
    assert_eq!(missing.len(), 1, "the applicant's part");
    sync_pair(
        &mut fed.origin,
        village.device_id(),
        &mut carrier,
        district.device_id(),
    );
    assert_eq!(carrier.missing_parts().count(), 0);
    assert!(carrier.parts().holds(&missing[0]).unwrap());
}
