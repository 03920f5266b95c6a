//! Window-staff commands: file, record training / duty / departure, list the roster.

use super::response::*;
use hallsync_model::calendar::Date;
use hallsync_model::records::staff::StaffFields;
use hallsync_model::{DocId, HallId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::commands::changed;
use super::Engine;
use crate::error::NodeError;

/// A step in a person's filing: training, reporting for duty, or leaving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffStep {
    /// The person.
    pub person: String,
    /// The hall; this node's when absent.
    #[serde(default)]
    pub hall: Option<String>,
    /// train, duty or leave.
    pub step: String,
    /// The day, YYYY-MM-DD.
    pub on: String,
    /// For leave: appointment, dismissal, returned_unfit or other.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Engine {
    /// Files a person at a hall (ST 6.2.1), through the core's entry rules (P1, P2, S8, ST 9.1).
    ///
    /// # Errors
    /// The rule broken.
    pub fn staff_file(
        &mut self,
        hall: Option<&str>,
        fields: StaffFields,
    ) -> Result<Value, NodeError> {
        let hall = HallId::new(hall.unwrap_or(&self.config.node.hall))?;
        let writes = hallsync_model::entry::staff::file(self.replica()?, &hall, &fields)?;
        let envelope = self.author(&DocId::staff(&hall, &fields.person), &writes)?;
        Ok(changed(&envelope))
    }

    /// Records training, duty or departure, through the core's entry rules (S8, P4: a departure
    /// that would leave the window with nobody on duty is refused).
    ///
    /// # Errors
    /// The rule broken.
    pub fn staff_step(&mut self, step: StaffStep) -> Result<Value, NodeError> {
        let hall = HallId::new(step.hall.as_deref().unwrap_or(&self.config.node.hall))?;
        let on: Date = step
            .on
            .parse()
            .map_err(|e: hallsync_model::calendar::DateError| {
                NodeError::NotAllowed(e.to_string())
            })?;
        let kind = hallsync_model::entry::staff::StaffStep::parse(&step.step)?;
        let writes = hallsync_model::entry::staff::step(
            self.replica()?,
            &hall,
            &step.person,
            kind,
            on,
            step.reason,
        )?;
        let envelope = self.author(&DocId::staff(&hall, &step.person), &writes)?;
        Ok(changed(&envelope))
    }

    /// The roster of a hall (or all), with held departures and warnings.
    ///
    /// # Errors
    /// A bad hall id, or not joined.
    pub fn staff_list(&self, hall: Option<&str>) -> Result<Value, NodeError> {
        let hall = hall.map(HallId::new).transpose()?;
        Ok(encode(&StaffList {
            staff: self.replica()?.roster(hall.as_ref()),
        }))
    }
}
