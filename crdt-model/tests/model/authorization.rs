//! Who may write what: the rules of DOMAIN.md "Who may do what", checked on every receiver.

use hallsync_model::{Decision, DocId, Rejection, ScalarValue};

use crate::fixture::{fresh, hall, Fed, TOWNSHIP, VILLAGE};

fn proposal(fed: &mut Fed) -> DocId {
    fed.create_item("ITEM-1");
    let village = fed.village.clone();
    fed.propose(&village, VILLAGE, "ITEM-1").unwrap();
    Fed::station_doc(VILLAGE, "ITEM-1")
}

#[test]
fn village_proposal_is_pending_for_its_township_only() {
    // Goal: the supervising tier sees the proposal; neither the district nor the proposer do.
    let mut fed = Fed::new();
    proposal(&mut fed);
    let r = &fed.origin;
    assert_eq!(r.pending_for(&fed.township.device_id()).len(), 1);
    assert!(r.pending_for(&fed.district.device_id()).is_empty());
    assert!(r.pending_for(&fed.village.device_id()).is_empty());
    assert!(r.pending_for(&fed.township_b.device_id()).is_empty());
    assert_eq!(r.stations()[0].status, "pending");
}

#[test]
fn township_approval_makes_the_stationing_effective() {
    // Goal: an approval by the supervising administrator takes effect on every replica.
    let mut fed = Fed::new();
    let doc = proposal(&mut fed);
    let township = fed.township.clone();
    fed.decide(&township, &doc, Decision::Approve, None)
        .unwrap();
    let mut other = fresh(&fed);
    other.ingest(fed.log.clone());
    for r in [&fed.origin, &other] {
        let view = &r.stations()[0];
        assert_eq!(view.status, "approved");
        assert_eq!(view.effective_action.map(|a| a.as_str()), Some("station"));
        assert!(view.pending.is_none());
    }
}

#[test]
fn village_operator_approving_its_own_proposal_is_refused() {
    // Goal: maker-checker — the proposer's own approval is never effective, on any replica.
    let mut fed = Fed::new();
    let doc = proposal(&mut fed);
    let village = fed.village.clone();
    let refused = fed
        .decide(&village, &doc, Decision::Approve, None)
        .unwrap_err();
    assert!(
        matches!(refused, Rejection::SelfApproval { .. }),
        "{refused}"
    );
    let puts = fed.approval_puts(&village, &doc, Decision::Approve, None);
    let forged = fed.forge(&village, 7, &doc, puts);
    let mut other = fresh(&fed);
    let report = other.ingest(fed.log.clone());
    assert_eq!(report.quarantined.len(), 1);
    assert!(matches!(
        report.quarantined[0].1,
        Rejection::SelfApproval { .. }
    ));
    assert_eq!(report.quarantined[0].0, forged);
    assert_eq!(other.stations()[0].status, "pending");
}

#[test]
fn district_admin_approving_a_village_record_is_not_an_approver() {
    // Goal: approvals come from the supervising tier, not from any administrator above it.
    let mut fed = Fed::new();
    let doc = proposal(&mut fed);
    let district = fed.district.clone();
    let refused = fed
        .decide(&district, &doc, Decision::Approve, None)
        .unwrap_err();
    assert!(
        matches!(refused, Rejection::NotApprover { .. }),
        "{refused}"
    );
}

#[test]
fn township_admin_cannot_write_a_village_proposal() {
    // Goal: content of a hall's record is written by that hall's own people.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let township = fed.township.clone();
    let refused = fed.propose(&township, VILLAGE, "ITEM-1").unwrap_err();
    assert!(matches!(refused, Rejection::OutOfScope { .. }), "{refused}");
}

#[test]
fn village_operator_cannot_write_another_hall_or_the_catalogue() {
    // Goal: an operator writes only its own hall's records, and never the catalogue (C3).
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let village = fed.village.clone();
    assert!(matches!(
        fed.propose(&village, TOWNSHIP, "ITEM-1").unwrap_err(),
        Rejection::OutOfScope { .. }
    ));
    let doc: DocId = "item/ITEM-1".parse().unwrap();
    let refused = fed
        .write(
            &village,
            &doc,
            vec![("name".into(), ScalarValue::Str("改名".into()))],
        )
        .unwrap_err();
    assert!(matches!(refused, Rejection::OutOfScope { .. }), "{refused}");
}

#[test]
fn stranger_is_an_unknown_author() {
    // Goal: a key with no certificate cannot write anything.
    let mut fed = Fed::new();
    let stranger = fed.stranger.clone();
    let doc: DocId = "item/ITEM-9".parse().unwrap();
    let refused = fed
        .write(
            &stranger,
            &doc,
            vec![("name".into(), ScalarValue::Str("x".into()))],
        )
        .unwrap_err();
    assert!(
        matches!(refused, Rejection::UnknownAuthor { .. }),
        "{refused}"
    );
}

#[test]
fn rejection_needs_a_reason_and_is_shown() {
    // Goal: a rejection with a reason makes the record rejected; without one it is not an approval.
    let mut fed = Fed::new();
    let doc = proposal(&mut fed);
    let township = fed.township.clone();
    assert!(matches!(
        fed.decide(&township, &doc, Decision::Reject, Some(" "))
            .unwrap_err(),
        Rejection::OutOfScope { .. }
    ));
    fed.decide(&township, &doc, Decision::Reject, Some("材料不全"))
        .unwrap();
    let view = &fed.origin.stations()[0];
    assert_eq!(view.status, "rejected");
    assert_eq!(view.rejected_reason.as_deref(), Some("材料不全"));
    assert!(view.effective_action.is_none());
}

#[test]
fn a_change_after_approval_is_pending_again_while_the_approved_state_stays() {
    // Goal: effective = as of approved heads; a later edit waits for its own approval.
    let mut fed = Fed::new();
    let doc = proposal(&mut fed);
    let township = fed.township.clone();
    fed.decide(&township, &doc, Decision::Approve, None)
        .unwrap();
    let village = fed.village.clone();
    fed.write(
        &village,
        &doc,
        vec![("note".into(), ScalarValue::Str("窗口调整".into()))],
    )
    .unwrap();
    let view = &fed.origin.stations()[0];
    assert_eq!(view.status, "approved+pending");
    assert_eq!(view.effective_action.map(|a| a.as_str()), Some("station"));
    assert_eq!(fed.origin.pending_for(&township.device_id()).len(), 1);
    assert_eq!(view.hall, hall(VILLAGE).to_string());
}

#[test]
fn material_order_travels_with_the_item_and_is_checked_like_its_other_fields() {
    // Goal (issue #9 item 7): materials come back in the order the administrator listed them, on
    // every replica, and `material/<id>/order` takes only a small whole number.
    use hallsync_model::records::item::{ItemFields, Material};
    use hallsync_model::ItemCode;
    let mut fed = Fed::new();
    let mut item = ItemFields::minimal(
        ItemCode::new("442000001000").unwrap(),
        "老年证".into(),
        hallsync_model::records::item::ItemType::PublicService,
        "民政局".into(),
        5,
    );
    for id in ["photo", "id"] {
        item.materials.push(Material {
            id: id.into(),
            name: "材料".into(),
            form: hallsync_model::records::item::MaterialForm::Original,
            count: 1,
            required: true,
            deferrable: false,
        });
    }
    let city = fed.city.clone();
    let doc = DocId::item(&item.code);
    fed.write(&city, &doc, item.writes()).unwrap();
    let mut peer = fresh(&fed);
    peer.ingest(fed.log.clone());
    let ids: Vec<String> = peer.items()[0]
        .fields
        .materials
        .iter()
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(ids, ["photo", "id"]);
    for bad in [
        ScalarValue::Str("1".into()),
        ScalarValue::Int(-1),
        ScalarValue::Int(200),
    ] {
        let refused = fed
            .write(&city, &doc, vec![("material/id/order".into(), bad)])
            .unwrap_err();
        assert!(matches!(refused, Rejection::Invalid { .. }), "{refused}");
    }
}
