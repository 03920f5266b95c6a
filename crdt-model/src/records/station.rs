//! Item stationing at a hall (事项进驻, ST 5; DOMAIN-REFERENCE iii-2): proposed by the hall, approved by
//! the administrators of its supervising tier.
//!
//! Content keys are written by an operator or administrator of the hall itself; approval keys only by
//! an administrator of the supervising tier (village → township, township → district, district → city,
//! city → city), never by someone who wrote the changes being approved (maker-checker).

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ChangeHash, ScalarValue};
use serde::{Deserialize, Serialize};

use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::hall::HallId;
use crate::identity::DeviceId;
use crate::records::approval::{closure, key_belongs_to, Approval, APPROVAL_PREFIX};
use crate::records::authority::ChangeCtx;
use crate::records::ItemCode;
use crate::trust::cert::{RecordKind, Role};

/// The actions a stationing proposal may carry. Issue #4 adds adjustment and withdrawal.
pub const STATION_ACTIONS: [(&str, &str); 1] = [("station", "进驻")];

/// Longest note, in characters.
pub const NOTE_CHARS_MAX: usize = 2000;

/// What a stationing proposal says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationFields {
    /// The hall the item is stationed at.
    pub hall: HallId,
    /// The catalogue item.
    pub item: ItemCode,
    /// One of [`STATION_ACTIONS`].
    pub action: String,
    /// When the proposer says it proposed, ms since the Unix epoch.
    pub proposed_at_ms: i64,
}

impl StationFields {
    /// The root writes that store these fields.
    pub fn writes(&self) -> Vec<(&'static str, ScalarValue)> {
        vec![
            ("hall", ScalarValue::Str(self.hall.as_str().into())),
            ("item", ScalarValue::Str(self.item.as_str().into())),
            ("action", ScalarValue::Str(self.action.as_str().into())),
            ("proposed_at_ms", ScalarValue::Int(self.proposed_at_ms)),
        ]
    }
}

/// What authorization needs of a document's past: each change's dependencies and author, and which
/// changes are content (not approvals).
pub struct DocHistory<'a> {
    /// Dependencies of every applied change.
    pub deps: &'a BTreeMap<ChangeHash, Vec<ChangeHash>>,
    /// Author of every applied change.
    pub authors: &'a BTreeMap<ChangeHash, DeviceId>,
    /// The applied changes that wrote content rather than approvals.
    pub content: &'a BTreeSet<ChangeHash>,
}

/// Whether an accepted stationing change wrote content or an approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StationChange {
    /// A proposal (or an edit of one).
    Content,
    /// An approval or rejection.
    Approval,
}

/// The write rule for stationing documents.
pub(crate) fn authorize(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    code: &ItemCode,
    writes: &[RootWrite],
    change_deps: &[ChangeHash],
    history: &DocHistory<'_>,
) -> Result<StationChange, Rejection> {
    let approvals = writes
        .iter()
        .filter(|w| w.key.starts_with(APPROVAL_PREFIX))
        .count();
    if approvals == 0 {
        authorize_content(ctx, hall, code, writes)?;
        Ok(StationChange::Content)
    } else if approvals == writes.len() {
        for write in writes {
            authorize_approval(ctx, hall, write, change_deps, history)?;
        }
        Ok(StationChange::Approval)
    } else {
        Err(Rejection::OutOfScope {
            reason: "a change may not mix a proposal with an approval".into(),
        })
    }
}

fn authorize_content(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    code: &ItemCode,
    writes: &[RootWrite],
) -> Result<(), Rejection> {
    ctx.require(
        // An administrator's subtree is jurisdiction (certify, revoke), not a right to write the
        // filings of the halls under it; an operator's subtree scope lets it serve them.
        |c| {
            c.body.scope.allows(RecordKind::Stationing)
                && (&c.body.hall == hall || (c.body.role == Role::Operator && ctx.trust.covers(c, hall)))
        },
        || Rejection::OutOfScope {
            reason: format!(
                "{} holds no certificate for hall {hall} with stationing in scope; a hall's stationing is proposed by its own people",
                ctx.author.short()
            ),
        },
    )?;
    for write in writes {
        let ok = match (write.key.as_str(), &write.value) {
            ("hall", Some(ScalarValue::Str(s))) => s.as_str() == hall.as_str(),
            ("item", Some(ScalarValue::Str(s))) => s.as_str() == code.as_str(),
            ("action", Some(ScalarValue::Str(s))) => {
                STATION_ACTIONS.iter().any(|(a, _)| *a == s.as_str())
            }
            ("note", Some(ScalarValue::Str(s))) => s.chars().count() <= NOTE_CHARS_MAX,
            ("proposed_at_ms", Some(ScalarValue::Int(_))) => true,
            _ => false,
        };
        if !ok {
            return Err(Rejection::OutOfScope {
                reason: format!(
                    "stationing field `{}` has a value of the wrong kind or is not a stationing field",
                    write.key
                ),
            });
        }
    }
    Ok(())
}

fn authorize_approval(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    write: &RootWrite,
    change_deps: &[ChangeHash],
    history: &DocHistory<'_>,
) -> Result<(), Rejection> {
    let trust = ctx.trust;
    let supervisor = trust.supervisor_of(hall);
    let city = trust
        .halls()
        .values()
        .find(|h| h.level == crate::hall::Level::City)
        .map(|h| h.id.clone());
    // Both the supervising tier and the city may sign; the approval policy says whose count.
    authorize_decision(
        ctx,
        write,
        change_deps,
        history,
        RecordKind::Stationing,
        |c| supervisor.as_ref() == Some(&c.body.hall) || city.as_ref() == Some(&c.body.hall),
    )
    .map_err(|e| match e {
        Rejection::OutOfScope { reason } if reason == NOT_DECIDER => Rejection::NotApprover {
            author: ctx.author.short(),
            hall: hall.to_string(),
        },
        other => other,
    })
}

const NOT_DECIDER: &str = "not a decider";

/// The rule for any approval or rejection: written under the approver's own key, a well-formed value
/// naming heads in the change's own past, by someone who wrote none of the content it decides
/// (maker-checker), holding an active administrator certificate for `kind` at a hall `at_hall` accepts.
pub(crate) fn authorize_decision(
    ctx: &ChangeCtx<'_>,
    write: &RootWrite,
    change_deps: &[ChangeHash],
    history: &DocHistory<'_>,
    kind: RecordKind,
    at_hall: impl Fn(&crate::trust::cert::Certificate) -> bool,
) -> Result<(), Rejection> {
    let author = ctx.author;
    let malformed = |reason: &str| Rejection::OutOfScope {
        reason: format!("approval `{}`: {reason}", write.key),
    };
    if !key_belongs_to(&write.key, author) {
        return Err(malformed("approvers write only under their own key"));
    }
    let Some(ScalarValue::Str(text)) = &write.value else {
        return Err(malformed("the value is not an approval"));
    };
    let approval =
        Approval::parse(text).ok_or_else(|| malformed("the value is not an approval"))?;
    if approval.key(author) != write.key {
        return Err(malformed("the key does not match the approved heads"));
    }
    let heads = approval.head_hashes().unwrap_or_default();
    let past = closure(change_deps, history.deps);
    if heads.iter().any(|h| !past.contains(h)) {
        return Err(Rejection::ApprovalOfUnknown);
    }
    let approved = closure(&heads, history.deps);
    let wrote_any = approved
        .iter()
        .filter(|h| history.content.contains(h))
        .any(|h| history.authors.get(h) == Some(author));
    if wrote_any {
        return Err(Rejection::SelfApproval {
            author: author.short(),
        });
    }
    ctx.require(
        |c| c.body.role == Role::Admin && c.body.scope.allows(kind) && at_hall(c),
        || Rejection::OutOfScope {
            reason: NOT_DECIDER.into(),
        },
    )
}
