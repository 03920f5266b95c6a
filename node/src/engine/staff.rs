//! Window-staff commands: file, record training / duty / departure, list the roster.

use hallsync_model::calendar::Date;
use hallsync_model::records::staff::StaffFields;
use hallsync_model::{DocId, HallId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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
    fn staff_current(&self, hall: &HallId, person: &str) -> Option<StaffFields> {
        let replica = self.replica().ok()?;
        replica
            .roster(Some(hall))
            .into_iter()
            .find(|v| v.filing.as_ref().is_some_and(|f| f.person == person))
            .and_then(|v| v.filing)
    }

    /// Files a person at a hall (ST 6.2.1), checked for P1 and P2.
    ///
    /// # Errors
    /// The rule broken.
    pub fn staff_file(
        &mut self,
        hall: Option<&str>,
        fields: StaffFields,
    ) -> Result<Value, NodeError> {
        let hall = HallId::new(hall.unwrap_or(&self.config.node.hall))?;
        fields.validate().map_err(NodeError::NotAllowed)?;
        self.refuse_withdrawn_department(&hall, &fields.department)?;
        if let Some(replaced) = &fields.replaces {
            // An adjustment filing (ST 9.1) is filed before the change, for the same window.
            let old = self.staff_current(&hall, replaced).ok_or_else(|| {
                NodeError::NotFound(format!("ST 9.1: {replaced} is not filed at hall {hall}; an adjustment filing names whom it replaces"))
            })?;
            if old.window != fields.window {
                return Err(NodeError::NotAllowed(format!(
                    "ST 9.1: {} replaces {replaced} at window {}, not {}",
                    fields.person, old.window, fields.window
                )));
            }
        }
        let envelope = self.author(&DocId::staff(&hall, &fields.person), &fields.writes())?;
        Ok(changed(&envelope))
    }

    /// S8 (ST 7): no one is filed or put on duty for a department withdrawn from the hall.
    fn refuse_withdrawn_department(
        &self,
        hall: &HallId,
        department: &str,
    ) -> Result<(), NodeError> {
        hallsync_model::entry::staff::department_present(self.replica()?, hall, department)?;
        Ok(())
    }

    /// Records training, duty or departure; a departure that would leave the window with nobody on
    /// duty is refused (P4, 先进后出): file and put the replacement on duty first.
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
        let mut fields = self.staff_current(&hall, &step.person).ok_or_else(|| {
            NodeError::NotFound(format!(
                "no approved filing for {} at hall {hall}: file them and have it approved first",
                step.person
            ))
        })?;
        let key = match step.step.as_str() {
            "train" => {
                fields.trained_on = Some(on.to_string());
                "trained_on"
            }
            "duty" => {
                self.refuse_withdrawn_department(&hall, &fields.department)?;
                fields.on_duty_from = Some(on.to_string());
                "on_duty_from"
            }
            "leave" => {
                fields.left_on = Some(on.to_string());
                fields.leave_reason = Some(step.reason.clone().unwrap_or_else(|| "other".into()));
                let roster = self.replica()?.roster(Some(&hall));
                let covered = roster.iter().any(|v| {
                    v.state == "on_duty"
                        && v.filing.as_ref().is_some_and(|g| {
                            g.person != fields.person
                                && g.window == fields.window
                                && g.on_duty_from
                                    .as_deref()
                                    .is_some_and(|d| d <= on.to_string().as_str())
                        })
                });
                if !covered {
                    return Err(NodeError::NotAllowed(format!(
                        "P4 先进后出 (ST 6.3.3): nobody else is on duty at window {} on {on}; the replacement must be on duty before {} leaves",
                        fields.window, fields.person
                    )));
                }
                "left_on"
            }
            other => {
                return Err(NodeError::NotAllowed(format!(
                    "`{other}`: use train, duty or leave"
                )))
            }
        };
        fields.validate().map_err(NodeError::NotAllowed)?;
        let puts: Vec<_> = fields
            .writes()
            .into_iter()
            .filter(|(k, _)| k == key || k == "leave_reason")
            .collect();
        let envelope = self.author(&DocId::staff(&hall, &fields.person), &puts)?;
        Ok(changed(&envelope))
    }

    /// The roster of a hall (or all), with held departures and warnings.
    ///
    /// # Errors
    /// A bad hall id, or not joined.
    pub fn staff_list(&self, hall: Option<&str>) -> Result<Value, NodeError> {
        let hall = hall.map(HallId::new).transpose()?;
        Ok(json!({ "staff": self.replica()?.roster(hall.as_ref()) }))
    }
}
