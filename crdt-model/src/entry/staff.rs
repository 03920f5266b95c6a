//! Filing window staff and the steps of a filing: P1, P2, P4, S8, ST 9.1.

use crate::calendar::Date;
use crate::entry::EntryError;
use crate::hall::HallId;
use crate::records::department::DepartmentStatus;
use crate::records::staff::StaffFields;
use crate::replica::Replica;
use crate::ScalarValue;

/// ST 6.2.1 and S8 (ST 7): staff at `hall` are filed and put on duty for a department stationed
/// there — named by its id (the `dept` of its filing), approved, and not withdrawn.
///
/// # Errors
/// [`EntryError::DepartmentWithdrawn`], or [`EntryError::DepartmentNotStationed`] for an id with
/// no approved stationing at the hall.
pub fn department_stationed(
    replica: &Replica,
    hall: &HallId,
    department: &str,
) -> Result<(), EntryError> {
    let status = replica
        .departments(Some(hall))
        .into_iter()
        .find(|d| d.dept == department)
        .map(|d| d.status);
    match status {
        Some(DepartmentStatus::Stationed) => Ok(()),
        Some(DepartmentStatus::Withdrawn) => Err(EntryError::DepartmentWithdrawn {
            department: department.to_string(),
            hall: hall.to_string(),
        }),
        Some(DepartmentStatus::Proposed) | None => Err(EntryError::DepartmentNotStationed {
            department: department.chars().take(60).collect(),
            hall: hall.to_string(),
        }),
    }
}

/// The approved filing of `person` at `hall`, as the roster shows it.
fn current(replica: &Replica, hall: &HallId, person: &str) -> Option<StaffFields> {
    replica
        .roster(Some(hall))
        .into_iter()
        .find(|v| v.filing.as_ref().is_some_and(|f| f.person == person))
        .and_then(|v| v.filing)
}

/// Files a person at a hall (ST 6.2.1): the filing's own rules (P1, P2), a department stationed
/// there (S8), and an adjustment filing names someone filed at the same window (ST 9.1). Returns
/// the writes.
///
/// # Errors
/// The rule broken.
pub fn file(
    replica: &Replica,
    hall: &HallId,
    fields: &StaffFields,
) -> Result<Vec<(String, ScalarValue)>, EntryError> {
    fields
        .validate()
        .map_err(|reason| EntryError::Filing { reason })?;
    department_stationed(replica, hall, &fields.department)?;
    if let Some(replaced) = &fields.replaces {
        let old = current(replica, hall, replaced).ok_or_else(|| EntryError::Filing {
            reason: format!(
                "ST 9.1: {replaced} is not filed at hall {hall}; an adjustment filing names whom it replaces"
            ),
        })?;
        if old.window != fields.window {
            return Err(EntryError::Filing {
                reason: format!(
                    "ST 9.1: {} replaces {replaced} at window {}, not {}",
                    fields.person, old.window, fields.window
                ),
            });
        }
    }
    Ok(fields.writes())
}

/// A step in a person's filing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffStep {
    /// Joint training done (P1 comes before duty).
    Train,
    /// Reported for duty.
    Duty,
    /// Left (P4: only with someone else on duty at the window).
    Leave,
}

impl StaffStep {
    /// The step named `text`.
    ///
    /// # Errors
    /// [`EntryError::NotInList`].
    pub fn parse(text: &str) -> Result<StaffStep, EntryError> {
        match text {
            "train" => Ok(StaffStep::Train),
            "duty" => Ok(StaffStep::Duty),
            "leave" => Ok(StaffStep::Leave),
            other => Err(EntryError::NotInList {
                what: "staff step",
                value: other.chars().take(40).collect(),
                allowed: "train, duty or leave".into(),
            }),
        }
    }
}

/// Records a step of `person`'s filing at `hall` on `on`: S8 before duty, P4 before leaving (a
/// departure that would leave the window with nobody on duty is refused: put the replacement on
/// duty first), then the filing's own rules. Returns the writes.
///
/// # Errors
/// The rule broken, or no approved filing.
pub fn step(
    replica: &Replica,
    hall: &HallId,
    person: &str,
    step: StaffStep,
    on: Date,
    reason: Option<String>,
) -> Result<Vec<(String, ScalarValue)>, EntryError> {
    let mut fields = current(replica, hall, person).ok_or_else(|| EntryError::Filing {
        reason: format!(
            "no approved filing for {person} at hall {hall}: file them and have it approved first"
        ),
    })?;
    let key = match step {
        StaffStep::Train => {
            fields.trained_on = Some(on.to_string());
            "trained_on"
        }
        StaffStep::Duty => {
            department_stationed(replica, hall, &fields.department)?;
            fields.on_duty_from = Some(on.to_string());
            "on_duty_from"
        }
        StaffStep::Leave => {
            fields.left_on = Some(on.to_string());
            fields.leave_reason = Some(reason.unwrap_or_else(|| "other".into()));
            let day = on.to_string();
            let covered = replica.roster(Some(hall)).iter().any(|v| {
                v.state == "on_duty"
                    && v.filing.as_ref().is_some_and(|g| {
                        g.person != fields.person
                            && g.window == fields.window
                            && g.on_duty_from.as_deref().is_some_and(|d| d <= day.as_str())
                    })
            });
            if !covered {
                return Err(EntryError::WindowLeftEmpty {
                    window: fields.window.clone(),
                    person: fields.person.clone(),
                    on: day,
                });
            }
            "left_on"
        }
    };
    fields
        .validate()
        .map_err(|reason| EntryError::Filing { reason })?;
    Ok(fields
        .writes()
        .into_iter()
        .filter(|(k, _)| k == key || k == "leave_reason")
        .collect())
}
