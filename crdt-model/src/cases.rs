//! The effective state of cases: transitions replayed in a fixed order.
//!
//! Order: causal depth first (a transition is replayed after every transition it depends on), then
//! the signed time, then the change hash. Replay starts at `received` (the case record's opening)
//! and applies a transition only if it leaves the current state by a legal edge; any other is kept in
//! the history as superseded. Two halls that concurrently move a case (one accepts, one rejects)
//! therefore see the same outcome everywhere, and the applied path never skips a state. K2 (one
//! correction notice) and K5 (defer only deferrable materials) are applied in the replay too; K6 (due
//! date in working days from acceptance) uses the replicated calendar.

use std::collections::BTreeMap;

use automerge::{ChangeHash, ScalarValue};
use serde::{Deserialize, Serialize};

use crate::calendar::Date;
use crate::change::ops::root_writes;
use crate::doc_id::{DocId, DocKind};
use crate::effective::text_at;
use crate::records::case::{side_of, CaseState, Transition, TRANSITION_PREFIX};
use crate::replica::{DocState, Replica};

/// One transition as replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    /// Left.
    pub from: CaseState,
    /// Entered.
    pub to: CaseState,
    /// The signer's time.
    pub at_ms: i64,
    /// The signer.
    pub by: String,
    /// Materials named (K2, K5).
    pub materials: Vec<String>,
    /// Deferred materials due by (K5).
    pub supply_by: Option<String>,
    /// Issue mode: window or mail.
    pub mode: Option<String>,
    /// Note: empty where it is sealed and not opened here.
    pub note: String,
    /// The note is sealed to the parties (see [`Replica::case_note`]).
    #[serde(default)]
    pub sealed: bool,
    /// The transition's key in the case record (names it, and binds its sealed note).
    #[serde(default)]
    pub key: String,
    /// True when it took effect.
    pub applied: bool,
    /// Why not, when it did not.
    pub why_not: Option<String>,
}

/// A case as every party sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    /// The record id.
    pub doc: String,
    /// 收件地.
    pub accepting: String,
    /// 办理地.
    pub handling: String,
    /// Case number.
    pub case_no: String,
    /// The item.
    pub item: String,
    /// A keyed hash of the applicant's id, under a key only the parties hold (D rules).
    pub applicant_ref: String,
    /// The case carries a personal part sealed to its parties (carriers hold it unread).
    #[serde(default)]
    pub sealed: bool,
    /// When a party erased the case's personal data (D1: archived, retention passed); its sealed
    /// parts are then gone from every store the erasure reached, and the rest of the case stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<i64>,
    /// When the case was archived (the applied transition's signed time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<i64>,
    /// The applicant, opened: only in a party's own answer, never replicated (see
    /// [`Replica::case_applicant`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<crate::records::case::Applicant>,
    /// The current state.
    pub state: CaseState,
    /// Every transition, applied or superseded, in replay order.
    pub history: Vec<StepView>,
    /// The day it was accepted (K6 clock start).
    pub accepted_on: Option<String>,
    /// Due: promised working days after acceptance (K6).
    pub due: Option<String>,
    /// True when the due date rests on an unpublished year (W6).
    pub provisional: bool,
    /// Working days left until due (negative when past), when asked with a time.
    pub working_days_left: Option<i64>,
    /// Past due and not yet decided.
    pub overdue: bool,
    /// What a rule says about the case that this node could judge and the opener's could not:
    /// K11, the handling hall does not station the item (seen where its stationings are held).
    pub warnings: Vec<String>,
}

fn depths(state: &DocState) -> BTreeMap<ChangeHash, usize> {
    let mut depth = BTreeMap::new();
    // `order` is the order applied, which respects dependencies.
    for hash in &state.order {
        let d = state
            .deps
            .get(hash)
            .into_iter()
            .flatten()
            .filter_map(|p| depth.get(p))
            .max()
            .map_or(0, |m| m + 1);
        depth.insert(*hash, d);
    }
    depth
}

const DECIDED_OR_LATER: [CaseState; 4] = [
    CaseState::Decided,
    CaseState::Issued,
    CaseState::Delivered,
    CaseState::Archived,
];

impl Replica {
    /// Every case held, with deadlines as of `now_ms` when given. Opens every case: listings use
    /// [`Replica::page`] with [`Replica::case_view`].
    pub fn cases(&self, now_ms: Option<i64>) -> Vec<CaseView> {
        let calendar = self.calendar();
        self.records_where(|id| matches!(id.kind(), DocKind::Case(..)))
            .filter_map(|(id, state)| self.case_view(id, &state, &calendar, now_ms))
            .collect()
    }

    /// One case's view: its transitions replayed, its deadline as of `now_ms` when given.
    pub fn case_view(
        &self,
        id: &DocId,
        state: &crate::replica::DocState,
        calendar: &crate::calendar::Calendar,
        now_ms: Option<i64>,
    ) -> Option<CaseView> {
        let DocKind::Case(accepting, handling, case_no) = id.kind() else {
            return None;
        };
        let item = text_at(state.doc(), "item", None).unwrap_or_default();
        let item_view = self.item(&item);
        let item_view = item_view.as_ref();
        let depth = depths(state);
        let mut steps: Vec<(usize, i64, ChangeHash, String, Transition, String)> = Vec::new();
        for (envelope, change) in state.applied_changes() {
            for w in root_writes(&change).unwrap_or_default() {
                if let (true, Some(ScalarValue::Str(text))) =
                    (w.key.starts_with(TRANSITION_PREFIX), &w.value)
                {
                    if let Some(t) = Transition::parse(text) {
                        steps.push((
                            depth.get(&change.hash()).copied().unwrap_or(0),
                            t.at_ms,
                            change.hash(),
                            envelope.author.to_string(),
                            t,
                            w.key.clone(),
                        ));
                    }
                }
            }
        }
        steps.sort_by_key(|s| (s.0, s.1, s.2));
        let mut current = CaseState::Received;
        let mut corrections = 0;
        let mut accepted_at = None;
        let mut archived_at = None;
        let mut history = Vec::new();
        for (_, _, _, by, t, key) in steps {
            let why_not = if t.from != current {
                Some(format!("superseded: the case was already {current} (concurrent transitions resolve in causal, then time order)"))
            } else if side_of(t.from, t.to).is_none() {
                Some("not a legal transition (YC 6)".into())
            } else if t.to == CaseState::CorrectionRequested && corrections > 0 {
                Some("K2 (YC 6.1.3): one correction notice lists every missing material; a second is not allowed".into())
            } else if t.to == CaseState::AcceptedWithDeferredMaterials && t.supply_by.is_none() {
                Some("K5 (DG 5.2.7): a 容缺 acceptance sets the day by which the deferred materials are supplied".into())
            } else if t.to == CaseState::AcceptedWithDeferredMaterials
                && !t.materials.iter().all(|m| {
                    item_view.is_some_and(|i| {
                        i.fields
                            .materials
                            .iter()
                            .any(|x| (x.id == *m || x.name == *m) && x.deferrable)
                    })
                })
            {
                Some("K5 (DG 5.2.7): only materials on the item's deferrable list may be supplied later".into())
            } else {
                None
            };
            let applied = why_not.is_none();
            if applied {
                if t.to == CaseState::CorrectionRequested {
                    corrections += 1;
                }
                if matches!(
                    t.to,
                    CaseState::Accepted | CaseState::AcceptedWithDeferredMaterials
                ) {
                    accepted_at = Some(t.at_ms);
                }
                if t.to == CaseState::Archived {
                    archived_at = Some(t.at_ms);
                }
                current = t.to;
            }
            history.push(StepView {
                from: t.from,
                to: t.to,
                at_ms: t.at_ms,
                by,
                materials: t.materials,
                supply_by: t.supply_by,
                mode: t.mode,
                note: t.note,
                sealed: t.sealed_note.is_some(),
                key,
                applied,
                why_not,
            });
        }
        let accepted_on = accepted_at.map(Date::from_unix_ms);
        // K6: the limit the case was taken in under; a case from before it was kept with the case
        // falls back to the item's current limit.
        let promised = text_at(state.doc(), "promised_days", None)
            .and_then(|t| t.parse::<i64>().ok())
            .or_else(|| item_view.map(|i| i.fields.promised_days));
        let deadline = accepted_on
            .zip(promised)
            .map(|(d, days)| calendar.add_working_days(d, u32::try_from(days).unwrap_or(0)));
        let decided = DECIDED_OR_LATER.contains(&current);
        let left = deadline
            .zip(now_ms)
            .map(|(dl, now)| calendar.working_days_between(Date::from_unix_ms(now), dl.due));
        let overdue = !decided
            && deadline
                .zip(now_ms)
                .is_some_and(|(dl, now)| Date::from_unix_ms(now) > dl.due);
        let warnings = self.handling_warning(handling, &item).into_iter().collect();
        Some(CaseView {
            doc: id.to_string(),
            accepting: accepting.to_string(),
            handling: handling.to_string(),
            case_no: case_no.clone(),
            item,
            applicant_ref: text_at(state.doc(), "applicant_ref", None).unwrap_or_default(),
            sealed: personal_id(state).is_some(),
            erased_at: (current == CaseState::Archived)
                .then(|| text_at(state.doc(), crate::records::case::ERASED_KEY, None))
                .flatten()
                .and_then(|t| t.parse::<i64>().ok()),
            archived_at,
            applicant: None,
            state: current,
            history,
            accepted_on: accepted_on.map(|d| d.to_string()),
            due: deadline.map(|d| d.due.to_string()),
            provisional: deadline.is_some_and(|d| d.provisional),
            working_days_left: left,
            overdue,
            warnings,
        })
    }

    /// K11 where the handling hall's stationings are held: the opener's node may not have held
    /// them, so a case for an item the handling hall does not station is flagged here. Unknown
    /// (nothing said) where no stationing of that hall is held.
    fn handling_warning(&self, handling: &crate::hall::HallId, item: &str) -> Option<String> {
        let code = crate::doc_id::ItemCode::new(item).ok()?;
        let offered = match self.station(handling, &code) {
            Some(view) => view.effective_action.is_some_and(|a| a.offers()),
            None => !self
                .held_ids()
                .any(|id| matches!(id.kind(), DocKind::Station(hall, _) if hall == handling)),
        };
        (!offered).then(|| {
            format!("K11 (DG 5.3.8): item {item} is not stationed at handling hall {handling}; send the case back to the accepting hall or station the item")
        })
    }

    /// The applicant of case `doc`, opened with whichever of `keys` it was sealed to: for a party's
    /// own display (which the node logs, D2). `Ok(None)` for a case without a sealed part.
    ///
    /// # Errors
    /// [`SealError::NotARecipient`] at a carrier (or a party whose keys are gone), or
    /// [`SealError::Tampered`] for a part that does not open at this place.
    pub fn case_applicant(
        &self,
        doc: &DocId,
        keys: &[crate::seal::OpenKey],
    ) -> Result<Option<crate::records::case::Applicant>, crate::seal::SealError> {
        let Some((sealed, place, _)) = self.sealed_personal(doc)? else {
            return Ok(None);
        };
        let content = sealed.open(place.as_bytes(), keys)?;
        serde_json::from_slice(&content)
            .map(Some)
            .map_err(|_| crate::seal::SealError::Tampered)
    }

    /// Whether case `doc`'s applicant is the person with the (normalised) id `id`, judged by the
    /// case's keyed reference under its content key, unwrapped with `keys`: a party's lookup. A
    /// carrier cannot unwrap the key, so it can neither look up nor enumerate (`Ok(false)` for a
    /// case without a sealed part).
    ///
    /// # Errors
    /// As [`Replica::case_applicant`].
    pub fn case_is_of(
        &self,
        doc: &DocId,
        id: &str,
        keys: &[crate::seal::OpenKey],
    ) -> Result<bool, crate::seal::SealError> {
        let Some((sealed, place, reference)) = self.sealed_personal(doc)? else {
            return Ok(false);
        };
        let key = sealed.content_key(place.as_bytes(), keys)?;
        Ok(crate::entry::applicant::reference(&key, id) == reference)
    }

    /// Case `doc`'s sealed personal part, the place it is bound to, and the applicant reference;
    /// `None` for a case not held, without one, or whose part is not held here (erased, or not
    /// arrived yet).
    fn sealed_personal(
        &self,
        doc: &DocId,
    ) -> Result<Option<(crate::seal::Sealed, String, String)>, crate::seal::SealError> {
        let Some(state) = self.record(doc) else {
            return Ok(None);
        };
        let Some(sealed) = personal_id(&state).and_then(|id| self.sealed_part(&id)) else {
            return Ok(None);
        };
        let sealed = sealed?;
        let reference = text_at(state.doc(), "applicant_ref", None).unwrap_or_default();
        Ok(Some((
            sealed,
            crate::records::case::personal_place(doc.as_str()),
            reference,
        )))
    }

    /// The note of case `doc`'s transition `key`, opened with whichever of `keys` it was sealed
    /// to (a party's own display, which the node logs). `Ok(None)` when it has no sealed note.
    ///
    /// # Errors
    /// As [`Replica::case_applicant`].
    pub fn case_note(
        &self,
        doc: &DocId,
        key: &str,
        keys: &[crate::seal::OpenKey],
    ) -> Result<Option<String>, crate::seal::SealError> {
        let Some(state) = self.record(doc) else {
            return Ok(None);
        };
        let Some(t) = text_at(state.doc(), key, None).and_then(|v| Transition::parse(&v)) else {
            return Ok(None);
        };
        let Some(hex_text) = t.sealed_note else {
            return Ok(None);
        };
        let id: crate::replica::parts::PartId = hex::decode(hex_text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(crate::seal::SealError::Tampered)?;
        let Some(sealed) = self.sealed_part(&id) else {
            return Ok(None);
        };
        let sealed = sealed?;
        let place = crate::records::case::note_place(doc.as_str(), key);
        let note = sealed.open(place.as_bytes(), keys)?;
        String::from_utf8(note)
            .map(Some)
            .map_err(|_| crate::seal::SealError::Tampered)
    }

    /// One case.
    pub fn case(&self, doc: &DocId, now_ms: Option<i64>) -> Option<CaseView> {
        let state = self.record(doc)?;
        self.case_view(doc, &state, &self.calendar(), now_ms)
    }
}

impl Replica {
    /// The held part `id`, decoded; `None` when it is not held here.
    fn sealed_part(
        &self,
        id: &crate::replica::parts::PartId,
    ) -> Option<Result<crate::seal::Sealed, crate::seal::SealError>> {
        let bytes = self.parts.get(id).ok().flatten()?;
        Some(postcard::from_bytes(&bytes).map_err(|_| crate::seal::SealError::Tampered))
    }
}

/// The address of the case's sealed personal part, if it has one.
fn personal_id(state: &DocState) -> Option<crate::replica::parts::PartId> {
    personal_bytes(state).and_then(|b| b.try_into().ok())
}

/// The `personal` field's bytes, if the case has one.
fn personal_bytes(state: &DocState) -> Option<Vec<u8>> {
    use automerge::ReadDoc;
    match state
        .doc()
        .get(automerge::ROOT, crate::records::case::PERSONAL_KEY)
        .ok()??
        .0
    {
        automerge::Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Bytes(b) => Some(b.clone()),
            _ => None,
        },
        automerge::Value::Object(_) => None,
    }
}
