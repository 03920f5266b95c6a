//! The departments stationed at each hall, as approved.

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use crate::doc_id::DocKind;
use crate::effective::{proposal, text_at, Proposal};
use crate::hall::HallId;
use crate::records::department::{DepartmentAction, DepartmentFields, DepartmentStatus};
use crate::replica::Replica;
use crate::trust::cert::RecordKind;

/// One department at one hall.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentView {
    /// The hall.
    pub hall: String,
    /// The department's id at the hall: what staff filings name (ST 6.2.1).
    pub dept: String,
    /// The approved filing, or `None` while only proposed.
    pub filing: Option<DepartmentFields>,
    /// Stationed, withdrawn or only proposed.
    pub status: DepartmentStatus,
    /// The day its withdrawal was approved, when withdrawn: its window staff leave with it (S8).
    pub withdrawn_on: Option<String>,
    /// A change awaiting approval.
    pub pending: Option<Proposal>,
}

impl Replica {
    /// The departments of `hall` (or of every hall held).
    pub fn departments(&self, hall: Option<&HallId>) -> Vec<DepartmentView> {
        let mut out = Vec::new();
        // Only the hall's records are opened (opening one builds its document).
        let wanted = |id: &crate::doc_id::DocId| match id.kind() {
            DocKind::Department(h, _) => hall.is_none_or(|want| want == h),
            _ => false,
        };
        for (id, state) in self.records_where(wanted) {
            let state = &*state;
            let DocKind::Department(h, dept) = id.kind() else {
                continue;
            };
            if hall.is_some_and(|want| want != h) {
                continue;
            }
            let (g, policy) = self.governed(state, h, "stationing", RecordKind::Stationing);
            let heads: Vec<ChangeHash> = g.effective.iter().copied().collect();
            let read = |k: &str| text_at(state.doc(), k, Some(&heads)).unwrap_or_default();
            let filing = if heads.is_empty() {
                None
            } else {
                DepartmentFields::read(read)
            };
            let status = match filing.as_ref().map(|f| f.action) {
                Some(DepartmentAction::Withdraw) => DepartmentStatus::Withdrawn,
                Some(DepartmentAction::Station) => DepartmentStatus::Stationed,
                None => DepartmentStatus::Proposed,
            };
            let withdrawn_on = (status == DepartmentStatus::Withdrawn)
                .then(|| self.withdrawal_approved_at(state, h, policy))
                .flatten()
                .map(|ms| crate::calendar::Date::from_unix_ms(ms).to_string());
            let name = text_at(state.doc(), "name", None).unwrap_or_default();
            let action = text_at(state.doc(), "action", None).unwrap_or_default();
            let pending = proposal(id, state, &g, policy, h.to_string(), name, action);
            out.push(DepartmentView {
                hall: h.to_string(),
                dept: dept.clone(),
                filing,
                status,
                withdrawn_on,
                pending,
            });
        }
        out
    }
}
