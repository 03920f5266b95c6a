//! Departments stationed at a hall: S7 and S8 checked by every receiver.

use hallsync_model::records::department::DepartmentFields;
use hallsync_model::{Decision, DocId, Rejection};

use crate::fixture::{fresh, hall, Fed, VILLAGE};

fn doc() -> DocId {
    DocId::department(&hall(VILLAGE), "civil")
}

use crate::fixture::texts as put;

#[test]
fn s7_a_department_is_stationed_only_with_plan_letter_and_filing() {
    // Goal: approving an incomplete stationing is refused; the complete one is stationed everywhere.
    let mut fed = Fed::new();
    let (village, township) = (fed.village.clone(), fed.township.clone());
    fed.write(
        &village,
        &doc(),
        put(&[
            ("dept", "civil"),
            ("name", "民政局"),
            ("action", "station"),
            ("plan", "方案2026-1"),
        ]),
    )
    .unwrap();
    let refused = fed
        .decide(&township, &doc(), Decision::Approve, None)
        .unwrap_err();
    assert!(
        matches!(&refused, Rejection::OutOfScope { reason } if reason.starts_with("S7")),
        "{refused}"
    );
    fed.write(
        &village,
        &doc(),
        put(&[("authorization_letter", "授权书1"), ("filing", "备案表1")]),
    )
    .unwrap();
    fed.decide(&township, &doc(), Decision::Approve, None)
        .unwrap();
    let mut other = fresh(&fed);
    other.ingest(fed.log.iter().rev().cloned().collect());
    for r in [&fed.origin, &other] {
        assert_eq!(r.departments(None)[0].status, "stationed");
    }
}

#[test]
fn s8_a_withdrawal_needs_application_and_archives_handover() {
    // Goal: approving a withdrawal without the archives handover is refused; with it, withdrawn.
    let mut fed = Fed::new();
    let (village, township) = (fed.village.clone(), fed.township.clone());
    let station = DepartmentFields {
        dept: "civil".into(),
        name: "民政局".into(),
        action: "station".into(),
        plan: "p".into(),
        authorization_letter: "a".into(),
        filing: "f".into(),
        ..DepartmentFields::default()
    };
    fed.write(&village, &doc(), station.writes()).unwrap();
    fed.decide(&township, &doc(), Decision::Approve, None)
        .unwrap();
    fed.write(
        &village,
        &doc(),
        put(&[("action", "withdraw"), ("application", "撤离申请")]),
    )
    .unwrap();
    let refused = fed
        .decide(&township, &doc(), Decision::Approve, None)
        .unwrap_err();
    assert!(
        matches!(&refused, Rejection::OutOfScope { reason } if reason.starts_with("S8")),
        "{refused}"
    );
    fed.write(
        &village,
        &doc(),
        put(&[("archives_handover", "档案移交区档案馆 2026-11-20")]),
    )
    .unwrap();
    fed.decide(&township, &doc(), Decision::Approve, None)
        .unwrap();
    assert_eq!(fed.origin.departments(None)[0].status, "withdrawn");
    assert!(DepartmentFields {
        action: "withdraw".into(),
        ..station
    }
    .validate()
    .unwrap_err()
    .starts_with("S8"));
}
