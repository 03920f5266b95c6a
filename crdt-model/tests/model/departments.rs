//! Departments stationed at a hall: S7 and S8 checked by every receiver.

use hallsync_model::change::rejection::Rule;
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
        matches!(&refused, Rejection::Invalid { rule: Rule::S7, .. }),
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
        assert_eq!(
            r.departments(None)[0].status,
            hallsync_model::records::department::DepartmentStatus::Stationed
        );
    }
}

#[test]
fn s8_a_withdrawal_needs_application_and_archives_handover() {
    // Goal: approving a withdrawal without the archives handover is refused; with it, withdrawn.
    let (mut fed, station) = with_civil_affairs_stationed();
    let (village, township) = (fed.village.clone(), fed.township.clone());
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
        matches!(&refused, Rejection::Invalid { rule: Rule::S8, .. }),
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
    assert_eq!(
        fed.origin.departments(None)[0].status,
        hallsync_model::records::department::DepartmentStatus::Withdrawn
    );
    assert!(DepartmentFields {
        action: hallsync_model::records::department::DepartmentAction::Withdraw,
        ..station
    }
    .validate()
    .unwrap_err()
    .starts_with("S8"));
}

#[test]
fn s8_p4_a_withdrawn_department_takes_its_last_window_staff_with_it_and_files_no_more() {
    // Goal (issue #11, S8 × P4): the last person at a window of a department could never leave
    // (先进后出), so the department could never be withdrawn. Once its withdrawal is approved, its
    // staff leave with it — their windows close — while another department's staff stay.
    use hallsync_model::records::staff::StaffFields;
    let (mut fed, _) = with_civil_affairs_stationed();
    let (village, township) = (fed.village.clone(), fed.township.clone());
    for (person, department, window) in [("a", "civil", "w1"), ("b", "labour", "w2")] {
        let staff = DocId::staff(&hall(VILLAGE), person);
        let f = StaffFields {
            person: person.into(),
            name: format!("员工{person}"),
            department: department.into(),
            window: window.into(),
            role: "window_staff".into(),
            trained_on: Some("2026-11-02".into()),
            on_duty_from: Some("2026-11-03".into()),
            ..StaffFields::default()
        };
        fed.write(&village, &staff, f.writes()).unwrap();
        fed.decide(&township, &staff, Decision::Approve, None)
            .unwrap();
    }
    let state = |fed: &Fed, person: &str| {
        fed.origin
            .roster(None)
            .into_iter()
            .find(|v| v.filing.as_ref().unwrap().person == person)
            .unwrap()
    };
    assert_eq!(state(&fed, "a").state, "on_duty");
    fed.write(
        &village,
        &doc(),
        put(&[
            ("action", "withdraw"),
            ("application", "撤离申请"),
            ("archives_handover", "档案移交"),
        ]),
    )
    .unwrap();
    fed.decide(&township, &doc(), Decision::Approve, None)
        .unwrap();
    let a = state(&fed, "a");
    assert_eq!(a.state, "left", "{a:?}");
    assert!(a.warnings.iter().any(|w| w.starts_with("S8")), "{a:?}");
    assert!(a.left_effective_on.is_some());
    assert_eq!(
        state(&fed, "b").state,
        "on_duty",
        "another department's staff stay"
    );
    let mut other = fresh(&fed);
    other.ingest(fed.log.iter().rev().cloned().collect());
    assert_eq!(other.roster(None), fed.origin.roster(None));
}

/// The fixture with 民政局 stationed at the village (approved by its township).
fn with_civil_affairs_stationed() -> (Fed, DepartmentFields) {
    let mut fed = Fed::new();
    let (village, township) = (fed.village.clone(), fed.township.clone());
    let station = DepartmentFields {
        dept: "civil".into(),
        name: "民政局".into(),
        action: hallsync_model::records::department::DepartmentAction::Station,
        plan: "p".into(),
        authorization_letter: "a".into(),
        filing: "f".into(),
        ..DepartmentFields::default()
    };
    fed.write(&village, &doc(), station.writes()).unwrap();
    fed.decide(&township, &doc(), Decision::Approve, None)
        .unwrap();
    (fed, station)
}
