//! Cross-region cases (通办件, YC 6; DOMAIN.md "Cross-region cases"): one record per case, with the
//! accepting hall (收件地) and the handling hall (办理地) in its id.
//!
//! Each transition is a separate signed entry `t/<signer>/<digest>` naming the state it leaves and the
//! state it enters. Receivers check only who may sign it: the accepting hall's people receive, request
//! correction, accept, reject, transfer, issue and deliver; the handling hall's people review and
//! decide (K13: an intake site can never record a decision); either may archive. Which transitions
//! take effect is decided when the case is read, by replaying them in a fixed order (see
//! the case views in `cases`), so concurrent conflicting transitions resolve the same way on every node.

use automerge::ScalarValue;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::change::ops::RootWrite;
use crate::change::rejection::{Rejection, Rule};
use crate::hall::HallId;
use crate::identity::DeviceId;
use crate::records::authority::ChangeCtx;
use crate::records::item::CrossRegion;
use crate::trust::cert::RecordKind;

/// A case's state (YC 6.1–6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 收件: received at the accepting hall.
    Received,
    /// 补齐补正: the applicant was asked for missing materials (K2).
    CorrectionRequested,
    /// 受理: accepted.
    Accepted,
    /// 容缺受理: accepted with materials to follow (K5).
    AcceptedWithDeferredMaterials,
    /// 不予受理: rejected (K4).
    Rejected,
    /// 流转: sent to the handling hall.
    Transferred,
    /// 审批: under review at the handling hall.
    InReview,
    /// 办结: decided.
    Decided,
    /// 出件: the result issued at the accepting hall.
    Issued,
    /// 送达: delivered to the applicant.
    Delivered,
    /// 归档: archived.
    Archived,
}

/// The states, in lifecycle order, with labels.
pub const CASE_STATES: [(CaseState, &str); 11] = [
    (CaseState::Received, "收件"),
    (CaseState::CorrectionRequested, "补齐补正"),
    (CaseState::Accepted, "受理"),
    (CaseState::AcceptedWithDeferredMaterials, "容缺受理"),
    (CaseState::Rejected, "不予受理"),
    (CaseState::Transferred, "流转"),
    (CaseState::InReview, "审批"),
    (CaseState::Decided, "办结"),
    (CaseState::Issued, "出件"),
    (CaseState::Delivered, "送达"),
    (CaseState::Archived, "归档"),
];

impl CaseState {
    /// The name in records, the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Received => "received",
            CaseState::CorrectionRequested => "correction_requested",
            CaseState::Accepted => "accepted",
            CaseState::AcceptedWithDeferredMaterials => "accepted_with_deferred_materials",
            CaseState::Rejected => "rejected",
            CaseState::Transferred => "transferred",
            CaseState::InReview => "in_review",
            CaseState::Decided => "decided",
            CaseState::Issued => "issued",
            CaseState::Delivered => "delivered",
            CaseState::Archived => "archived",
        }
    }

    /// The state named `text`, if any.
    pub fn parse(text: &str) -> Option<CaseState> {
        CASE_STATES
            .iter()
            .map(|(s, _)| *s)
            .find(|s| s.as_str() == text)
    }

    /// Its label in Chinese.
    pub fn label(self) -> &'static str {
        CASE_STATES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("", |(_, l)| l)
    }
}

impl PartialEq<&str> for CaseState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for CaseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side signs a transition into a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The accepting hall (收件地).
    Accepting,
    /// The handling hall (办理地).
    Handling,
    /// Either.
    Either,
}

/// The legal transitions (YC 6.1–6.4) and who signs them.
pub const TRANSITIONS: [(CaseState, CaseState, Side); 13] = {
    use CaseState::*;
    [
        (Received, CorrectionRequested, Side::Accepting),
        (CorrectionRequested, Received, Side::Accepting),
        (Received, Accepted, Side::Accepting),
        (Received, AcceptedWithDeferredMaterials, Side::Accepting),
        (Received, Rejected, Side::Accepting),
        (Accepted, Transferred, Side::Accepting),
        (AcceptedWithDeferredMaterials, Transferred, Side::Accepting),
        (Transferred, InReview, Side::Handling),
        (InReview, Decided, Side::Handling),
        (Decided, Issued, Side::Accepting),
        (Issued, Delivered, Side::Accepting),
        (Delivered, Archived, Side::Either),
        (Rejected, Archived, Side::Either),
    ]
};

/// The side that signs the transition `from` → `to`, if it is legal.
pub fn side_of(from: CaseState, to: CaseState) -> Option<Side> {
    TRANSITIONS
        .iter()
        .find(|(f, t, _)| *f == from && *t == to)
        .map(|(_, _, s)| *s)
}

/// Prefix of transition keys.
pub const TRANSITION_PREFIX: &str = "t/";

/// The key of a case's personal part: the address (SHA-256) of the applicant, sealed to the parties
/// and kept beside the record (D3; issue #14; see the replica's `parts`).
pub const PERSONAL_KEY: &str = "personal";

/// The key of a case's erasure: when a party erased its personal parts (D1, retention), ms since
/// the Unix epoch. Takes effect once the case is archived (see the case views).
pub const ERASED_KEY: &str = "erased_at";

/// Largest sealed part, in bytes: the content bound and room for every recipient's wrap.
pub const PERSONAL_BYTES_MAX: usize = crate::seal::CONTENT_BYTES_MAX + 16 * 1024;

/// The applicant, as only the parties read it (inside the case's sealed personal part).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    /// The resident identity number, normalised (GB 11643).
    pub id: String,
    /// The name, as given (may be empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// Where a case's personal part belongs, bound into its sealing: a sealed part copied into another
/// case does not open.
pub fn personal_place(case: &str) -> String {
    format!("{case}#{PERSONAL_KEY}")
}

/// One signed transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The state it leaves.
    pub from: CaseState,
    /// The state it enters.
    pub to: CaseState,
    /// When the signer says it happened, ms since the Unix epoch (used for the acceptance date).
    pub at_ms: i64,
    /// Missing materials (correction requested, K2), or deferred ones (容缺, K5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<String>,
    /// Reason (rejection K4, decision outcome …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// 容缺受理: the day by which deferred materials must be supplied (K5), YYYY-MM-DD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_by: Option<String>,
    /// Issue: `window` (统一出件) or `mail` (free postal delivery, YC 6.3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The note (reasons, the decision's text), sealed to the parties: hex of the address of the
    /// sealed part (an encoded [`crate::seal::Sealed`] kept beside the record, bound to this
    /// transition's place, [`note_place`]). `note` is then empty. Material names stay readable:
    /// they are the public guide's, and K2/K5 check them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_note: Option<String>,
}

/// Where a transition's sealed note belongs: the case and the transition's key.
pub fn note_place(case: &str, key: &str) -> String {
    format!("{case}#{key}")
}

impl Transition {
    /// The key `signer` writes it under.
    pub fn key(&self, signer: &DeviceId) -> String {
        let digest = Sha256::digest(format!("{}>{}@{}", self.from, self.to, self.at_ms).as_bytes());
        format!(
            "{TRANSITION_PREFIX}{}/{}",
            signer.short(),
            hex::encode(&digest[..6])
        )
    }

    /// The stored value.
    pub fn to_value(&self) -> String {
        // Plain data always serializes.
        crate::encoding::json_text(self)
    }

    /// Parses a stored value.
    pub fn parse(text: &str) -> Option<Transition> {
        let t: Transition = serde_json::from_str(text).ok()?;
        let supply_ok = t
            .supply_by
            .as_deref()
            .is_none_or(|d| d.parse::<crate::calendar::Date>().is_ok());
        let mode_ok = t
            .mode
            .as_deref()
            .is_none_or(|m| matches!(m, "window" | "mail"));
        let sealed_ok = t.sealed_note.as_deref().is_none_or(|h| {
            h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        (t.materials.len() <= 200
            && t.note.chars().count() <= 2000
            && supply_ok
            && mode_ok
            && sealed_ok)
            .then_some(t)
    }
}

/// The write rule for case records. Header fields (`item`, `applicant_ref`, `case_no`, and the item's
/// `promised_days` and `statutory_days` when the case was taken in, K6) are written by
/// the accepting hall; each transition by the side that signs it.
pub(crate) fn authorize(
    ctx: &ChangeCtx<'_>,
    accepting: &HallId,
    handling: &HallId,
    writes: &[RootWrite],
) -> Result<(), Rejection> {
    fn of_hall<'a>(hall: &'a HallId) -> impl Fn(&crate::trust::cert::Certificate) -> bool + 'a {
        move |c| c.body.scope.allows(RecordKind::Stationing) && &c.body.hall == hall
    }
    for write in writes {
        if let Some(rest) = write.key.strip_prefix(TRANSITION_PREFIX) {
            let Some(ScalarValue::Str(text)) = &write.value else {
                return Err(Rejection::shape("a transition holds its JSON".into()));
            };
            let t = Transition::parse(text)
                .ok_or_else(|| Rejection::shape("not a case transition".into()))?;
            if t.key(ctx.author) != write.key || rest.is_empty() {
                return Err(Rejection::shape(
                    "transitions are written under the signer's own key".into(),
                ));
            }
            let side = side_of(t.from, t.to).ok_or_else(|| Rejection::Invalid {
                rule: crate::change::rejection::Rule::CaseStates,
                reason: format!("{} → {} is not a case transition (YC 6)", t.from, t.to),
            })?;
            let deny = || Rejection::OutOfScope {
                reason: format!(
                    "K13: {} → {} is signed by the {} hall; {} is not one of its people",
                    t.from,
                    t.to,
                    match side {
                        Side::Accepting => "accepting",
                        Side::Handling => "handling",
                        Side::Either => "accepting or handling",
                    },
                    ctx.author.short()
                ),
            };
            match side {
                Side::Accepting => ctx.require(of_hall(accepting), deny)?,
                Side::Handling => ctx.require(of_hall(handling), deny)?,
                Side::Either => {
                    ctx.require(|c| of_hall(accepting)(c) || of_hall(handling)(c), deny)?
                }
            }
        } else {
            let ok = match (write.key.as_str(), &write.value) {
                ("item" | "case_no" | "applicant_ref", Some(ScalarValue::Str(s))) => {
                    s.chars().count() <= 200
                }
                // K6: the item's limits when the case was taken in, kept with the case.
                ("promised_days" | "statutory_days", Some(ScalarValue::Int(n))) => {
                    (0..=i64::from(crate::calendar::LIMIT_DAYS_MAX)).contains(n)
                }
                // K11: the item's cross-region scope when the case was taken in.
                ("cross_region", Some(ScalarValue::Str(s))) => CrossRegion::from_code(s).is_some(),
                // The address of the applicant's sealed part: carriers keep and forward the part
                // unread.
                (PERSONAL_KEY, Some(ScalarValue::Bytes(b))) => b.len() == 32,
                // D1: the erasure, by either party (checked below).
                (ERASED_KEY, Some(ScalarValue::Int(n))) => *n >= 0,
                _ => false,
            };
            if !ok {
                return Err(Rejection::shape(format!(
                    "case field `{}` is not a case field",
                    write.key
                )));
            }
            if write.key == ERASED_KEY {
                ctx.require(
                    |c| of_hall(accepting)(c) || of_hall(handling)(c),
                    || Rejection::OutOfScope {
                        reason: format!(
                            "D1: a case's personal data is erased by one of its parties ({accepting}, {handling})"
                        ),
                    },
                )?;
                continue;
            }
            ctx.require(of_hall(accepting), || Rejection::OutOfScope {
                reason: format!("a case is opened by its accepting hall {accepting}"),
            })?;
        }
    }
    check_opening(ctx, accepting, handling, writes)
}

/// K11 at every receiver, on what the opening itself carries: an opening names the item's
/// cross-region scope as it stood when the case was taken in, a case between two halls needs a
/// scope that reaches, and the handling hall is a hall of the network (a certificate for it may
/// arrive later, so that refusal is retried). Whether the handling hall stations the item is
/// judged where its stationings are held: the opener's node, or the handling hall's on arrival.
fn check_opening(
    ctx: &ChangeCtx<'_>,
    accepting: &HallId,
    handling: &HallId,
    writes: &[RootWrite],
) -> Result<(), Rejection> {
    if !writes.iter().any(|w| w.key == "item") {
        return Ok(());
    }
    let scope = writes.iter().find_map(|w| match (&*w.key, &w.value) {
        ("cross_region", Some(ScalarValue::Str(s))) => CrossRegion::from_code(s),
        _ => None,
    });
    let Some(scope) = scope else {
        return Err(Rejection::Invalid {
            rule: Rule::K11,
            reason: "a case's opening carries the item's cross-region scope (K11)".into(),
        });
    };
    if accepting != handling && !scope.reaches_another_hall() {
        return Err(Rejection::Invalid {
            rule: Rule::K11,
            reason: format!(
                "K11 (DG 5.3.8): the item's cross-region scope is {scope} ({}); a case from hall {accepting} to hall {handling} is outside it",
                scope.zh()
            ),
        });
    }
    if !ctx.trust.halls().contains_key(handling) {
        return Err(Rejection::OutOfScope {
            reason: format!(
                "K11: hall {handling} is not a hall of this network (yet); the case waits for its certificate"
            ),
        });
    }
    Ok(())
}

/// The addresses of the sealed parts case document `doc` names (its applicant and every sealed
/// note), in key order: what a holder of the record should hold beside it, and what an erasure
/// erases. With `at`, as of those heads (every one held in `doc`).
pub fn named_parts(doc: &automerge::Automerge) -> Vec<[u8; 32]> {
    named_parts_at(doc, None)
}

/// [`named_parts`] as of `at`, when given.
pub fn named_parts_at(
    doc: &automerge::Automerge,
    at: Option<&[automerge::ChangeHash]>,
) -> Vec<[u8; 32]> {
    use automerge::ReadDoc;
    let keys: Vec<String> = match at {
        Some(heads) => doc.keys_at(automerge::ROOT, heads).collect(),
        None => doc.keys(automerge::ROOT).collect(),
    };
    let mut out = Vec::new();
    for key in keys {
        let value = match at {
            Some(heads) => doc.get_at(automerge::ROOT, &key, heads),
            None => doc.get(automerge::ROOT, &key),
        };
        let Ok(Some((automerge::Value::Scalar(value), _))) = value else {
            continue;
        };
        match value.as_ref() {
            ScalarValue::Bytes(b) if key == PERSONAL_KEY => {
                if let Ok(id) = <[u8; 32]>::try_from(b.as_slice()) {
                    out.push(id);
                }
            }
            ScalarValue::Str(text) if key.starts_with(TRANSITION_PREFIX) => {
                let id = Transition::parse(text)
                    .and_then(|t| t.sealed_note)
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
                out.extend(id);
            }
            _ => {}
        }
    }
    out
}
