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
    assert!(t.is_within(&hall(VILLAGE), &hall(DISTRICT)));
    assert!(!t.is_within(&hall(TOWNSHIP_B), &hall(DISTRICT)));
}

mod one_by_one {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64), .. ProptestConfig::default() })]

        /// Certificates added one at a time, in any order (each a trust change as it arrives,
        /// which takes the incremental path while nothing is revoked), stand exactly as when added
        /// at once: the same valid set and the same halls, names included. The set has a second
        /// certificate for one hall, certificates whose issuers arrive later, one outside its
        /// issuer's jurisdiction, and one that contradicts a hall's parent.
        #[test]
        fn certificates_added_one_by_one_in_any_order_stand_as_when_added_at_once(
            order in Just((0..16usize).collect::<Vec<_>>()).prop_shuffle(),
        ) {
            let fed = Fed::new();
            let mut certs = fed.certs.clone();
            // A second operator at the village, whose certificate names the hall differently and
            // was issued first: which name the hall gets must not depend on arrival order.
            let mut second = cert(&fed.township, &key(50), VILLAGE, Level::Village, Some(TOWNSHIP), Role::Operator).body;
            second.hall_name = "另一个名字 another name".into();
            second.issued_at_ms -= 1;
            certs.push(hallsync_model::Certificate::sign(second, &fed.township).unwrap());
            // First every certificate stands (the incremental path throughout), then with two
            // that never stand (a full recompute from the first of them on).
            let standing = certs.clone();
            certs.push(cert(&fed.district, &key(51), TOWNSHIP_B, Level::Township, Some(DISTRICT_B), Role::Admin));
            certs.push(cert(&fed.township, &key(52), VILLAGE, Level::Village, Some(TOWNSHIP_B), Role::Operator));
            prop_assert!(certs.len() <= 16);
            for set in [&standing, &certs] {
                let all = state(&fed, set.clone());
                let mut one_by_one = TrustState::new(fed.genesis());
                for i in &order {
                    if let Some(c) = set.get(*i) {
                        one_by_one.add([c.clone()]);
                    }
                }
                prop_assert_eq!(all.valid().keys().collect::<Vec<_>>(), one_by_one.valid().keys().collect::<Vec<_>>());
                prop_assert_eq!(all.halls(), one_by_one.halls());
            }
            let all = state(&fed, certs.clone());
            prop_assert!(all.holds(&key(50).device_id(), Role::Operator, &hall(VILLAGE)));
            prop_assert!(!all.holds(&key(52).device_id(), Role::Operator, &hall(VILLAGE)));
        }
    }
}
