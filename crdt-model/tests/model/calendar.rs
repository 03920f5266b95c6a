//! The signed working-day calendar record (W3, W6).

use std::collections::BTreeSet;

use hallsync_model::calendar::{Date, YearCalendar};
use hallsync_model::records::calendar_doc::{calendar_doc, writes};
use hallsync_model::Rejection;

use crate::fixture::{fresh, Fed};

fn year_2027() -> YearCalendar {
    let off = YearCalendar::parse_dates("2027-01-01 2027-02-06 2027-02-07 2027-02-08").unwrap();
    YearCalendar::new(
        2027,
        off,
        BTreeSet::new(),
        "国务院办公厅通知（测试）".into(),
    )
    .unwrap()
}

#[test]
fn w6_a_published_year_replaces_the_provisional_one_on_every_replica() {
    // Goal: once the city administrator signs 2027's arrangement, due dates crossing into 2027 are
    // no longer provisional and skip its holidays, identically on every replica.
    let mut fed = Fed::new();
    let start: Date = "2026-12-30".parse().unwrap();
    let before = fed.origin.calendar().add_working_days(start, 2);
    assert!(before.provisional);
    assert_eq!(
        before.due.to_string(),
        "2027-01-01",
        "weekdays only while unpublished"
    );
    let city = fed.city.clone();
    fed.write(&city, &calendar_doc(2027), writes(&year_2027()))
        .unwrap();
    let mut other = fresh(&fed);
    other.ingest(fed.log.iter().rev().cloned().collect());
    for r in [&fed.origin, &other] {
        let after = r.calendar().add_working_days(start, 2);
        assert!(!after.provisional);
        assert_eq!(
            after.due.to_string(),
            "2027-01-04",
            "New Year's Day skipped"
        );
    }
}

#[test]
fn only_city_administrators_publish_calendars() {
    // Goal: a township administrator's calendar is refused; dates of another year are refused.
    let mut fed = Fed::new();
    let township = fed.township.clone();
    let refused = fed
        .write(&township, &calendar_doc(2027), writes(&year_2027()))
        .unwrap_err();
    assert!(matches!(refused, Rejection::OutOfScope { .. }), "{refused}");
    let city = fed.city.clone();
    let wrong = fed
        .write(&city, &calendar_doc(2028), writes(&year_2027()))
        .unwrap_err();
    assert!(matches!(wrong, Rejection::Invalid { .. }), "{wrong}");
}
