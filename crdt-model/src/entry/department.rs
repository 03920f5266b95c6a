//! Stationing and withdrawing a department at a hall: S7 and S8 (ST 4, 7).

use crate::entry::EntryError;
use crate::hall::HallId;
use crate::records::department::{DepartmentAction, DepartmentFields};
use crate::replica::Replica;
use crate::ScalarValue;

/// Checks a department filing at `hall` and returns its writes: the filing's own rules (S7: plan,
/// letter of authorisation and filing form to station; S8: application and archives handover to
/// withdraw), and S8's order — a department leaves only when no item it implements (实施主体, by
/// name) is still stationed at the hall. Its window staff leave with it when the withdrawal is
/// approved (the roster's rule), so they do not block it.
///
/// # Errors
/// [`EntryError::DepartmentFiling`] or [`EntryError::DepartmentHasItems`].
pub fn file(
    replica: &Replica,
    hall: &HallId,
    fields: &DepartmentFields,
) -> Result<Vec<(String, ScalarValue)>, EntryError> {
    fields
        .validate()
        .map_err(|reason| EntryError::DepartmentFiling { reason })?;
    if fields.action == DepartmentAction::Withdraw {
        let items: Vec<String> = replica
            .stations()
            .into_iter()
            .filter(|s| s.hall == hall.as_str() && s.effective_action.is_some_and(|a| a.offers()))
            .filter(|s| {
                replica
                    .item(&s.item)
                    .is_some_and(|i| i.fields.department == fields.name)
            })
            .map(|s| s.item)
            .collect();
        if !items.is_empty() {
            return Err(EntryError::DepartmentHasItems {
                department: fields.name.clone(),
                hall: hall.to_string(),
                items: items.join(", "),
            });
        }
    }
    Ok(fields.writes())
}
