//! Department commands: station or withdraw a department (S7, S8), list them.

use hallsync_model::records::department::DepartmentFields;
use hallsync_model::{DocId, HallId};
use serde_json::{json, Value};

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
        fields.validate().map_err(NodeError::NotAllowed)?;
        if fields.action == "withdraw" {
            let replica = self.replica()?;
            let items: Vec<String> = replica
                .stations()
                .into_iter()
                .filter(|s| {
                    s.hall == hall.as_str() && s.effective_action.is_some_and(|a| a.offers())
                })
                .filter(|s| {
                    replica.items().iter().any(|i| {
                        i.fields.code.as_str() == s.item && i.fields.department == fields.name
                    })
                })
                .map(|s| s.item)
                .collect();
            // Its window staff leave with it when the withdrawal is approved (S8, ST 7): they do
            // not block it, and first-in-then-out does not hold them, as its windows close.
            if !items.is_empty() {
                return Err(NodeError::NotAllowed(format!(
                    "S8 (ST 7): {} still has stationed items [{}] at hall {hall}; withdraw them first",
                    fields.name,
                    items.join(", ")
                )));
            }
        }
        let envelope = self.author(&DocId::department(&hall, &fields.dept), &fields.writes())?;
        Ok(changed(&envelope))
    }

    /// The departments of a hall (or all).
    ///
    /// # Errors
    /// A bad hall id, or not joined.
    pub fn department_list(&self, hall: Option<&str>) -> Result<Value, NodeError> {
        let hall = hall.map(HallId::new).transpose()?;
        Ok(json!({ "departments": self.replica()?.departments(hall.as_ref()) }))
    }
}
