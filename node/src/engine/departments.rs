//! Department commands: station or withdraw a department (S7, S8), list them.

use super::response::*;
use hallsync_model::records::department::DepartmentFields;
use hallsync_model::{DocId, HallId};
use serde_json::Value;

use super::commands::changed;
use super::Engine;
use crate::error::NodeError;

impl Engine {
    /// Proposes a department's stationing or withdrawal, checked for S7 / S8 at entry; a withdrawal
    /// is refused while the department has stationed items at the hall (ST 7), and takes its window
    /// staff off with it once approved.
    ///
    /// # Errors
    /// The rule broken.
    pub fn department(
        &mut self,
        hall: Option<&str>,
        fields: DepartmentFields,
    ) -> Result<Value, NodeError> {
        let hall = HallId::new(hall.unwrap_or(&self.config.node.hall))?;
        // The same entry rules the simulator's workload runs.
        let writes = hallsync_model::entry::department::file(self.replica()?, &hall, &fields)?;
        let envelope = self.author(&DocId::department(&hall, &fields.dept), &writes)?;
        Ok(changed(&envelope))
    }

    /// The departments of a hall (or all).
    ///
    /// # Errors
    /// A bad hall id, or not joined.
    pub fn department_list(&self, hall: Option<&str>) -> Result<Value, NodeError> {
        let hall = hall.map(HallId::new).transpose()?;
        Ok(encode(&DepartmentList {
            departments: self.replica()?.departments(hall.as_ref()),
        }))
    }
}
