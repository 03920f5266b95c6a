//! Stationing commands: propose, adjust, withdraw (with reason and basis, S4) and publish (S5).

use super::response::*;
use hallsync_model::entry::station::{parse_action, StationAction, StationProposal};
use hallsync_model::records::withdrawal::{Publication, Publisher};
use hallsync_model::{DocId, HallId, ItemCode, ScalarValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::commands::changed;
use super::{now_ms, Engine};
use crate::error::NodeError;

/// A stationing proposal: station (进驻), adjust (调整) or withdraw (撤离).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationRequest {
    /// The item code.
    pub item: String,
    /// The hall; this node's hall when absent.
    #[serde(default)]
    pub hall: Option<String>,
    /// station, adjust or withdraw; station when absent.
    #[serde(default)]
    pub action: Option<String>,
    /// What is adjusted, or any note.
    #[serde(default)]
    pub note: Option<String>,
    /// Withdrawal reason kind (law_change, cancelled, negotiated, other).
    #[serde(default)]
    pub reason_kind: Option<String>,
    /// Withdrawal: written reason (S4).
    #[serde(default)]
    pub reason: Option<String>,
    /// Withdrawal: legal basis (S4).
    #[serde(default)]
    pub basis: Option<String>,
    /// The date the hall stopped offering the item (YYYY-MM-DD).
    #[serde(default)]
    pub executed_at: Option<String>,
}

impl StationRequest {
    /// A plain stationing proposal of `item` at `hall` (this node's when `None`).
    pub fn station(item: &str, hall: Option<&str>) -> Self {
        StationRequest {
            item: item.to_string(),
            hall: hall.map(str::to_string),
            action: None,
            note: None,
            reason_kind: None,
            reason: None,
            basis: None,
            executed_at: None,
        }
    }
}

impl Engine {
    /// Signs a stationing proposal after the checks the standards ask at entry (C4, S4).
    ///
    /// # Errors
    /// The rule broken, by clause.
    pub fn station(&mut self, request: StationRequest) -> Result<Value, NodeError> {
        let hall = HallId::new(request.hall.as_deref().unwrap_or(&self.config.node.hall))?;
        let code = ItemCode::new(&request.item)?;
        let action = parse_action(request.action.as_deref().unwrap_or("station"))?;
        let proposal = StationProposal {
            hall: hall.clone(),
            item: code.clone(),
            action,
            note: request.note,
            reason_kind: request.reason_kind,
            reason: request.reason,
            basis: request.basis,
            executed_at: request.executed_at,
        };
        let fields = hallsync_model::entry::station::propose(self.replica()?, proposal, now_ms())?;
        let doc = DocId::station(&hall, &code);
        let envelope = self.author(&doc, &fields.writes())?;
        let pending = self
            .replica()?
            .stations()
            .into_iter()
            .find(|s| s.hall == hall.as_str() && s.item == code.as_str())
            .and_then(|s| s.pending);
        let mut out = Written::of(&envelope);
        out.proposal = pending;
        Ok(encode(&out))
    }

    /// Records that an approved withdrawal was published (and, by management, the list updated).
    ///
    /// # Errors
    /// When there is no approved withdrawal, or this device may not publish for the hall.
    pub fn station_publish(
        &mut self,
        item: &str,
        hall: Option<&str>,
        by: &str,
        channels: &str,
    ) -> Result<Value, NodeError> {
        let hall = HallId::new(hall.unwrap_or(&self.config.node.hall))?;
        let code = ItemCode::new(item)?;
        let by = match by {
            "management" => Publisher::Management,
            "department" => Publisher::Department,
            other => {
                return Err(NodeError::NotAllowed(format!(
                    "`{other}`: publish --by management or department"
                )))
            }
        };
        let withdrawn = self.replica()?.stations().into_iter().any(|s| {
            s.hall == hall.as_str()
                && s.item == code.as_str()
                && s.effective_action == Some(StationAction::Withdraw)
        });
        if !withdrawn {
            return Err(NodeError::NotAllowed(format!(
                "item {code} has no approved withdrawal at hall {hall}: publish only approved withdrawals (ST 8.1.2)"
            )));
        }
        let publication = Publication {
            by,
            at_ms: now_ms(),
            channels: channels.to_string(),
        };
        let key = publication.key(&self.key.device_id());
        let envelope = self.author(
            &DocId::station(&hall, &code),
            &[(key, ScalarValue::Str(publication.to_value().into()))],
        )?;
        Ok(changed(&envelope))
    }
}
