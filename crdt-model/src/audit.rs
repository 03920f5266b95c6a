//! Explain a record: every change held for it, who signed it under which certificates, the approvals,
//! and why each change is or is not effective.

use serde::{Deserialize, Serialize};

use crate::change::envelope::SignedChange;
use crate::change::ops::root_writes;
use crate::doc_id::{DocId, DocKind};
use crate::records::approval::Decision;
use crate::replica::Replica;
use crate::trust::state::Standing;

/// One certificate of a change's author, as it stands now.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditCert {
    /// Certificate id.
    pub id: String,
    /// Role and hall.
    pub role: String,
    /// Hall.
    pub hall: String,
    /// `active` or `revoked`.
    pub standing: String,
    /// The chain up to the root, certificate ids, this one first.
    pub chain: Vec<String>,
}

/// One change of the record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditChange {
    /// Automerge hash (hex), or the envelope digest for one that does not parse.
    pub hash: String,
    /// Signer's device id.
    pub author: String,
    /// The time the signer claims, ms since the Unix epoch.
    pub at_ms: i64,
    /// Keys written.
    pub keys: Vec<String>,
    /// `effective`, `pending`, `rejected`, `approval` (a decision, not content), `trust`, or `quarantined`.
    pub status: String,
    /// Why, in words.
    pub why: String,
    /// The author's certificates.
    pub certificates: Vec<AuditCert>,
}

/// One approval or rejection found in the record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditApproval {
    /// `approve` or `reject`.
    pub decision: Decision,
    /// Heads named.
    pub heads: Vec<String>,
    /// Reason (rejections).
    pub reason: Option<String>,
    /// Who signed the change carrying it.
    pub approver: String,
}

/// The audit of one record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditReport {
    /// The record.
    pub doc: String,
    /// Its changes, applied first (in causal order), then quarantined.
    pub changes: Vec<AuditChange>,
    /// Approvals in effect.
    pub approvals: Vec<AuditApproval>,
}

impl Replica {
    fn audit_certs(&self, author: &crate::identity::DeviceId) -> Vec<AuditCert> {
        self.trust()
            .standing_certs_of(author)
            .map(|(c, standing)| AuditCert {
                id: c.id().to_string(),
                role: c.body.role.as_str().to_string(),
                hall: c.body.hall.to_string(),
                standing: match standing {
                    Standing::Active => "active".into(),
                    Standing::Revoked(r) => format!(
                        "revoked ({})",
                        r.iter()
                            .map(|r| r.body.reason.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                },
                chain: self
                    .trust()
                    .chain(&c.id())
                    .iter()
                    .map(|c| c.id().to_string())
                    .collect(),
            })
            .collect()
    }

    fn audit_change(&self, envelope: &SignedChange, status: &str, why: String) -> AuditChange {
        // Explaining a change reads it; its signature was checked when it arrived.
        let parsed = crate::change::envelope::parse_change(&envelope.change);
        let (hash, at_ms, keys) = match &parsed {
            Ok(change) => (
                change.hash().to_string(),
                change.timestamp(),
                root_writes(change)
                    .map(|w| w.into_iter().map(|w| w.key).collect())
                    .unwrap_or_default(),
            ),
            Err(_) => (hex::encode(envelope.digest()), 0, Vec::new()),
        };
        AuditChange {
            hash,
            author: envelope.author.to_string(),
            at_ms,
            keys,
            status: status.to_string(),
            why,
            certificates: self.audit_certs(&envelope.author),
        }
    }

    /// Explains `doc`: `None` when nothing of it is held.
    pub fn audit(&self, doc: &DocId) -> Option<AuditReport> {
        let state = self.record(doc);
        let quarantined: Vec<_> = self
            .quarantine()
            .values()
            .filter(|e| &e.envelope.doc == doc)
            .collect();
        if state.is_none() && quarantined.is_empty() {
            return None;
        }
        let mut changes = Vec::new();
        let mut approvals = Vec::new();
        if let Some(state) = state {
            // Decisions as the views count them: the same governance function as `items` and
            // `pending`, with the approval policy (M of N, tier) and rejections.
            let governance = self.governance(doc, &state);
            for d in state.decisions() {
                approvals.push(AuditApproval {
                    decision: d.decision,
                    heads: d.heads.iter().map(ToString::to_string).collect(),
                    reason: d.reason.clone(),
                    approver: d.by.to_string(),
                });
            }
            for (envelope, change) in state.applied_changes() {
                let hash = change.hash();
                let (status, why) = if !state.content.contains(&hash) {
                    (
                        "approval",
                        "signed by an administrator of the supervising tier, not its maker"
                            .to_string(),
                    )
                } else if matches!(doc.kind(), DocKind::Trust) {
                    (
                        "trust",
                        "certificates and revocations are judged by the trust state".to_string(),
                    )
                } else {
                    match &governance {
                        None => (
                            "effective",
                            "written by an authorized author; this kind of record needs no approval"
                                .to_string(),
                        ),
                        Some((g, policy)) if g.effective.contains(&hash) => (
                            "effective",
                            format!(
                                "approved by {} of the {} tier's administrators, as the policy requires",
                                policy.approvers_required,
                                policy.approver_tier.as_str()
                            ),
                        ),
                        Some((g, policy)) if g.undecided.contains(&hash) => (
                            "pending",
                            format!(
                                "valid, awaiting approval: {} of {} required approvals from the {} tier",
                                g.approved_undecided.len(),
                                policy.approvers_required,
                                policy.approver_tier.as_str()
                            ),
                        ),
                        Some((g, _)) => (
                            "rejected",
                            format!(
                                "rejected: {}",
                                g.rejected_reason.as_deref().unwrap_or("no reason given")
                            ),
                        ),
                    }
                };
                changes.push(self.audit_change(envelope, status, why));
            }
        }
        for entry in quarantined {
            changes.push(self.audit_change(
                &entry.envelope,
                "quarantined",
                entry.reason.to_string(),
            ));
        }
        Some(AuditReport {
            doc: doc.to_string(),
            changes,
            approvals,
        })
    }
}
