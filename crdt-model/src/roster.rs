//! The staff roster of a hall: every person's approved filing, with first-in-then-out applied.
//!
//! Per window, departures are taken in order of leave date, then person id; a departure takes
//! effect only if someone else is on duty at that window on that day (P4, 先进后出, ST 6.3.3), so two
//! concurrent departures of a window's last two people resolve the same way on every replica: the
//! later one in that order is held, and that person stays on duty until a replacement reports.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use crate::calendar::Date;
use crate::doc_id::{DocId, DocKind};
use crate::effective::{proposal, text_at, Proposal};
use crate::hall::HallId;
use crate::records::staff::StaffFields;
use crate::replica::Replica;
use crate::trust::cert::RecordKind;

/// One person as the roster shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    /// The hall.
    pub hall: String,
    /// The approved filing (`None` while only proposed).
    pub filing: Option<StaffFields>,
    /// `filed`, `trained`, `on_duty`, `left`, or `proposed` (nothing approved yet).
    pub state: String,
    /// Set when the approved departure is held by first-in-then-out (P4).
    pub held: Option<String>,
    /// The day the person left, when they have: the day asked for, or the later day a replacement
    /// went on duty at their window (P4).
    pub left_effective_on: Option<String>,
    /// Warnings (P3: leaving within a year).
    pub warnings: Vec<String>,
    /// A change awaiting approval.
    pub pending: Option<Proposal>,
}

fn fields_at(doc: &automerge::Automerge, heads: &[ChangeHash]) -> Option<StaffFields> {
    let t = |k: &str| text_at(doc, k, Some(heads));
    let flag = |k: &str| -> bool {
        matches!(
            automerge::ReadDoc::get_at(doc, automerge::ROOT, k, heads),
            Ok(Some((automerge::Value::Scalar(v), _))) if matches!(v.as_ref(), automerge::ScalarValue::Boolean(true))
        )
    };
    Some(StaffFields {
        person: t("person")?,
        name: t("name").unwrap_or_default(),
        job_no: t("job_no").unwrap_or_default(),
        department: t("department").unwrap_or_default(),
        window: t("window").unwrap_or_default(),
        role: t("role").unwrap_or_default(),
        is_business_lead: flag("is_business_lead"),
        certificates: t("certificates").unwrap_or_default(),
        trained_on: t("trained_on"),
        on_duty_from: t("on_duty_from"),
        left_on: t("left_on"),
        leave_reason: t("leave_reason"),
        replaces: t("replaces"),
    })
}

fn date(v: &Option<String>) -> Option<Date> {
    v.as_deref().and_then(|t| t.parse().ok())
}

impl Replica {
    /// The roster of `hall` (or of every hall held), with first-in-then-out applied.
    pub fn roster(&self, hall: Option<&HallId>) -> Vec<StaffView> {
        let mut views: Vec<StaffView> = Vec::new();
        // Only the hall's records are opened (opening one builds its document).
        let wanted = |id: &DocId| match id.kind() {
            DocKind::Staff(h, _) => hall.is_none_or(|want| want == h),
            _ => false,
        };
        for (id, state) in self.records_where(wanted) {
            let state = &*state;
            let DocKind::Staff(h, _) = id.kind() else {
                continue;
            };
            if hall.is_some_and(|want| want != h) {
                continue;
            }
            let (g, policy) = self.governed(state, h, "staff", RecordKind::Staff);
            let heads: Vec<ChangeHash> = g.effective.iter().copied().collect();
            let filing = if heads.is_empty() {
                None
            } else {
                fields_at(state.doc(), &heads)
            };
            let action = text_at(state.doc(), "person", None).unwrap_or_default();
            let pending = proposal(id, state, &g, policy, h.to_string(), action, "staff".into());
            views.push(StaffView {
                hall: h.to_string(),
                filing,
                state: String::new(),
                held: None,
                left_effective_on: None,
                warnings: Vec::new(),
                pending,
            });
        }
        // S8 (ST 7): a withdrawn department's window staff leave with it, on the day the
        // withdrawal was approved; its windows close, so first-in-then-out does not hold them.
        let withdrawn: BTreeMap<(String, String), Date> = self
            .departments(hall)
            .into_iter()
            .filter_map(|d| {
                let on: Date = d.withdrawn_on?.parse().ok()?;
                Some(((d.hall, d.dept), on))
            })
            .collect();
        apply_first_in_then_out(&mut views, &withdrawn);
        views
    }
}

/// Sets each view's state, holding departures that would leave a window empty (P4) and warning on
/// departures within a year (P3).
fn apply_first_in_then_out(views: &mut [StaffView], withdrawn: &BTreeMap<(String, String), Date>) {
    // Departures per (hall, window), in the fixed order (leave date, person).
    let mut departures: Vec<(String, String, Date, String, usize)> = views
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let f = v.filing.as_ref()?;
            Some((
                v.hall.clone(),
                f.window.clone(),
                date(&f.left_on)?,
                f.person.clone(),
                i,
            ))
        })
        .collect();
    departures.sort();
    let mut gone: BTreeMap<usize, Date> = BTreeMap::new();
    let mut released: BTreeMap<usize, (Date, Date)> = BTreeMap::new();
    let mut with_department: BTreeMap<usize, String> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        let Some(f) = &v.filing else { continue };
        if let Some(on) = withdrawn.get(&(v.hall.clone(), f.department.clone())) {
            let on = date(&f.left_on).map_or(*on, |asked| asked.min(*on));
            gone.insert(i, on);
            with_department.insert(i, f.department.clone());
        }
    }
    departures.retain(|d| !gone.contains_key(&d.4));
    for (hall, window, left, _, i) in &departures {
        // Covered on the day asked: someone else is on duty at the window by then and has not left
        // (departures earlier in the order are settled). Else released on the first later day a
        // replacement goes on duty there — one who has not asked to leave by that day, so the
        // window is never left empty whatever is settled after.
        let others = || {
            views
                .iter()
                .enumerate()
                .filter(|(j, v)| *j != *i && v.hall == *hall)
                .filter_map(|(j, v)| {
                    let f = v.filing.as_ref()?;
                    (f.window == *window).then_some((j, f))
                })
        };
        let on_the_day = others().any(|(j, f)| {
            date(&f.on_duty_from).is_some_and(|d| d <= *left)
                && gone.get(&j).is_none_or(|g| g > left)
        });
        let cover = if on_the_day {
            Some(*left)
        } else {
            others()
                .filter_map(|(j, f)| {
                    let from = date(&f.on_duty_from)?;
                    let stays = date(&f.left_on).is_none_or(|l| l > from)
                        && gone.get(&j).is_none_or(|g| *g > from);
                    (from > *left && stays).then_some(from)
                })
                .min()
        };
        match cover {
            Some(on) => {
                gone.insert(*i, on);
                if on > *left {
                    released.insert(*i, (*left, on));
                }
            }
            None => {
                views[*i].held = Some(format!(
                    "P4 先进后出 (ST 6.3.3): leaving on {left} would leave window {window} with nobody on duty; held until a replacement is on duty"
                ));
            }
        }
    }
    for (i, department) in with_department {
        views[i].warnings.push(format!(
            "S8 (ST 7): left with the withdrawal of department {department}"
        ));
    }
    for (i, (asked, on)) in released {
        views[i].warnings.push(format!(
            "P4 先进后出 (ST 6.3.3): asked to leave on {asked}, held until a replacement went on duty; left on {on}"
        ));
    }
    for (i, v) in views.iter_mut().enumerate() {
        let Some(f) = &v.filing else {
            v.state = "proposed".into();
            continue;
        };
        v.left_effective_on = gone.get(&i).map(Date::to_string);
        v.state = if gone.contains_key(&i) {
            "left"
        } else if f.on_duty_from.is_some() {
            "on_duty"
        } else if f.trained_on.is_some() {
            "trained"
        } else {
            "filed"
        }
        .into();
        if let (Some(start), Some(left)) = (date(&f.on_duty_from), gone.get(&i)) {
            if start.days_until(left) < 365 {
                v.warnings.push(format!("P3 (ST 6.3.2): left after {} days on duty; staff stay at least one year in principle", start.days_until(left)));
            }
        }
    }
}
