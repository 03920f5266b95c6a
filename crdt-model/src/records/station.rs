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
use crate::doc_id::ItemCode;
use crate::hall::HallId;
use crate::identity::DeviceId;
use crate::records::approval::{closure, key_belongs_to, Approval, APPROVAL_PREFIX};
use crate::records::authority::ChangeCtx;
use crate::records::fields::{Field, FieldTable};
use crate::records::withdrawal::{Publication, Publisher, PUBLICATION_PREFIX, REASON_KINDS};
use crate::trust::cert::{RecordKind, Role};

/// The actions a stationing proposal may carry, with their labels.
pub const STATION_ACTIONS: [(StationAction, &str); 3] = [
    (StationAction::Station, "进驻"),
    (StationAction::Adjust, "调整"),
    (StationAction::Withdraw, "撤离"),
];

/// What a stationing proposal does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StationAction {
    /// 进驻: offer the item at the hall.
    Station,
    /// 调整: change how the hall offers it.
    Adjust,
    /// 撤离: stop offering it (S4: with reason and legal basis).
    Withdraw,
}

impl StationAction {
    /// The name in records, the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StationAction::Station => "station",
            StationAction::Adjust => "adjust",
            StationAction::Withdraw => "withdraw",
        }
    }

    /// The action named `text`, if any.
    pub fn parse(text: &str) -> Option<StationAction> {
        STATION_ACTIONS
            .iter()
            .map(|(a, _)| *a)
            .find(|a| a.as_str() == text)
    }

    /// True when the item is offered at the hall after this action (stationed or adjusted).
    pub fn offers(self) -> bool {
        matches!(self, StationAction::Station | StationAction::Adjust)
    }
}

impl std::fmt::Display for StationAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest note, in characters.
pub const NOTE_CHARS_MAX: usize = 2000;

/// What a stationing proposal says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationFields {
    /// The hall the item is stationed at.
    pub hall: HallId,
    /// The catalogue item.
    pub item: ItemCode,
    /// What it does.
    pub action: StationAction,
    /// When the proposer says it proposed, ms since the Unix epoch.
    pub proposed_at_ms: i64,
    /// A note (what is adjusted, which window …).
    pub note: Option<String>,
    /// Withdrawal: reason kind, one of [`crate::records::withdrawal::REASON_KINDS`] (S4).
    pub reason_kind: Option<String>,
    /// Withdrawal: the written reason (S4).
    pub reason: Option<String>,
    /// Withdrawal: its legal basis (S4).
    pub basis: Option<String>,
    /// The date the hall says it stopped offering the item (S6 flags this without an approval).
    pub executed_at: Option<String>,
}

impl StationFields {
    /// The root writes that store these fields.
    pub fn writes(&self) -> Vec<(String, ScalarValue)> {
        let mut out = vec![
            (
                "hall".to_string(),
                ScalarValue::Str(self.hall.as_str().into()),
            ),
            ("item".into(), ScalarValue::Str(self.item.as_str().into())),
            (
                "action".into(),
                ScalarValue::Str(self.action.as_str().into()),
            ),
            (
                "proposed_at_ms".into(),
                ScalarValue::Int(self.proposed_at_ms),
            ),
        ];
        for (key, value) in [
            ("note", &self.note),
            ("reason_kind", &self.reason_kind),
            ("reason", &self.reason),
            ("basis", &self.basis),
            ("executed_at", &self.executed_at),
        ] {
            if let Some(v) = value {
                out.push((key.to_string(), ScalarValue::Str(v.as_str().into())));
            }
        }
        out
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
    /// The record, whose document is opened only when a rule reads what an approval approves (S4):
    /// most changes are judged without opening it.
    pub(crate) record: Option<&'a dyn FieldsAt>,
}

/// Reads a record's flat fields as of some heads, without its document: what the approval rules
/// (S4, S7, S8) need of a record. The replica's record state implements it; rules sit below the
/// replica and see only this.
pub trait FieldsAt {
    /// Each root key's winning value as of `heads`; `None` when a head is not applied.
    fn fields_at(&self, heads: &[ChangeHash]) -> Option<BTreeMap<String, automerge::ScalarValue>>;
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
    let publications = writes
        .iter()
        .filter(|w| w.key.starts_with(PUBLICATION_PREFIX))
        .count();
    if publications > 0 {
        if publications != writes.len() {
            return Err(Rejection::shape(
                "a publication is written on its own".into(),
            ));
        }
        for write in writes {
            authorize_publication(ctx, hall, write)?;
        }
        return Ok(StationChange::Approval);
    }
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
            check_withdrawal_complete(write, history)?;
        }
        Ok(StationChange::Approval)
    } else {
        Err(Rejection::shape(
            "a change may not mix a proposal with an approval".into(),
        ))
    }
}

fn authorize_content(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    code: &ItemCode,
    writes: &[RootWrite],
) -> Result<(), Rejection> {
    ctx.require_hall_people(
        hall,
        RecordKind::Stationing,
        || Rejection::OutOfScope {
            reason: format!(
                "{} holds no certificate for hall {hall} with stationing in scope; a hall's stationing is proposed by its own people",
                ctx.author.short()
            ),
        },
    )?;
    STATION_FIELDS.check_writes(
        &[("hall", hall.as_str()), ("item", code.as_str())],
        writes,
        None,
    )
}

/// The stationing record's content fields (approvals and publications have rules of their own).
const STATION_FIELDS: FieldTable = FieldTable {
    label: "stationing",
    fields: &[
        ("hall", Field::Id("hall")),
        ("item", Field::Id("item")),
        (
            "action",
            Field::Checked(|s| StationAction::parse(s).is_some()),
        ),
        ("note", Field::Text(NOTE_CHARS_MAX)),
        ("reason", Field::Text(NOTE_CHARS_MAX)),
        ("basis", Field::Text(NOTE_CHARS_MAX)),
        ("reason_kind", Field::OneOf(&REASON_KINDS)),
        ("executed_at", Field::Date),
        ("proposed_at_ms", Field::Int(i64::MIN, i64::MAX)),
    ],
};

fn authorize_approval(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    write: &RootWrite,
    change_deps: &[ChangeHash],
    history: &DocHistory<'_>,
) -> Result<(), Rejection> {
    authorize_tiered_decision(
        ctx,
        hall,
        write,
        change_deps,
        history,
        RecordKind::Stationing,
    )
}

/// A decision on a hall's governed record (stationing, staff filing): by an administrator of the
/// supervising tier or the city, with `kind` in scope; the approval policy says whose count.
pub(crate) fn authorize_tiered_decision(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    write: &RootWrite,
    change_deps: &[ChangeHash],
    history: &DocHistory<'_>,
    kind: RecordKind,
) -> Result<(), Rejection> {
    let trust = ctx.trust;
    let supervisor = trust.supervisor_of(hall);
    let city = trust
        .halls()
        .values()
        .find(|h| h.level == crate::hall::Level::City)
        .map(|h| h.id.clone());
    // Both the supervising tier and the city may sign; the approval policy says whose count.
    authorize_decision(ctx, write, change_deps, history, kind, |c| {
        supervisor.as_ref() == Some(&c.body.hall) || city.as_ref() == Some(&c.body.hall)
    })
    .map_err(|e| match e {
        Rejection::OutOfScope { reason } if reason == NOT_DECIDER => Rejection::NotApprover {
            author: ctx.author.short(),
            hall: hall.to_string(),
        },
        other => other,
    })
}

const NOT_DECIDER: &str = "not a decider";

/// When `write` is an approval (not a rejection), a reader of the record's text fields as of the heads
/// it approves: what rules such as S4, S7 and S8 check before an approval may stand.
pub(crate) fn approved_state<'a>(
    write: &RootWrite,
    history: &DocHistory<'a>,
) -> Option<impl Fn(&str) -> String + 'a> {
    let Some(ScalarValue::Str(text)) = &write.value else {
        return None;
    };
    let approval = Approval::parse(text)?;
    if approval.decision != crate::records::approval::Decision::Approve {
        return None;
    }
    let (record, heads) = (history.record?, approval.head_hashes()?);
    // Unknown heads read as empty, as automerge reads nothing at them.
    let fields = record.fields_at(&heads).unwrap_or_default();
    Some(move |key: &str| {
        fields
            .get(key)
            .and_then(crate::change::ops::field_text)
            .unwrap_or_default()
    })
}

/// S4 (ST 8.1.1): a withdrawal is approved only with its written reason and legal basis.
fn check_withdrawal_complete(write: &RootWrite, history: &DocHistory<'_>) -> Result<(), Rejection> {
    let Some(read) = approved_state(write, history) else {
        return Ok(());
    };
    if StationAction::parse(&read("action")) == Some(StationAction::Withdraw)
        && (read("reason").trim().is_empty() || read("basis").trim().is_empty())
    {
        return Err(Rejection::Invalid { rule: crate::change::rejection::Rule::S4, reason: "S4 (ST 8.1.1): a withdrawal needs its written reason and legal basis before it is approved".into() });
    }
    Ok(())
}

/// A publication of a withdrawal: by an administrator of the supervising tier (management
/// department) or by the hall's own people (the department), each under its own key.
fn authorize_publication(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    write: &RootWrite,
) -> Result<(), Rejection> {
    let Some(ScalarValue::Str(text)) = &write.value else {
        return Err(Rejection::shape(
            "a publication holds its JSON statement".into(),
        ));
    };
    let publication = Publication::parse(text)
        .ok_or_else(|| Rejection::shape("not a publication statement".into()))?;
    if publication.key(ctx.author) != write.key {
        return Err(Rejection::shape(
            "publications are written under the signer's own key".into(),
        ));
    }
    let supervisor = ctx.trust.supervisor_of(hall);
    ctx.require(
        |c| {
            c.body.scope.allows(RecordKind::Stationing)
                && match publication.by {
                    Publisher::Management => {
                        c.body.role == Role::Admin && supervisor.as_ref() == Some(&c.body.hall)
                    }
                    Publisher::Department => &c.body.hall == hall,
                }
        },
        || Rejection::OutOfScope {
            reason: format!(
                "{} may not publish for hall {hall} as {:?}",
                ctx.author.short(),
                publication.by
            ),
        },
    )
}

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
