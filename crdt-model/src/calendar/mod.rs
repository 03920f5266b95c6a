//! Working days (W1–W6): per-year calendars and deadline arithmetic.
//!
//! A working day is Monday to Friday unless it is an official day off, or a weekend day that is an
//! official make-up working day (W3). A limit of N working days from a start day does not count the
//! start day; the due date is the N-th working day after it (W2), so a limit ending on a holiday moves
//! past it by construction. A year whose holiday notice is not loaded counts weekdays only and every
//! due date that touches it is marked provisional (W6). Calendars are national here; per-region
//! calendars (W5) will key the same records by division code.

mod builtin;
mod date;

pub use date::{Date, DateError, CST_OFFSET_MINUTES};

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Longest limit counted, in working days: a bound on the loop, far above any statutory limit.
pub const LIMIT_DAYS_MAX: u32 = 3650;

/// One year's arrangement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearCalendar {
    /// The year.
    pub year: i32,
    /// Official days off (holidays, and the weekdays moved into them).
    pub off_days: BTreeSet<Date>,
    /// Weekend days that are official working days (调休上班).
    pub make_up_workdays: BTreeSet<Date>,
    /// The notice it comes from.
    pub source: String,
    /// False while the year's notice is not loaded: weekdays only, and due dates are provisional.
    pub published: bool,
}

/// A calendar that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// A date outside the calendar's year.
    #[error("{date} is not in {year}: a calendar lists only its own year's days")]
    WrongYear {
        /// The date.
        date: Date,
        /// The year.
        year: i32,
    },
    /// A make-up working day that is not a weekend day.
    #[error("{date} is a weekday; make-up working days (调休上班) are Saturdays or Sundays (W3)")]
    MakeUpOnWeekday {
        /// The date.
        date: Date,
    },
    /// A day both off and a make-up working day.
    #[error("{date} is listed both as a day off and as a make-up working day")]
    Both {
        /// The date.
        date: Date,
    },
    /// A date that does not parse.
    #[error(transparent)]
    Date(#[from] DateError),
}

impl YearCalendar {
    /// Builds and checks a year's arrangement.
    ///
    /// # Errors
    /// [`CalendarError`] for a date of another year, a weekday make-up day, or a day listed twice.
    pub fn new(
        year: i32,
        off_days: BTreeSet<Date>,
        make_up_workdays: BTreeSet<Date>,
        source: String,
    ) -> Result<Self, CalendarError> {
        for date in off_days.iter().chain(&make_up_workdays) {
            if date.year() != year {
                return Err(CalendarError::WrongYear { date: *date, year });
            }
        }
        if let Some(date) = make_up_workdays.iter().find(|d| !d.is_weekend()) {
            return Err(CalendarError::MakeUpOnWeekday { date: *date });
        }
        if let Some(date) = off_days.intersection(&make_up_workdays).next() {
            return Err(CalendarError::Both { date: *date });
        }
        Ok(YearCalendar {
            year,
            off_days,
            make_up_workdays,
            source,
            published: true,
        })
    }

    /// Parses a space- or comma-separated list of dates.
    ///
    /// # Errors
    /// [`CalendarError::Date`] for the first that does not parse.
    pub fn parse_dates(text: &str) -> Result<BTreeSet<Date>, CalendarError> {
        text.split([' ', ',', '\n'])
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<Date>().map_err(CalendarError::from))
            .collect()
    }

    fn weekdays_only(year: i32, source: &str) -> YearCalendar {
        YearCalendar {
            year,
            off_days: BTreeSet::new(),
            make_up_workdays: BTreeSet::new(),
            source: source.to_string(),
            published: false,
        }
    }

    /// True when `date` (in this year) is a working day (W3).
    pub fn is_workday(&self, date: &Date) -> bool {
        self.make_up_workdays.contains(date)
            || (!date.is_weekend() && !self.off_days.contains(date))
    }
}

/// A due date, and whether it rests on an unpublished year (W6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// The last working day of the limit.
    pub due: Date,
    /// True when a year in the count had no published notice: recompute when it is loaded.
    pub provisional: bool,
    /// The first year the count went through that the calendar does not hold at all: its days
    /// were counted as plain weekdays, which is wrong around every holiday (W1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_year: Option<i32>,
}

/// The working-day calendar: built-in years, overridden by signed calendar records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Calendar {
    years: BTreeMap<i32, YearCalendar>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::builtin()
    }
}

impl Calendar {
    /// The built-in calendar: 2024, 2025 and 2026 from the State Council notices, 2027
    /// provisional.
    pub fn builtin() -> Calendar {
        let mut years = BTreeMap::new();
        for (year, off, work, source, published) in builtin::BUILTIN {
            let parse = |t: &str| YearCalendar::parse_dates(t).unwrap_or_default();
            let mut y = YearCalendar::new(year, parse(off), parse(work), source.to_string())
                .unwrap_or_else(|_| YearCalendar::weekdays_only(year, source));
            y.published = published;
            years.insert(year, y);
        }
        Calendar { years }
    }

    /// Replaces a year with a signed record's arrangement.
    pub fn set_year(&mut self, year: YearCalendar) {
        self.years.insert(year.year, year);
    }

    /// Every year known.
    pub fn years(&self) -> &BTreeMap<i32, YearCalendar> {
        &self.years
    }

    /// Whether `date` is a working day, and whether that answer is provisional.
    pub fn is_workday(&self, date: &Date) -> (bool, bool) {
        match self.years.get(&date.year()) {
            Some(y) => (y.is_workday(date), !y.published),
            None => (!date.is_weekend(), true),
        }
    }

    /// The due date of a limit of `days` working days starting on `start` (W2: the start day is not
    /// counted). A limit of 0 is due on the start day.
    pub fn add_working_days(&self, start: Date, days: u32) -> Deadline {
        let mut date = start;
        let mut provisional = false;
        let mut unknown_year = None;
        let mut counted = 0;
        // Bounded: at most LIMIT_DAYS_MAX working days, each within a few calendar days.
        for _ in 0..(LIMIT_DAYS_MAX * 3) {
            if counted >= days.min(LIMIT_DAYS_MAX) {
                break;
            }
            date = date.next();
            let (work, prov) = self.is_workday(&date);
            provisional |= prov;
            if unknown_year.is_none() && !self.years.contains_key(&date.year()) {
                unknown_year = Some(date.year());
            }
            if work {
                counted += 1;
            }
        }
        Deadline {
            due: date,
            provisional,
            unknown_year,
        }
    }

    /// Working days after `from` up to and including `to` (negative when `to` is earlier): time left.
    pub fn working_days_between(&self, from: Date, to: Date) -> i64 {
        let (a, b, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut count = 0;
        let mut date = a;
        for _ in 0..(LIMIT_DAYS_MAX * 3) {
            if date >= b {
                break;
            }
            date = date.next();
            if self.is_workday(&date).0 {
                count += 1;
            }
        }
        sign * count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> Date {
        t.parse().unwrap()
    }

    #[test]
    fn w_2024_is_known_and_a_year_outside_the_calendar_is_flagged() {
        // W (issue #11): 2024-09-30 + 3 working days crosses National Day 2024: due 10-10, not
        // 10-03 as plain weekdays give; a count through a year the calendar does not hold names it.
        let cal = Calendar::builtin();
        let due = cal.add_working_days(d("2024-09-30"), 3);
        assert_eq!(due.due, d("2024-10-10"));
        assert!(!due.provisional && due.unknown_year.is_none());
        // Spring Festival 2024: 02-09 (Fri) + 1 → the 02-18 make-up Sunday.
        assert_eq!(
            cal.add_working_days(d("2024-02-09"), 1).due,
            d("2024-02-18")
        );
        let old = cal.add_working_days(d("2023-12-28"), 5);
        assert_eq!(old.unknown_year, Some(2023));
        assert!(old.provisional);
    }

    #[test]
    fn w3a_worked_examples_from_the_2026_calendar() {
        // W3a: accepted Fri 09-18 with 3 WD → Sun 09-20 is a make-up workday → due Tue 09-22.
        let cal = Calendar::builtin();
        assert_eq!(
            cal.add_working_days(d("2026-09-18"), 3),
            Deadline {
                due: d("2026-09-22"),
                provisional: false,
                unknown_year: None,
            }
        );
        // W3a: accepted Wed 09-30 → National Day off → due Sat 10-10, a make-up workday.
        assert_eq!(
            cal.add_working_days(d("2026-09-30"), 3).due,
            d("2026-10-10")
        );
    }

    #[test]
    fn w2_start_day_is_not_counted_and_holidays_are_skipped() {
        let cal = Calendar::builtin();
        assert_eq!(
            cal.add_working_days(d("2026-04-30"), 1).due,
            d("2026-05-06")
        );
        assert_eq!(
            cal.add_working_days(d("2026-11-23"), 0).due,
            d("2026-11-23")
        );
        assert_eq!(
            cal.working_days_between(d("2026-09-18"), d("2026-09-22")),
            3
        );
        assert_eq!(
            cal.working_days_between(d("2026-09-22"), d("2026-09-18")),
            -3
        );
    }

    #[test]
    fn w4_2026_has_the_statutory_holidays() {
        let cal = Calendar::builtin();
        let y = &cal.years()[&2026];
        assert!(y.published);
        for off in [
            "2026-01-01",
            "2026-02-17",
            "2026-04-06",
            "2026-05-01",
            "2026-06-19",
            "2026-09-25",
            "2026-10-01",
        ] {
            assert!(!cal.is_workday(&d(off)).0, "{off}");
        }
        assert!(
            cal.is_workday(&d("2026-02-14")).0,
            "Saturday make-up workday"
        );
    }

    #[test]
    fn w6_due_dates_in_an_unpublished_year_are_provisional() {
        let cal = Calendar::builtin();
        let late = cal.add_working_days(d("2026-12-28"), 10);
        assert!(late.provisional);
        assert_eq!(late.due.year(), 2027);
        assert!(!cal.add_working_days(d("2026-11-23"), 5).provisional);
    }

    #[test]
    fn invalid_years_are_refused() {
        let off = YearCalendar::parse_dates("2027-01-01").unwrap();
        assert!(YearCalendar::new(2026, off, BTreeSet::new(), String::new()).is_err());
        let weekday = YearCalendar::parse_dates("2027-01-04").unwrap();
        assert!(matches!(
            YearCalendar::new(2027, BTreeSet::new(), weekday, String::new()),
            Err(CalendarError::MakeUpOnWeekday { .. })
        ));
        assert!(YearCalendar::parse_dates("2027-02-30").is_err());
    }
}
