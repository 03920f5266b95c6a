//! Filing window staff and putting them on duty: S8.

use crate::entry::EntryError;
use crate::hall::HallId;
use crate::replica::Replica;

/// S8 (ST 7): no one is filed or put on duty at `hall` for a department withdrawn from it.
///
/// # Errors
/// [`EntryError::DepartmentWithdrawn`].
pub fn department_present(
    replica: &Replica,
    hall: &HallId,
    department: &str,
) -> Result<(), EntryError> {
    let withdrawn = replica
        .departments(Some(hall))
        .into_iter()
        .any(|d| d.status == "withdrawn" && d.filing.is_some_and(|f| f.name == department));
    if withdrawn {
        return Err(EntryError::DepartmentWithdrawn {
            department: department.to_string(),
            hall: hall.to_string(),
        });
    }
    Ok(())
}
