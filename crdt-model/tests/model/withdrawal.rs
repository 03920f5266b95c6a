//! Withdrawal of a stationed item: S4 (reason and basis), S5 (publication within 3 working days),
//! S6 (withdrawn without approval).

use hallsync_model::records::withdrawal::{Publication, Publisher};
use hallsync_model::{Decision, DocId, Rejection, ScalarValue};

use crate::fixture::{fresh, Fed, VILLAGE};

fn stationed(fed: &mut Fed) -> DocId {
    fed.create_item("ITEM-1");
    let (village, township) = (fed.village.clone(), fed.township.clone());
    fed.propose(&village, VILLAGE, "ITEM-1").unwrap();
    let doc = Fed::station_doc(VILLAGE, "ITEM-1");
    fed.decide(&township, &doc, Decision::Approve, None)
        .unwrap();
    doc
}

use crate::fixture::texts as put;

#[test]
fn s4_a_withdrawal_is_approved_only_with_its_reason_and_legal_basis() {
    // Goal: every replica refuses an approval of a withdrawal that lacks its reason or basis.
    let mut fed = Fed::new();
    let doc = stationed(&mut fed);
    let (village, township) = (fed.village.clone(), fed.township.clone());
    fed.write(&village, &doc, put(&[("action", "withdraw")]))
        .unwrap();
    let refused = fed
        .decide(&township, &doc, Decision::Approve, None)
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            Rejection::Invalid {
                rule: hallsync_model::change::rejection::Rule::S4,
                ..
            }
        ),
        "{refused}"
    );
    fed.write(
        &village,
        &doc,
        put(&[
            ("reason_kind", "cancelled"),
            ("reason", "事项已下放"),
            ("basis", "粤府令第1号"),
        ]),
    )
    .unwrap();
    fed.decide(&township, &doc, Decision::Approve, None)
        .unwrap();
    let view = &fed.origin.stations()[0];
    assert_eq!(view.status, "withdrawn");
    let w = view.withdrawal.as_ref().unwrap();
    assert_eq!(
        (w.reason_kind.as_str(), w.basis.as_str()),
        ("cancelled", "粤府令第1号")
    );
}

#[test]
fn s5_publication_is_due_in_three_working_days_and_flagged_when_overdue() {
    // Goal: the withdrawal shows its due date; past it and unpublished it is overdue; once the
    // management department and the department have both published, it is not.
    let (mut fed, doc, approved) = withdrawn();
    let (village, township) = (fed.village.clone(), fed.township.clone());
    let day = 86_400_000;
    let w = |r: &hallsync_model::Replica, now: i64| {
        r.stations_at(Some(now))[0].withdrawal.clone().unwrap()
    };
    assert!(!w(&fed.origin, approved + day).overdue);
    assert!(w(&fed.origin, approved + 30 * day).overdue);
    let due: hallsync_model::calendar::Date = w(&fed.origin, approved).publish_due.parse().unwrap();
    let start = hallsync_model::calendar::Date::from_unix_ms(approved);
    assert_eq!(fed.origin.calendar().working_days_between(start, due), 3);

    let management = Publication {
        by: Publisher::Management,
        at_ms: approved + day,
        channels: "政务服务网".into(),
    };
    let wrong = fed
        .write(
            &village,
            &doc,
            vec![(
                management.key(&village.device_id()),
                ScalarValue::Str(management.to_value().into()),
            )],
        )
        .unwrap_err();
    assert!(
        matches!(wrong, Rejection::OutOfScope { .. }),
        "the village is not the management department"
    );
    fed.write(
        &township,
        &doc,
        vec![(
            management.key(&township.device_id()),
            ScalarValue::Str(management.to_value().into()),
        )],
    )
    .unwrap();
    assert!(
        w(&fed.origin, approved + 30 * day).overdue,
        "the department has not published yet"
    );
    let department = Publication {
        by: Publisher::Department,
        at_ms: approved + day,
        channels: "窗口公告".into(),
    };
    fed.write(
        &village,
        &doc,
        vec![(
            department.key(&village.device_id()),
            ScalarValue::Str(department.to_value().into()),
        )],
    )
    .unwrap();
    let mut other = fresh(&fed);
    other.ingest(fed.log.iter().rev().cloned().collect());
    for r in [&fed.origin, &other] {
        let w = w(r, approved + 30 * day);
        assert!(w.published_by_management && w.published_by_department && !w.overdue);
        assert_eq!(w.published_late_working_days, None, "published on time");
    }
}

#[test]
fn s5_a_withdrawal_published_late_keeps_its_lateness() {
    // Goal (issue #11, S5): published 7 working days after its due date, the withdrawal is no
    // longer overdue, but the record says it was published late and by how much.
    let (mut fed, doc, approved) = withdrawn();
    let (village, township) = (fed.village.clone(), fed.township.clone());
    let view = |r: &hallsync_model::Replica, now: i64| {
        r.stations_at(Some(now))[0].withdrawal.clone().unwrap()
    };
    let due: hallsync_model::calendar::Date =
        view(&fed.origin, approved).publish_due.parse().unwrap();
    let calendar = fed.origin.calendar();
    let late = calendar.add_working_days(due, 7).due;
    // Noon of that day, China Standard Time (UTC+8).
    let epoch = hallsync_model::calendar::Date::new(1970, 1, 1).unwrap();
    let at_ms = epoch.days_until(&late) * 86_400_000 + 4 * 3_600_000;
    for (who, by) in [
        (&township, Publisher::Management),
        (&village, Publisher::Department),
    ] {
        let p = Publication {
            by,
            at_ms,
            channels: "公告".into(),
        };
        fed.write(
            who,
            &doc,
            vec![(
                p.key(&who.device_id()),
                ScalarValue::Str(p.to_value().into()),
            )],
        )
        .unwrap();
    }
    let w = view(&fed.origin, at_ms + 86_400_000);
    assert!(!w.overdue);
    assert_eq!(w.published_on.as_deref(), Some(late.to_string().as_str()));
    assert_eq!(w.published_late_working_days, Some(7));
}

#[test]
fn s6_an_item_recorded_withdrawn_without_approval_is_flagged() {
    // Goal: a hall that marks a withdrawal executed before any approval covers it is flagged.
    let mut fed = Fed::new();
    let doc = stationed(&mut fed);
    let village = fed.village.clone();
    fed.write(
        &village,
        &doc,
        put(&[
            ("action", "withdraw"),
            ("reason", "r"),
            ("basis", "b"),
            ("executed_at", "2026-11-20"),
        ]),
    )
    .unwrap();
    let view = &fed.origin.stations()[0];
    assert!(
        view.violation
            .as_deref()
            .is_some_and(|v| v.starts_with("S6")),
        "{view:?}"
    );
    assert_eq!(
        view.effective_action.map(|a| a.as_str()),
        Some("station"),
        "the approved stationing still stands"
    );
}

/// A stationing whose withdrawal the township approved, and when it approved it.
fn withdrawn() -> (Fed, DocId, i64) {
    let mut fed = Fed::new();
    let doc = stationed(&mut fed);
    let (village, township) = (fed.village.clone(), fed.township.clone());
    fed.write(
        &village,
        &doc,
        put(&[("action", "withdraw"), ("reason", "r"), ("basis", "b")]),
    )
    .unwrap();
    fed.decide(&township, &doc, Decision::Approve, None)
        .unwrap();
    let approved = fed.now_ms();
    (fed, doc, approved)
}
