//! Window staff filings (窗口人员备案, ST 6, 9; DG 6.3): one governed record per person at a hall,
//! proposed by the hall and approved by its supervising tier like a stationing.
//!
//! A filing moves `filed` → `trained` → `on_duty` → `left` by dated fields. The rules (P1–P4):
//! nobody goes on duty untrained (P1, ST 6.2.2, enforced); a window lead is the department's business
//! lead or higher (P2, ST 6.1.3, enforced); leaving within a year of going on duty is warned (P3, ST
//! 6.3.2); and first in, then out (P4, ST 6.3.3): a departure takes effect only if someone else is on
//! duty at that window on that day. Concurrent departures resolve deterministically: per window they
//! are taken in order of leave date, then person id, and one that would empty the window is held.

use automerge::ScalarValue;
use serde::{Deserialize, Serialize};

use crate::calendar::Date;
use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::hall::is_short_token;
use crate::hall::HallId;
use crate::records::authority::ChangeCtx;
use crate::records::fields::{Field, FieldTable};
use crate::trust::cert::RecordKind;

/// Staff roles (DG 5.2.9, 6.3.2 b).
pub const STAFF_ROLES: [(&str, &str); 3] = [
    ("window_staff", "窗口人员"),
    ("window_lead", "窗口负责人"),
    ("chief_representative", "首席事务代表"),
];

/// Reasons for leaving (ST 6.3.2; DG 6.3.4).
pub const LEAVE_REASONS: [(&str, &str); 4] = [
    ("appointment", "职务任免"),
    ("dismissal", "辞退"),
    ("returned_unfit", "退回原单位"),
    ("other", "其他"),
];

/// One person's filing as entered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffFields {
    /// A pseudonymous id, unique at the hall.
    pub person: String,
    /// Name, shown at the window (SC 5.3.1).
    pub name: String,
    /// 工号.
    #[serde(default)]
    pub job_no: String,
    /// The id of the stationed department (the `dept` of its filing at this hall, ST 6.2.1).
    pub department: String,
    /// The window (窗口) the person serves.
    pub window: String,
    /// One of [`STAFF_ROLES`].
    pub role: String,
    /// The department's business lead or higher (needed for a window lead, P2).
    #[serde(default)]
    pub is_business_lead: bool,
    /// Certificates for posts that need them (ST 6.1.2).
    #[serde(default)]
    pub certificates: String,
    /// Joint training done (ST 6.2.2).
    #[serde(default)]
    pub trained_on: Option<String>,
    /// Reported for duty (ST 6.2.3).
    #[serde(default)]
    pub on_duty_from: Option<String>,
    /// Left the window.
    #[serde(default)]
    pub left_on: Option<String>,
    /// Why, one of [`LEAVE_REASONS`].
    #[serde(default)]
    pub leave_reason: Option<String>,
    /// The person this one replaces (adjustment filing, ST 9.1).
    #[serde(default)]
    pub replaces: Option<String>,
}

impl StaffFields {
    /// Checks P1, P2 and the shapes.
    ///
    /// # Errors
    /// The rule broken, by id and clause.
    pub fn validate(&self) -> Result<(), String> {
        if !is_short_token(&self.person, 40)
            || !is_short_token(&self.window, 40)
            || !is_short_token(&self.department, 40)
        {
            return Err(
                "person, department and window ids are short tokens (letters, digits, '-')".into(),
            );
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err("name must have 1 to 200 characters".into());
        }
        if !STAFF_ROLES.iter().any(|(r, _)| *r == self.role) {
            return Err(format!(
                "role `{}`: use window_staff, window_lead or chief_representative",
                self.role
            ));
        }
        if self.role == "window_lead" && !self.is_business_lead {
            return Err(
                "P2 (ST 6.1.3): a window lead must be the department's business lead or higher"
                    .into(),
            );
        }
        let date = |v: &Option<String>| {
            v.as_deref()
                .map(|t| t.parse::<Date>().map_err(|e| e.to_string()))
                .transpose()
        };
        let trained = date(&self.trained_on)?;
        let on_duty = date(&self.on_duty_from)?;
        let left = date(&self.left_on)?;
        if on_duty.is_some() && trained.is_none_or(|t| Some(t) > on_duty) {
            return Err(
                "P1 (ST 6.2.2): joint training must be done before reporting for duty".into(),
            );
        }
        if left.is_some() && on_duty.is_none_or(|d| Some(d) > left) {
            return Err("only someone on duty can leave, on or after the day they started".into());
        }
        if let Some(reason) = &self.leave_reason {
            if !LEAVE_REASONS.iter().any(|(r, _)| r == reason) {
                return Err(format!(
                    "leave reason `{reason}`: use appointment, dismissal, returned_unfit or other"
                ));
            }
        }
        Ok(())
    }

    /// The root writes of every field that is set.
    pub fn writes(&self) -> Vec<(String, ScalarValue)> {
        let s = |t: &str| ScalarValue::Str(t.into());
        let mut out = vec![
            ("person".to_string(), s(&self.person)),
            ("name".into(), s(&self.name)),
            ("job_no".into(), s(&self.job_no)),
            ("department".into(), s(&self.department)),
            ("window".into(), s(&self.window)),
            ("role".into(), s(&self.role)),
            (
                "is_business_lead".into(),
                ScalarValue::Boolean(self.is_business_lead),
            ),
            ("certificates".into(), s(&self.certificates)),
        ];
        for (k, v) in [
            ("trained_on", &self.trained_on),
            ("on_duty_from", &self.on_duty_from),
            ("left_on", &self.left_on),
            ("leave_reason", &self.leave_reason),
            ("replaces", &self.replaces),
        ] {
            if let Some(v) = v {
                out.push((k.to_string(), s(v)));
            }
        }
        out
    }
}

/// The write rule for staff filings' content: the hall's own people, fields of the right shape.
pub(crate) fn authorize_content(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    person: &str,
    writes: &[RootWrite],
) -> Result<(), Rejection> {
    ctx.require_hall_people(hall, RecordKind::Staff, || Rejection::OutOfScope {
        reason: format!(
            "{} holds no certificate for hall {hall} with staff filings in scope",
            ctx.author.short()
        ),
    })?;
    STAFF_FIELDS.check_writes(&[("person", person)], writes, None)
}

/// The staff filing's fields.
const STAFF_FIELDS: FieldTable = FieldTable {
    label: "staff",
    fields: &[
        ("person", Field::Id("person")),
        ("name", Field::Text(500)),
        ("department", Field::Token(40)),
        ("job_no", Field::Text(500)),
        ("certificates", Field::Text(500)),
        ("window", Field::Token(40)),
        ("replaces", Field::Token(40)),
        ("role", Field::OneOf(&STAFF_ROLES)),
        ("leave_reason", Field::OneOf(&LEAVE_REASONS)),
        ("trained_on", Field::Date),
        ("on_duty_from", Field::Date),
        ("left_on", Field::Date),
        ("is_business_lead", Field::Bool),
    ],
};
