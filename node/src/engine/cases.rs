//! Case commands: open a case, move it, list cases (with deadlines and overdue ones).

use super::response::*;
use hallsync_model::records::case::{side_of, CaseState, Side, Transition, CASE_STATES};
use hallsync_model::{DocId, HallId, ItemCode, ScalarValue};
use serde_json::Value;

use super::{now_ms, Engine};

use crate::error::NodeError;

/// Which cases a listing shows.
pub struct CaseFilter<'a> {
    /// Only overdue ones.
    pub overdue_only: bool,
    /// Only those in this state.
    pub state: Option<&'a str>,
    /// Only this applicant's (a party's lookup; a carrier finds none).
    pub applicant_id: Option<&'a str>,
}

impl Engine {
    /// Opens a case at this hall for `item`, handled at `handling` (K11: a case handled elsewhere needs
    /// a cross-region item). The applicant is sealed to both parties' devices (D3).
    ///
    /// # Errors
    /// Unknown item, K11, or a case number already used.
    pub fn case_open(
        &mut self,
        item: &str,
        handling: &str,
        case_no: &str,
        applicant_id: &str,
        applicant_name: &str,
    ) -> Result<Value, NodeError> {
        let accepting = HallId::new(&self.config.node.hall)?;
        let handling = HallId::new(handling)?;
        let code = ItemCode::new(item)?;
        let secrets = hallsync_model::entry::case::CaseSecrets {
            content_key: random32()?,
            ephemeral: random32()?,
        };
        let me = self.key.device_id();
        let opened = hallsync_model::entry::case::open(
            self.replica()?,
            &me,
            &hallsync_model::entry::case::CaseOpening {
                accepting: &accepting,
                handling: &handling,
                item: &code,
                case_no,
                applicant_id,
                applicant_name,
            },
            &secrets,
        )?;
        // The sealed applicant is on disk before the change that names it is committed.
        self.replica()?
            .keep_own_parts(&opened.parts)
            .map_err(NodeError::Store)?;
        let envelope = self.author(&opened.doc, &opened.writes)?;
        let mut out = Written::of(&envelope);
        out.note = opened.unchecked;
        Ok(encode(&out))
    }

    /// Moves a case from its current state to `to`, if that is a legal step this hall signs.
    ///
    /// # Errors
    /// An illegal step, or a step the other hall signs (K13).
    pub fn case_step(
        &mut self,
        case: &str,
        to: &str,
        materials: Vec<String>,
        note: String,
        supply_by: Option<String>,
        mode: Option<String>,
    ) -> Result<Value, NodeError> {
        let doc: DocId = case.parse()?;
        let me = HallId::new(&self.config.node.hall)?;
        let view = self
            .replica()?
            .case(&doc, None)
            .ok_or_else(|| NodeError::NotFound(format!("case {doc} is not held here")))?;
        let states = || {
            CASE_STATES
                .iter()
                .map(|(s, l)| format!("{s} {l}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let next = CaseState::parse(to).ok_or_else(|| {
            NodeError::NotAllowed(format!("`{to}` is not a case state; states: {}", states()))
        })?;
        let side = side_of(view.state, next).ok_or_else(|| {
            NodeError::NotAllowed(format!(
                "a case that is {} cannot become {to} (YC 6); states: {}",
                view.state,
                states()
            ))
        })?;
        let mine = match side {
            Side::Accepting => view.accepting == me.as_str(),
            Side::Handling => view.handling == me.as_str(),
            Side::Either => view.accepting == me.as_str() || view.handling == me.as_str(),
        };
        if !mine {
            return Err(NodeError::NotAllowed(format!(
                "K13: {} → {to} is signed by the {} hall, not by hall {me}",
                view.state,
                if side == Side::Handling {
                    "handling"
                } else {
                    "accepting"
                }
            )));
        }
        if to == "rejected" && note.trim().is_empty() {
            return Err(NodeError::NotAllowed(
                "K4 (行政许可法 32): a rejection needs its reason (--note)".into(),
            ));
        }
        if to == "correction_requested" && materials.is_empty() {
            return Err(NodeError::NotAllowed(
                "K2 (YC 6.1.3): the correction notice lists every missing material (--materials)"
                    .into(),
            ));
        }
        if to == "accepted_with_deferred_materials" {
            self.check_supply_by(&view.item, supply_by.as_deref())?;
        }
        if let Some(m) = mode.as_deref() {
            if to != "issued" || !matches!(m, "window" | "mail") {
                return Err(NodeError::NotAllowed(
                    "--mode is window or mail, for issued (YC 6.3.1–6.3.3)".into(),
                ));
            }
        }
        let mut t = Transition {
            from: view.state,
            to: next,
            at_ms: now_ms(),
            materials,
            note,
            supply_by,
            mode,
            sealed_note: None,
        };
        // D3: the note (a reason, the decision's text) is sealed to the parties.
        let secrets = hallsync_model::entry::case::CaseSecrets {
            content_key: random32()?,
            ephemeral: random32()?,
        };
        let part = hallsync_model::entry::case::seal_note(
            self.replica()?,
            &doc,
            &self.key.device_id(),
            &mut t,
            &secrets,
        )?;
        self.replica()?
            .keep_own_parts(part.as_slice())
            .map_err(NodeError::Store)?;
        let key = t.key(&self.key.device_id());
        let envelope = self.author(&doc, &[(key, ScalarValue::Str(t.to_value().into()))])?;
        let after = self.replica()?.case(&doc, Some(now_ms()));
        let mut out = Written::of(&envelope);
        out.case = after;
        Ok(encode(&out))
    }

    /// Opens the applicant of every sealed case of `cases` this hall is a party to, logging each
    /// display as asked by `by` (D2) before it is shown. A carrier's cases stay sealed.
    fn open_applicants(
        &self,
        cases: &mut [hallsync_model::cases::CaseView],
        by: &str,
    ) -> Result<(), NodeError> {
        let me = self.config.node.hall.as_str();
        let keys = self.held_open_keys()?;
        let replica = self.replica()?;
        let mut logged = Vec::new();
        for case in cases.iter_mut() {
            if !case.sealed || (case.accepting != me && case.handling != me) {
                continue;
            }
            let doc: DocId = case.doc.parse()?;
            let mut shown = |what: &str| {
                logged.push(super::access_log::AccessEntry {
                    at_ms: now_ms(),
                    case: case.doc.clone(),
                    what: what.into(),
                    by: by.to_string(),
                })
            };
            let mut problems = Vec::new();
            match replica.case_applicant(&doc, &keys) {
                Ok(Some(applicant)) => {
                    shown("applicant");
                    case.applicant = Some(applicant);
                }
                Ok(None) => {}
                Err(e) => problems.push(format!(
                    "D3: the applicant's data does not open on this device: {e}"
                )),
            }
            for step in case.history.iter_mut().filter(|s| s.sealed) {
                match replica.case_note(&doc, &step.key, &keys) {
                    Ok(Some(note)) => {
                        shown(&format!("note {} → {}", step.from, step.to));
                        step.note = note;
                    }
                    Ok(None) => {}
                    Err(e) => problems.push(format!(
                        "D3: the note of {} → {} does not open on this device: {e}",
                        step.from, step.to
                    )),
                }
            }
            case.warnings.extend(problems);
        }
        self.log_access(&logged)
    }

    /// K5: deferred materials are due on a given day within the item's promised limit.
    fn check_supply_by(&self, item: &str, supply_by: Option<&str>) -> Result<(), NodeError> {
        let by: hallsync_model::calendar::Date = supply_by
            .ok_or_else(|| {
                NodeError::NotAllowed(
                    "K5 (DG 5.2.7): give --supply-by, the day the deferred materials are due"
                        .into(),
                )
            })?
            .parse()
            .map_err(|e: hallsync_model::calendar::DateError| {
                NodeError::NotAllowed(e.to_string())
            })?;
        let replica = self.replica()?;
        let promised = replica
            .items()
            .into_iter()
            .find(|i| i.fields.code.as_str() == item)
            .map(|i| i.fields.promised_days)
            .unwrap_or(0);
        let today = hallsync_model::calendar::Date::from_unix_ms(now_ms());
        let limit = replica
            .calendar()
            .add_working_days(today, u32::try_from(promised).unwrap_or(0));
        if by > limit.due {
            return Err(NodeError::NotAllowed(format!(
                "K5 (DG 5.2.7): deferred materials must be supplied within the promised limit, by {} at the latest",
                limit.due
            )));
        }
        Ok(())
    }

    /// Every case held, with deadlines; only overdue ones with `overdue_only`.
    ///
    /// # Errors
    /// Not joined.
    pub fn case_list(
        &self,
        filter: &CaseFilter<'_>,
        by: &str,
        request: &hallsync_model::page::PageRequest,
    ) -> Result<Value, NodeError> {
        let (overdue_only, state) = (filter.overdue_only, filter.state);
        let person = filter
            .applicant_id
            .map(hallsync_model::entry::applicant::normalise)
            .transpose()?;
        let keys = if person.is_some() {
            self.held_open_keys()?
        } else {
            Vec::new()
        };
        let replica = self.replica()?;
        let calendar = replica.calendar();
        let now = Some(now_ms());
        let page = replica.page(
            request,
            |id| matches!(id.kind(), hallsync_model::DocKind::Case(..)),
            |id, s| {
                replica
                    .case_view(id, s, &calendar, now)
                    .filter(|c| !overdue_only || c.overdue)
                    .filter(|c| state.is_none_or(|want| c.state == want))
                    .filter(|_| {
                        person
                            .as_deref()
                            .is_none_or(|p| replica.case_is_of(id, p, &keys).unwrap_or(false))
                    })
            },
        );
        let mut cases = page.entries;
        self.open_applicants(&mut cases, by)?;
        Ok(encode(&CasesPage {
            cases,
            next: page.next,
        }))
    }
}

/// 32 bytes from the OS RNG.
fn random32() -> Result<[u8; 32], NodeError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| NodeError::Store(format!("no randomness: {e}")))?;
    Ok(bytes)
}
