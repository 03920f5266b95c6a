//! Certificates and jurisdiction.

use hallsync_model::{Genesis, Level, Role, TrustError, TrustState};

use crate::fixture::{
    cert, hall, key, Fed, CITY, DISTRICT, DISTRICT_B, TOWNSHIP, TOWNSHIP_B, VILLAGE,
};

fn state(fed: &Fed, certs: Vec<hallsync_model::Certificate>) -> TrustState {
    let mut t = TrustState::new(fed.genesis());
    t.add(certs);
    t
}

#[test]
fn chain_from_genesis_to_village_is_valid() {
    // Goal: every certificate of the fixture chains to the genesis key.
    let fed = Fed::new();
    let t = state(&fed, fed.certs.clone());
    assert_eq!(t.valid().len(), fed.certs.len());
    assert!(t.holds(&fed.village.device_id(), Role::Operator, &hall(VILLAGE)));
    assert_eq!(t.halls()[&hall(VILLAGE)].level, Level::Village);
}

#[test]
fn validity_does_not_depend_on_insertion_order() {
    // Goal: certificates added leaf-first end in the same valid set as root-first.
    let fed = Fed::new();
    let forward = state(&fed, fed.certs.clone());
    let mut reversed = TrustState::new(fed.genesis());
    for c in fed.certs.iter().rev() {
        reversed.add([c.clone()]);
    }
    assert_eq!(
        forward.valid().keys().collect::<Vec<_>>(),
        reversed.valid().keys().collect::<Vec<_>>()
    );
    assert_eq!(forward.halls(), reversed.halls());
}

#[test]
fn admin_certifying_outside_its_jurisdiction_is_refused() {
    // Goal: district A's administrator cannot certify a township under district B.
    let fed = Fed::new();
    let t = state(&fed, fed.certs.clone());
    let intruder = cert(
        &fed.district,
        &key(40),
        "440306002",
        Level::Township,
        Some(DISTRICT_B),
        Role::Admin,
    );
    assert!(matches!(
        t.check_issue(&intruder),
        Err(TrustError::OutsideJurisdiction { .. })
    ));
    let t2 = state(&fed, [fed.certs.clone(), vec![intruder.clone()]].concat());
    assert!(!t2.valid().contains_key(&intruder.id()));
}

#[test]
fn operator_cannot_certify() {
    // Goal: only administrators issue certificates.
    let fed = Fed::new();
    let t = state(&fed, fed.certs.clone());
    let child = cert(
        &fed.village,
        &key(41),
        "440305001001-a",
        Level::Village,
        Some(TOWNSHIP),
        Role::Operator,
    );
    assert!(t.check_issue(&child).is_err());
}

#[test]
fn forged_certificate_signature_is_ignored() {
    // Goal: a certificate whose signature does not verify never becomes valid.
    let fed = Fed::new();
    let mut forged = cert(
        &fed.city,
        &key(42),
        "440307",
        Level::District,
        Some(CITY),
        Role::Admin,
    );
    forged.signature[0] ^= 1;
    let t = state(&fed, [fed.certs.clone(), vec![forged.clone()]].concat());
    assert!(!t.valid().contains_key(&forged.id()));
    assert!(matches!(
        t.check_issue(&forged),
        Err(TrustError::BadCertSignature { .. })
    ));
}

#[test]
fn a_parent_is_always_a_higher_level() {
    // Goal: a district cannot sit under a township.
    let fed = Fed::new();
    let t = state(&fed, fed.certs.clone());
    let upside = cert(
        &fed.district,
        &key(43),
        "440305009",
        Level::District,
        Some(TOWNSHIP),
        Role::Admin,
    );
    assert!(matches!(
        t.check_issue(&upside),
        Err(TrustError::LevelOrder { .. })
    ));
}

#[test]
fn only_the_genesis_key_self_signs() {
    // Goal: another key's self-signed city certificate is not a root.
    let fed = Fed::new();
    let usurper = key(44);
    let root = cert(&usurper, &usurper, "4404", Level::City, None, Role::Admin);
    let t = state(&fed, vec![root.clone()]);
    assert!(t.valid().is_empty());
    let other_network = TrustState::new(Genesis {
        key: usurper.device_id(),
    });
    assert!(other_network.check_issue(&root).is_ok());
}

#[test]
fn supervising_tiers_follow_the_hall_tree() {
    // Goal: village → township, township → district, district → city, city → city.
    let fed = Fed::new();
    let t = state(&fed, fed.certs.clone());
    assert_eq!(t.supervisor_of(&hall(VILLAGE)), Some(hall(TOWNSHIP)));
    assert_eq!(t.supervisor_of(&hall(TOWNSHIP)), Some(hall(DISTRICT)));
    assert_eq!(t.supervisor_of(&hall(DISTRICT)), Some(hall(CITY)));
    assert_eq!(t.supervisor_of(&hall(CITY)), Some(hall(CITY)));
    assert!(t.may_approve(&fed.township.device_id(), &hall(VILLAGE)));
    assert!(!t.may_approve(&fed.district.device_id(), &hall(VILLAGE)));
    assert!(!t.may_approve(&fed.township_b.device_id(), &hall(VILLAGE)));
    assert!(t.may_approve(&fed.city.device_id(), &hall(CITY)));
    assert!(t.is_within(&hall(VILLAGE), &hall(DISTRICT)));
    assert!(!t.is_within(&hall(TOWNSHIP_B), &hall(DISTRICT)));
}
