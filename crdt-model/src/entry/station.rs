//! Proposing a stationing (进驻), adjustment (调整) or withdrawal (撤离): C4, what may be adjusted or
//! withdrawn, S4.

use crate::doc_id::ItemCode;
use crate::entry::EntryError;
use crate::hall::HallId;
use crate::records::station::StationFields;
use crate::records::withdrawal::REASON_KINDS;
use crate::replica::Replica;

pub use crate::records::station::StationAction;

/// Parses a stationing action as a person types it.
///
/// # Errors
/// [`EntryError::NotInList`] naming the actions.
pub fn parse_action(text: &str) -> Result<StationAction, EntryError> {
    StationAction::parse(text).ok_or_else(|| EntryError::NotInList {
        what: "stationing action",
        value: text.chars().take(40).collect(),
        allowed: "station, adjust or withdraw".into(),
    })
}

/// A stationing proposal as a person makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StationProposal {
    /// The hall.
    pub hall: HallId,
    /// The item.
    pub item: ItemCode,
    /// What it does.
    pub action: StationAction,
    /// What is adjusted, or any note.
    pub note: Option<String>,
    /// Withdrawal: the kind of reason (one of [`REASON_KINDS`]; `other` when absent).
    pub reason_kind: Option<String>,
    /// Withdrawal: the written reason (S4).
    pub reason: Option<String>,
    /// Withdrawal: the legal basis (S4).
    pub basis: Option<String>,
    /// The date the hall stopped offering the item (YYYY-MM-DD).
    pub executed_at: Option<String>,
}

/// Checks `proposal` against the entry rules on `replica`'s view, and returns the fields to write.
///
/// # Errors
/// The rule broken: the item unknown, its guide incomplete (C4), nothing stationed to adjust or
/// withdraw, a withdrawal without reason or basis (S4), an unknown reason kind.
pub fn propose(
    replica: &Replica,
    proposal: StationProposal,
    now_ms: i64,
) -> Result<StationFields, EntryError> {
    let code = proposal.item.as_str();
    let item = replica.item(code).ok_or_else(|| EntryError::UnknownItem {
        item: code.to_string(),
    })?;
    let stationed = replica
        .station(&proposal.hall, &proposal.item)
        .and_then(|s| s.effective_action)
        .is_some_and(StationAction::offers);
    match proposal.action {
        StationAction::Station if !item.missing_elements.is_empty() => {
            return Err(EntryError::GuideIncomplete {
                item: code.to_string(),
                missing: item.missing_elements.join(", "),
            })
        }
        StationAction::Adjust | StationAction::Withdraw if !stationed => {
            return Err(EntryError::NotStationed {
                item: code.to_string(),
                hall: proposal.hall.to_string(),
                action: proposal.action.as_str(),
            })
        }
        StationAction::Withdraw => {
            let missing = |v: &Option<String>| v.as_deref().is_none_or(|t| t.trim().is_empty());
            if missing(&proposal.reason) || missing(&proposal.basis) {
                return Err(EntryError::WithdrawalUnexplained);
            }
            let kind = proposal.reason_kind.as_deref().unwrap_or("other");
            if !REASON_KINDS.iter().any(|(k, _)| *k == kind) {
                return Err(EntryError::NotInList {
                    what: "withdrawal reason kind",
                    value: kind.chars().take(40).collect(),
                    allowed: REASON_KINDS
                        .iter()
                        .map(|(k, l)| format!("{k} ({l})"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        StationAction::Station | StationAction::Adjust => {}
    }
    let withdraw = proposal.action == StationAction::Withdraw;
    Ok(StationFields {
        hall: proposal.hall,
        item: proposal.item,
        action: proposal.action,
        proposed_at_ms: now_ms,
        note: proposal.note,
        reason_kind: withdraw.then(|| proposal.reason_kind.unwrap_or_else(|| "other".into())),
        reason: proposal.reason,
        basis: proposal.basis,
        executed_at: proposal.executed_at,
    })
}
