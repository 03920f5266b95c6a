//! Membership before sync (issue #10): who is admitted, on what, and what a non-member is offered.

use hallsync_model::sync::admission::{Admission, ADMISSION_BYTES_MAX};
use hallsync_model::sync::scope::in_scope;
use hallsync_model::trust::membership::{admit, is_member, presentation, PRESENTED_CERTS_MAX};
use hallsync_model::{DocId, Level, Role, TrustError, TrustState};

use crate::fixture::{cert, key, Fed, TOWNSHIP};

/// The trust state of a node that knows the fixture's certificates except the last `missing`.
fn knowing_all_but(fed: &Fed, missing: usize) -> TrustState {
    let mut t = TrustState::new(fed.genesis());
    t.add(fed.certs[..fed.certs.len() - missing].iter().cloned());
    t
}

#[test]
fn a_device_joined_since_is_admitted_on_its_presented_chain_and_a_stranger_on_nothing() {
    // Goal: a node that has not yet received a new device's certificate admits it on the chain
    // from its invitation; a fresh key with no chain, someone else's chain, or a chain with a bad
    // signature is refused, and the refusal names the reason.
    let fed = Fed::new();
    let full = knowing_all_but(&fed, 0);
    let newcomer = key(60);
    let newcomer_cert = cert(
        &fed.township,
        &newcomer,
        "440305001009",
        Level::Village,
        Some(TOWNSHIP),
        Role::Operator,
    );
    let mut inviter = full.clone();
    inviter.add([newcomer_cert.clone()]);
    let chain = presentation(&inviter, &newcomer.device_id());
    assert_eq!(chain.first(), Some(&newcomer_cert));
    assert!(
        chain.len() >= 4,
        "the chain reaches the root: {}",
        chain.len()
    );

    // A node that has not heard of the newcomer.
    assert!(!is_member(&full, &newcomer.device_id()));
    admit(&full, &newcomer.device_id(), &chain).expect("admitted on its chain");
    // Members need nothing presented.
    admit(&full, &fed.village.device_id(), &[]).expect("a member");

    let refused =
        |device: &hallsync_model::DeviceId, chain: &[hallsync_model::Certificate]| match admit(
            &full, device, chain,
        ) {
            Err(TrustError::NotAMember { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        };
    assert!(refused(&fed.stranger.device_id(), &[]).contains("no certificate"));
    assert!(refused(&fed.stranger.device_id(), &chain).contains("its own"));
    let mut forged = chain.clone();
    forged[0].signature[0] ^= 1;
    assert!(refused(&newcomer.device_id(), &forged).contains("signature"));
    let too_many = vec![chain[0].clone(); PRESENTED_CERTS_MAX + 1];
    assert!(refused(&newcomer.device_id(), &too_many).contains("more certificates"));
    // A certificate issued by a key with no authority does not chain.
    let self_made = cert(
        &fed.stranger,
        &newcomer,
        "440305001009",
        Level::Village,
        Some(TOWNSHIP),
        Role::Operator,
    );
    assert!(refused(&newcomer.device_id(), &[self_made]).contains("do not chain"));
}

#[test]
fn a_revoked_device_is_refused_on_its_old_chain_and_offered_only_the_trust_record() {
    // Goal: a device revoked here cannot get back in by presenting the chain it holds, and the scope
    // rule offers it nothing but the trust record that revokes it; a stranger is offered nothing.
    let mut fed = Fed::new();
    let village = fed.village.clone();
    let chain = presentation(fed.origin.trust(), &village.device_id());
    let township = fed.township.clone();
    fed.revoke(&township, &village, true).unwrap();
    let trust = fed.origin.trust();
    assert!(!is_member(trust, &village.device_id()));
    assert!(admit(trust, &village.device_id(), &chain).is_err());

    let item = DocId::item(&hallsync_model::ItemCode::new("442000001000").unwrap());
    assert!(in_scope(trust, &DocId::trust(), &village.device_id()));
    assert!(!in_scope(trust, &item, &village.device_id()));
    assert!(in_scope(trust, &item, &fed.district.device_id()));
    assert!(!in_scope(trust, &DocId::trust(), &fed.stranger.device_id()));
    assert!(!in_scope(trust, &item, &fed.stranger.device_id()));
}

#[test]
fn admission_messages_decode_within_their_bounds_only() {
    // Goal: the only message a stranger can make this node decode is bounded in bytes and
    // certificates; what decodes re-encodes the same.
    let fed = Fed::new();
    let hello = Admission::Hello {
        chain: fed.certs.clone(),
    };
    assert_eq!(Admission::from_bytes(&hello.to_bytes()).unwrap(), hello);
    assert!(Admission::from_bytes(&vec![0u8; ADMISSION_BYTES_MAX + 1]).is_err());
    let crowded = Admission::Welcome {
        chain: vec![fed.certs[0].clone(); PRESENTED_CERTS_MAX + 1],
    };
    assert!(Admission::from_bytes(&crowded.to_bytes()).is_err());
    assert!(Admission::from_bytes(&[0xff, 0xff, 0xff]).is_err());
    let refused = Admission::refused();
    let Admission::Refused { reason } = &refused else {
        unreachable!()
    };
    assert!(!reason.contains("HSN-"), "a refusal names no network");
}
