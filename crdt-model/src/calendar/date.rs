//! A civil date in China Standard Time, without a clock: the calendar's unit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Minutes east of UTC of China Standard Time (UTC+8, no daylight saving).
pub const CST_OFFSET_MINUTES: i64 = 8 * 60;

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    days: i64,
}

/// Not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a date: use YYYY-MM-DD, e.g. 2026-10-08")]
pub struct DateError {
    /// What was given.
    pub text: String,
}

// Days from 1970-01-01 to y-m-d, and back (H. Hinnant's algorithms for the civil calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Date {
    /// The date `y-m-d`, or `None` when there is no such day.
    pub fn new(y: i32, m: u32, d: u32) -> Option<Date> {
        if !(1..=12).contains(&m) || d == 0 || d > 31 || !(1900..=2200).contains(&y) {
            return None;
        }
        let days = days_from_civil(i64::from(y), i64::from(m), i64::from(d));
        let date = Date { days };
        (date.ymd() == (y, m, d)).then_some(date)
    }

    /// The date in China Standard Time of an instant given in ms since the Unix epoch.
    pub fn from_unix_ms(ms: i64) -> Date {
        let minutes = ms.div_euclid(60_000) + CST_OFFSET_MINUTES;
        Date {
            days: minutes.div_euclid(24 * 60),
        }
    }

    /// Year, month, day.
    pub fn ymd(&self) -> (i32, u32, u32) {
        let (y, m, d) = civil_from_days(self.days);
        // Dates are built from years 1900–2200, so every part fits.
        (y as i32, m as u32, d as u32)
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.ymd().0
    }

    /// Day of the week, Monday = 0 … Sunday = 6.
    pub fn weekday(&self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (self.days + 3).rem_euclid(7) as u32
    }

    /// True on Saturday and Sunday.
    pub fn is_weekend(&self) -> bool {
        self.weekday() >= 5
    }

    /// The next day.
    pub fn next(&self) -> Date {
        Date {
            days: self.days + 1,
        }
    }

    /// Days from `self` to `other` (negative if `other` is earlier).
    pub fn days_until(&self, other: &Date) -> i64 {
        other.days - self.days
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || DateError {
            text: text.chars().take(40).collect(),
        };
        let parts: Vec<&str> = text.trim().split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (y, m, d) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        Date::new(y, m, d).ok_or_else(bad)
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_know_their_weekday() {
        let d: Date = "2026-09-18".parse().unwrap();
        assert_eq!(d.to_string(), "2026-09-18");
        assert_eq!(d.weekday(), 4, "Friday");
        assert_eq!(
            "2026-10-10".parse::<Date>().unwrap().weekday(),
            5,
            "Saturday"
        );
        assert_eq!(
            "2024-02-29".parse::<Date>().unwrap().next().to_string(),
            "2024-03-01"
        );
        assert_eq!(
            Date::new(2026, 12, 31).unwrap().next().to_string(),
            "2027-01-01"
        );
    }

    #[test]
    fn bad_dates_are_refused() {
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-1",
            "20260101",
            "",
            "二〇二六-01-01",
            "2026-00-10",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }

    #[test]
    fn instants_map_to_china_standard_time() {
        // 2026-09-30T16:30:00Z is 2026-10-01 00:30 in Beijing.
        assert_eq!(
            Date::from_unix_ms(1_790_785_800_000).to_string(),
            "2026-10-01"
        );
        assert_eq!(
            Date::from_unix_ms(1_790_785_800_000 - 3_600_000).to_string(),
            "2026-09-30"
        );
    }
}
