//! Approval policies: per action, how many distinct approvers a change needs and from which tier.
//!
//! The policy is one record (`policy`) written by city administrators with the policy kind in scope,
//! and it is governed itself: a change of policy takes effect only once another city administrator
//! approves it (maker-checker), so no single administrator can lower the bar alone. Every node reads
//! the same effective policy, so every node counts approvals the same way.

use automerge::{ChangeHash, ScalarValue};
use serde::{Deserialize, Serialize};

use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::hall::Level;
use crate::records::approval::APPROVAL_PREFIX;
use crate::records::authority::ChangeCtx;
use crate::records::station::{authorize_decision, DocHistory, StationChange};
use crate::trust::cert::{RecordKind, Role};

/// Prefix of policy keys: `policy/<action>`.
pub const POLICY_PREFIX: &str = "policy/";

/// The actions a policy can govern. Issue #4 adds departments and staff.
pub const ACTIONS: [&str; 2] = ["stationing", "staff"];

/// Most approvers a policy may require: more could never be met by a township's administrators.
pub const APPROVERS_REQUIRED_MAX: u8 = 9;

/// Whose approvals count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApproverTier {
    /// Administrators of the hall's supervising tier (village → township, …; DOMAIN.md).
    Supervisor,
    /// City administrators.
    City,
}

impl ApproverTier {
    /// The name in JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ApproverTier::Supervisor => "supervisor",
            ApproverTier::City => "city",
        }
    }
}

/// The rule for one action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// Distinct approvers needed (M of the N eligible).
    pub approvers_required: u8,
    /// Whose approvals count.
    pub approver_tier: ApproverTier,
}

impl Default for ApprovalPolicy {
    /// One approval by the supervising tier: DOMAIN.md "Who may do what".
    fn default() -> Self {
        ApprovalPolicy {
            approvers_required: 1,
            approver_tier: ApproverTier::Supervisor,
        }
    }
}

impl ApprovalPolicy {
    /// The value stored under `policy/<action>`.
    pub fn to_value(&self) -> String {
        // Plain data always serializes.
        crate::encoding::json_text(self)
    }

    /// Parses a stored value; `None` for anything malformed or out of range.
    pub fn parse(text: &str) -> Option<ApprovalPolicy> {
        let p: ApprovalPolicy = serde_json::from_str(text).ok()?;
        (1..=APPROVERS_REQUIRED_MAX)
            .contains(&p.approvers_required)
            .then_some(p)
    }
}

/// The write rule for the policy record.
pub(crate) fn authorize(
    ctx: &ChangeCtx<'_>,
    writes: &[RootWrite],
    change_deps: &[ChangeHash],
    history: &DocHistory<'_>,
) -> Result<StationChange, Rejection> {
    let trust = ctx.trust;
    let at_city = |c: &crate::trust::cert::Certificate| {
        trust
            .halls()
            .get(&c.body.hall)
            .is_some_and(|h| h.level == Level::City)
    };
    let approvals = writes
        .iter()
        .filter(|w| w.key.starts_with(APPROVAL_PREFIX))
        .count();
    if approvals == writes.len() && approvals > 0 {
        for write in writes {
            authorize_decision(
                ctx,
                write,
                change_deps,
                history,
                RecordKind::Policy,
                at_city,
            )?;
        }
        return Ok(StationChange::Approval);
    }
    if approvals > 0 {
        return Err(Rejection::shape(
            "a change may not mix a proposal with an approval".into(),
        ));
    }
    ctx.require(
        |c| c.body.role == Role::Admin && c.body.scope.allows(RecordKind::Policy) && at_city(c),
        || Rejection::OutOfScope {
            reason: format!(
                "{} is not a city administrator with policy in scope",
                ctx.author.short()
            ),
        },
    )?;
    for write in writes {
        let action = write
            .key
            .strip_prefix(POLICY_PREFIX)
            .filter(|a| ACTIONS.contains(a));
        let ok = match (action, &write.value) {
            (Some(_), Some(ScalarValue::Str(text))) => ApprovalPolicy::parse(text).is_some(),
            _ => false,
        };
        if !ok {
            return Err(Rejection::shape(format!(
                    "`{}` is not a policy entry: use policy/<action> (actions: {}) with {{approvers_required: 1–{APPROVERS_REQUIRED_MAX}, approver_tier}}",
                    write.key,
                    ACTIONS.join(", ")
                )));
        }
    }
    Ok(StationChange::Content)
}
