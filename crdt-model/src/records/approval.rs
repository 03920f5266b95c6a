//! Approvals: signed attestations over a document's heads.
//!
//! An approval is itself a change to the record, written by the approver under a key of its own
//! (`approval/<approver>/<heads digest>`), so it replicates, is signed and is checked like any other
//! change. The value names the heads it approves; the effective record is the document as of the
//! union of approved heads.

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::DeviceId;

/// Prefix of every approval key.
pub const APPROVAL_PREFIX: &str = "approval/";

/// Most heads one approval may name; honest documents have one or a few.
pub const APPROVAL_HEADS_MAX: usize = 64;

/// Longest rejection reason, in characters.
pub const REASON_CHARS_MAX: usize = 2000;

/// Approve or reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The proposal up to these heads becomes effective.
    Approve,
    /// The proposal up to these heads is refused; it stays visible but never effective.
    Reject,
}

/// The value stored under an approval key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Approve or reject.
    pub decision: Decision,
    /// The document heads decided on, in hex.
    pub heads: Vec<String>,
    /// Why, for a rejection (required there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the approver says it decided, ms since the Unix epoch (shown, never used for order).
    pub at_ms: i64,
}

impl Approval {
    /// The key the approver writes this approval under.
    pub fn key(&self, approver: &DeviceId) -> String {
        let digest = Sha256::digest(self.heads.join(",").as_bytes());
        format!(
            "{APPROVAL_PREFIX}{}/{}",
            approver.short(),
            hex::encode(&digest[..8])
        )
    }

    /// The JSON text stored in the document.
    pub fn to_value(&self) -> String {
        // A struct of strings and integers always serializes.
        crate::encoding::json_text(self)
    }

    /// Parses a stored value; `None` for anything malformed or over the limits.
    pub fn parse(text: &str) -> Option<Approval> {
        let approval: Approval = serde_json::from_str(text).ok()?;
        if approval.heads.is_empty() || approval.heads.len() > APPROVAL_HEADS_MAX {
            return None;
        }
        if approval
            .reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > REASON_CHARS_MAX)
        {
            return None;
        }
        if approval.decision == Decision::Reject
            && approval.reason.as_ref().is_none_or(|r| r.trim().is_empty())
        {
            return None;
        }
        approval.head_hashes()?;
        Some(approval)
    }

    /// The heads as change hashes; `None` if any is not a hash.
    pub fn head_hashes(&self) -> Option<Vec<ChangeHash>> {
        self.heads.iter().map(|h| h.parse().ok()).collect()
    }
}

/// An applied approval or rejection as a record keeps it: read from its change once, heads parsed,
/// so that views count decisions without parsing text again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    /// Who signed it.
    pub by: DeviceId,
    /// Approve or reject.
    pub decision: Decision,
    /// The heads decided on (a decision whose heads do not parse covers nothing).
    pub heads: Vec<ChangeHash>,
    /// Why, for a rejection.
    pub reason: Option<String>,
    /// When the signer says it decided.
    pub at_ms: i64,
}

impl Decided {
    /// `approval`, signed by `by`.
    pub fn new(by: DeviceId, approval: Approval) -> Decided {
        Decided {
            by,
            decision: approval.decision,
            heads: approval.head_hashes().unwrap_or_default(),
            reason: approval.reason,
            at_ms: approval.at_ms,
        }
    }
}

/// True when `key` is written by `approver` (approvers may only write under their own prefix).
pub fn key_belongs_to(key: &str, approver: &DeviceId) -> bool {
    key.strip_prefix(APPROVAL_PREFIX)
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(who, _)| who == approver.short())
}

pub use crate::change::causal::closure;

/// A short id for a pending proposal: a digest of the record and the heads it would approve.
pub fn proposal_id(doc: &str, heads: &[ChangeHash]) -> String {
    let mut sorted: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    sorted.sort();
    let digest = Sha256::digest(format!("{doc}|{}", sorted.join(",")).as_bytes());
    hex::encode(&digest[..6])
}
