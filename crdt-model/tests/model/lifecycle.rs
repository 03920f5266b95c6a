//! Approval policies (M-of-N, tier, maker-checker) and key rotation.

use hallsync_model::records::policy::{ApprovalPolicy, ApproverTier, POLICY_PREFIX};
use hallsync_model::{Certificate, Decision, DocId, Level, Rejection, Role, ScalarValue};

use crate::fixture::{cert, fresh, key, Fed, CITY, DISTRICT, TOWNSHIP, VILLAGE};

fn policy_puts(required: u8, tier: ApproverTier) -> Vec<(String, ScalarValue)> {
    let p = ApprovalPolicy {
        approvers_required: required,
        approver_tier: tier,
    };
    vec![(
        format!("{POLICY_PREFIX}stationing"),
        ScalarValue::Str(p.to_value().into()),
    )]
}

/// The fixture plus a second city administrator and a second township administrator.
fn fed_with_colleagues() -> (Fed, hallsync_model::DeviceKey, hallsync_model::DeviceKey) {
    let mut fed = Fed::new();
    let (city, district) = (fed.city.clone(), fed.district.clone());
    let city2 = key(70);
    let township2 = key(71);
    fed.publish_cert(
        &city,
        &cert(&city, &city2, CITY, Level::City, None, Role::Admin),
    )
    .unwrap();
    fed.publish_cert(
        &district,
        &cert(
            &district,
            &township2,
            TOWNSHIP,
            Level::Township,
            Some(DISTRICT),
            Role::Admin,
        ),
    )
    .unwrap();
    (fed, city2, township2)
}

#[test]
fn policy_change_takes_effect_only_once_another_city_admin_approves() {
    // Goal: one city administrator cannot change the rules alone (maker-checker on the policy).
    let (mut fed, city2, _) = fed_with_colleagues();
    let city = fed.city.clone();
    fed.write(
        &city,
        &DocId::policy(),
        policy_puts(2, ApproverTier::Supervisor),
    )
    .unwrap();
    assert_eq!(
        fed.origin.policy_for("stationing"),
        ApprovalPolicy::default()
    );
    assert!(matches!(
        fed.decide(&city, &DocId::policy(), Decision::Approve, None)
            .unwrap_err(),
        Rejection::SelfApproval { .. }
    ));
    let pending = fed.origin.pending_for(&city2.device_id());
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].doc, "policy");
    fed.decide(&city2, &DocId::policy(), Decision::Approve, None)
        .unwrap();
    assert_eq!(fed.origin.policy_for("stationing").approvers_required, 2);
    let village = fed.village.clone();
    let refused = fed
        .write(
            &village,
            &DocId::policy(),
            policy_puts(1, ApproverTier::City),
        )
        .unwrap_err();
    assert!(matches!(refused, Rejection::OutOfScope { .. }), "{refused}");
}

#[test]
fn two_of_n_needs_two_distinct_approvers_of_the_supervising_tier_and_audit_agrees() {
    // Goal: with approvers_required = 2, one township approval leaves the proposal pending, a second
    // by another township administrator makes it effective, and every replica agrees.
    let (mut fed, city2, township2) = fed_with_colleagues();
    let city = fed.city.clone();
    fed.write(
        &city,
        &DocId::policy(),
        policy_puts(2, ApproverTier::Supervisor),
    )
    .unwrap();
    fed.decide(&city2, &DocId::policy(), Decision::Approve, None)
        .unwrap();
    fed.create_item("ITEM-1");
    let village = fed.village.clone();
    fed.propose(&village, VILLAGE, "ITEM-1").unwrap();
    let doc = Fed::station_doc(VILLAGE, "ITEM-1");
    let township = fed.township.clone();
    fed.decide(&township, &doc, Decision::Approve, None)
        .unwrap();
    let view = &fed.origin.stations()[0];
    assert_eq!(view.status, "pending");
    assert_eq!(view.pending.as_ref().unwrap().approvals, 1);
    // `audit` says what `items` and `pending` say (issue #11: it said "covered by an approval").
    let audit = |fed: &Fed| {
        let report = fed.origin.audit(&doc).unwrap();
        let content: Vec<(String, String)> = report
            .changes
            .iter()
            .filter(|c| c.status != "approval")
            .map(|c| (c.status.clone(), c.why.clone()))
            .collect();
        content
    };
    let before = audit(&fed);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].0, "pending", "{before:?}");
    assert!(before[0].1.contains("1 of 2"), "{before:?}");
    assert!(
        fed.origin.pending_for(&township.device_id()).is_empty(),
        "it already approved"
    );
    assert_eq!(fed.origin.pending_for(&township2.device_id()).len(), 1);
    // A city administrator's approval does not count under a supervisor-tier policy.
    fed.decide(&city, &doc, Decision::Approve, None).unwrap();
    assert_eq!(fed.origin.stations()[0].status, "pending");
    fed.decide(&township2, &doc, Decision::Approve, None)
        .unwrap();
    assert_eq!(fed.origin.stations()[0].status, "approved");
    assert_eq!(audit(&fed)[0].0, "effective");
    let mut other = fresh(&fed);
    other.ingest(fed.log.iter().rev().cloned().collect());
    assert_eq!(other.stations(), fed.origin.stations());
}

#[test]
fn rotated_key_keeps_its_past_and_loses_its_future() {
    // Goal: after rotation the new key writes with the old key's certificate scope; the old key's
    // past changes stay effective, anything it signs afterwards is refused.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let village = fed.village.clone();
    fed.propose(&village, VILLAGE, "ITEM-1").unwrap();
    let new_key = key(80);
    let old_cert = fed
        .origin
        .trust()
        .active_certs_of(&village.device_id())
        .next()
        .unwrap()
        .clone();
    let mut body = old_cert.body.clone();
    body.holder = new_key.device_id();
    body.successor_of = Some(old_cert.id());
    body.issuer = village.device_id();
    let successor = Certificate::sign(body, &village).unwrap();
    // Publish the successor, then retire the old key keeping everything it wrote and the successor.
    fed.publish_cert(&village, &successor).unwrap();
    fed.revoke(&village, &village, true).unwrap();
    assert!(fed.origin.trust().valid().contains_key(&successor.id()));
    fed.create_item("ITEM-2");
    fed.propose(&new_key, VILLAGE, "ITEM-2").unwrap();
    let refused = fed.propose(&village, VILLAGE, "ITEM-3");
    assert!(refused.is_err());
    fed.create_item("ITEM-3");
    let refused = fed.propose(&village, VILLAGE, "ITEM-3").unwrap_err();
    assert!(matches!(refused, Rejection::Revoked { .. }), "{refused}");
    assert_eq!(
        fed.origin.stations().len(),
        2,
        "the old key's proposal stays, the new key's is added"
    );
    let mut other = fresh(&fed);
    other.ingest(fed.log.iter().rev().cloned().collect());
    assert_eq!(other.state_digest(), fed.origin.state_digest());
}

#[test]
fn successor_must_repeat_the_old_scope() {
    // Goal: rotation cannot widen a certificate.
    let fed = Fed::new();
    let village = fed.village.clone();
    let old_cert = fed
        .origin
        .trust()
        .active_certs_of(&village.device_id())
        .next()
        .unwrap()
        .clone();
    let mut body = old_cert.body.clone();
    body.holder = key(81).device_id();
    body.successor_of = Some(old_cert.id());
    body.issuer = village.device_id();
    body.role = Role::Admin;
    let wider = Certificate::sign(body, &village).unwrap();
    assert!(fed.origin.trust().check_issue(&wider).is_err());
}
