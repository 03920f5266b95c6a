//! The working-day calendar of a year (`calendar/YYYY`): a signed record of the city administrator,
//! so that every node counts deadlines the same way (DOMAIN.md "Working-day calendar"). It replaces
//! the built-in arrangement of that year, and loading a year's notice ends its provisional status (W6).

use automerge::ScalarValue;

use crate::calendar::YearCalendar;
use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::doc_id::DocId;
use crate::hall::Level;
use crate::records::authority::ChangeCtx;
use crate::trust::cert::{RecordKind, Role};

/// Longest notice source text, in characters.
pub const SOURCE_CHARS_MAX: usize = 500;

/// The root writes that store `year`.
pub fn writes(year: &YearCalendar) -> Vec<(String, ScalarValue)> {
    let join = |set: &std::collections::BTreeSet<crate::calendar::Date>| {
        set.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    vec![
        (
            "off_days".into(),
            ScalarValue::Str(join(&year.off_days).into()),
        ),
        (
            "make_up_workdays".into(),
            ScalarValue::Str(join(&year.make_up_workdays).into()),
        ),
        (
            "source".into(),
            ScalarValue::Str(year.source.as_str().into()),
        ),
    ]
}

/// The write rule: a city administrator with the calendar in scope; dates of that year only.
pub(crate) fn authorize(
    ctx: &ChangeCtx<'_>,
    year: i32,
    writes: &[RootWrite],
) -> Result<(), Rejection> {
    let trust = ctx.trust;
    ctx.require(
        |c| {
            c.body.role == Role::Admin
                && c.body.scope.allows(RecordKind::Calendar)
                && trust
                    .halls()
                    .get(&c.body.hall)
                    .is_some_and(|h| h.level == Level::City)
        },
        || Rejection::OutOfScope {
            reason: format!(
                "{} is not a city administrator with the calendar in scope",
                ctx.author.short()
            ),
        },
    )?;
    for write in writes {
        let ok = match (write.key.as_str(), &write.value) {
            ("off_days" | "make_up_workdays", Some(ScalarValue::Str(s))) => {
                YearCalendar::parse_dates(s)
                    .is_ok_and(|dates| dates.iter().all(|d| d.year() == year))
            }
            ("source", Some(ScalarValue::Str(s))) => s.chars().count() <= SOURCE_CHARS_MAX,
            _ => false,
        };
        if !ok {
            return Err(Rejection::shape(format!(
                "calendar field `{}` is not a list of {year} dates or a short source (W3)",
                write.key
            )));
        }
    }
    Ok(())
}

/// The record id of `year`'s calendar.
pub fn calendar_doc(year: i32) -> DocId {
    DocId::calendar(year)
}
