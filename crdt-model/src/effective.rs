//! The effective view: what the records say once only approved content counts.
//!
//! Catalogue items take effect when written (city administrators need no approval). A stationing takes
//! effect as of the union of the heads its valid approvals name; content written after the last
//! decision is a pending proposal, shown apart, with an id an approver can name.

use std::collections::BTreeSet;

use automerge::{ChangeHash, ReadDoc, ScalarValue, Value, ROOT};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::identity::DeviceId;
use crate::records::approval::{closure, proposal_id, Approval, Decision, APPROVAL_PREFIX};
use crate::records::{DocId, DocKind};
use crate::replica::{DocState, Replica};

/// A catalogue item as every hall sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemView {
    /// 事项编码.
    pub code: String,
    /// 事项名称.
    pub name: String,
    /// 事项类型.
    #[serde(rename = "type")]
    pub item_type: String,
    /// 实施主体.
    pub department: String,
    /// 承诺时限 in working days.
    pub promised_days: i64,
}

/// The state of one item's stationing at one hall.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StationView {
    /// The hall.
    pub hall: String,
    /// The item.
    pub item: String,
    /// `approved`, `pending`, `rejected`, or `approved+pending` when a change awaits approval.
    pub status: String,
    /// The approved action, if any approval took effect.
    pub effective_action: Option<String>,
    /// The pending proposal, if any.
    pub pending: Option<Proposal>,
    /// The reason of the latest rejection, if any.
    pub rejected_reason: Option<String>,
}

/// Content awaiting a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// Short id to pass to `approve` / `reject`.
    pub id: String,
    /// The record.
    pub doc: String,
    /// The hall whose record it is.
    pub hall: String,
    /// The item.
    pub item: String,
    /// The proposed action.
    pub action: String,
    /// Who wrote the undecided changes (device ids).
    pub proposers: Vec<String>,
    /// The heads an approval would name, hex.
    pub heads: Vec<String>,
}

fn text_at(doc: &automerge::Automerge, key: &str, heads: Option<&[ChangeHash]>) -> Option<String> {
    let value = match heads {
        Some(h) => doc.get_at(ROOT, key, h).ok()??,
        None => doc.get(ROOT, key).ok()??,
    };
    match value.0 {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            ScalarValue::Int(n) => Some(n.to_string()),
            _ => None,
        },
        Value::Object(_) => None,
    }
}

fn approvals(state: &DocState) -> Vec<Approval> {
    let keys: Vec<String> = state
        .doc
        .keys(ROOT)
        .filter(|k| k.starts_with(APPROVAL_PREFIX))
        .collect();
    keys.iter()
        .filter_map(|k| text_at(&state.doc, k, None))
        .filter_map(|v| Approval::parse(&v))
        .collect()
}

impl Replica {
    /// The effective catalogue, by code.
    pub fn items(&self) -> Vec<ItemView> {
        self.docs()
            .iter()
            .filter(|(id, _)| matches!(id.kind(), DocKind::Item(_)))
            .map(|(_, state)| ItemView {
                code: text_at(&state.doc, "code", None).unwrap_or_default(),
                name: text_at(&state.doc, "name", None).unwrap_or_default(),
                item_type: text_at(&state.doc, "type", None).unwrap_or_default(),
                department: text_at(&state.doc, "department", None).unwrap_or_default(),
                promised_days: text_at(&state.doc, "promised_days", None)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            })
            .collect()
    }

    /// Every stationing record, by hall then item.
    pub fn stations(&self) -> Vec<StationView> {
        self.docs()
            .iter()
            .filter_map(|(id, state)| station_view(id, state))
            .collect()
    }

    /// The proposals `approver` may decide: undecided content at halls it supervises, not its own.
    pub fn pending_for(&self, approver: &DeviceId) -> Vec<Proposal> {
        self.stations()
            .into_iter()
            .filter_map(|s| s.pending)
            .filter(|p| {
                crate::hall::HallId::new(&p.hall)
                    .is_ok_and(|hall| self.trust().may_approve(approver, &hall))
                    && !p.proposers.contains(&approver.to_string())
            })
            .collect()
    }

    /// One hash over the heads of every record held: equal digests mean equal data.
    pub fn state_digest(&self) -> String {
        let mut hasher = Sha256::new();
        for (id, state) in self.docs() {
            hasher.update(id.as_str().as_bytes());
            hasher.update([0]);
            for head in state.heads() {
                hasher.update(head.0);
            }
            hasher.update([1]);
        }
        hex::encode(&hasher.finalize()[..16])
    }
}

fn station_view(id: &DocId, state: &DocState) -> Option<StationView> {
    let DocKind::Station(hall, item) = id.kind() else {
        return None;
    };
    let decided = approvals(state);
    let approved: Vec<ChangeHash> = decided
        .iter()
        .filter(|a| a.decision == Decision::Approve)
        .flat_map(|a| a.head_hashes().unwrap_or_default())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let all_decided: Vec<ChangeHash> = decided
        .iter()
        .flat_map(|a| a.head_hashes().unwrap_or_default())
        .collect();
    let covered = closure(&all_decided, &state.deps);
    let undecided: Vec<&ChangeHash> = state
        .content
        .iter()
        .filter(|h| !covered.contains(h))
        .collect();
    let effective_action = if approved.is_empty() {
        None
    } else {
        text_at(&state.doc, "action", Some(&approved))
    };
    let rejected_reason = decided
        .iter()
        .filter(|a| a.decision == Decision::Reject)
        .max_by_key(|a| a.at_ms)
        .and_then(|a| a.reason.clone());
    let pending = (!undecided.is_empty()).then(|| {
        let heads = state.heads();
        let mut proposers: Vec<String> = undecided
            .iter()
            .filter_map(|h| state.authors.get(*h))
            .map(|d| d.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        proposers.sort();
        Proposal {
            id: proposal_id(id.as_str(), &heads),
            doc: id.to_string(),
            hall: hall.to_string(),
            item: item.to_string(),
            action: text_at(&state.doc, "action", None).unwrap_or_default(),
            proposers,
            heads: heads.iter().map(|h| h.to_string()).collect(),
        }
    });
    let status = match (&effective_action, &pending, &rejected_reason) {
        (Some(_), Some(_), _) => "approved+pending",
        (Some(_), None, _) => "approved",
        (None, Some(_), _) => "pending",
        (None, None, Some(_)) => "rejected",
        (None, None, None) => "empty",
    };
    Some(StationView {
        hall: hall.to_string(),
        item: item.to_string(),
        status: status.to_string(),
        effective_action,
        pending,
        rejected_reason,
    })
}
