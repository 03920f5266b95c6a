//! Departments stationed at a hall (部门进驻/撤离, ST 4, 7; DG 6.2): one governed record per department
//! and hall, proposed by the hall and approved by its supervising tier.
//!
//! S7 (ST 4.2.1–4.2.2): stationing needs an approved stationing plan (进驻方案), a letter of
//! authorisation (授权委托书) and the filing form; every receiver refuses an approval of a stationing
//! that lacks one. S8 (ST 7): a withdrawal needs a written application and the archives handover
//! recorded; receivers refuse approving one without them, and the node refuses to propose it while
//! the department still has stationed items or staff on duty at the hall.

use automerge::ScalarValue;
use serde::{Deserialize, Serialize};

use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::hall::{is_short_token, HallId};
use crate::records::authority::ChangeCtx;
use crate::records::fields::{Field, FieldTable};
use crate::records::item_code::uscc_problem;
use crate::records::station::DocHistory;
use crate::records::vocabulary::vocabulary;
use crate::trust::cert::RecordKind;

vocabulary! {
    /// What a department filing does at a hall (ST 4, 7).
    pub enum DepartmentAction ("department action") {
        /// 进驻: the department comes to the hall (S7).
        Station = ("station", "进驻"),
        /// 撤离: it leaves (S8).
        Withdraw = ("withdraw", "撤离"),
    }
}

impl Default for DepartmentAction {
    /// A new filing stations the department; a withdrawal says so.
    fn default() -> Self {
        DepartmentAction::Station
    }
}

vocabulary! {
    /// Where a department stands at a hall, as approved.
    pub enum DepartmentStatus ("department status") {
        /// 已进驻: its stationing is approved.
        Stationed = ("stationed", "已进驻"),
        /// 已撤离: its withdrawal is approved.
        Withdrawn = ("withdrawn", "已撤离"),
        /// 待审批: only proposed.
        Proposed = ("proposed", "待审批"),
    }
}

/// A department's filing at a hall.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentFields {
    /// A short id for the department at this hall.
    pub dept: String,
    /// Its name, as items name their department (实施主体).
    pub name: String,
    /// Its unified social credit code (GB 32100), if given.
    #[serde(default)]
    pub uscc: String,
    /// Stationing or withdrawal.
    pub action: DepartmentAction,
    /// 进驻方案 (ST Annex A): its reference.
    #[serde(default)]
    pub plan: String,
    /// 授权委托书 (ST Annex B).
    #[serde(default)]
    pub authorization_letter: String,
    /// 部门进驻备案登记表 (ST Annex C / DG Annex F).
    #[serde(default)]
    pub filing: String,
    /// Withdrawal: the written application (ST 7.1).
    #[serde(default)]
    pub application: String,
    /// Withdrawal: the archives handover (ST 7.2).
    #[serde(default)]
    pub archives_handover: String,
}

impl DepartmentFields {
    /// Checks S7 / S8 at entry.
    ///
    /// # Errors
    /// The rule broken.
    pub fn validate(&self) -> Result<(), String> {
        if !is_short_token(&self.dept, 40)
            || self.name.trim().is_empty()
            || self.name.chars().count() > 200
        {
            return Err("a department needs a short id and a name of 1 to 200 characters".into());
        }
        if let Some(problem) = (!self.uscc.is_empty())
            .then(|| uscc_problem(&self.uscc))
            .flatten()
        {
            return Err(format!(
                "`{}` is not a unified social credit code (GB 32100): it {problem}",
                self.uscc
            ));
        }
        let missing = |t: &str| t.trim().is_empty();
        match self.action {
            DepartmentAction::Station if missing(&self.plan) || missing(&self.authorization_letter) || missing(&self.filing) => Err(
                "S7 (ST 4.2.1–4.2.2): stationing a department needs its stationing plan, letter of authorisation and filing form".into(),
            ),
            DepartmentAction::Withdraw if missing(&self.application) || missing(&self.archives_handover) => {
                Err("S8 (ST 7.1–7.2): withdrawing a department needs its written application and the archives handover".into())
            }
            DepartmentAction::Station | DepartmentAction::Withdraw => Ok(()),
        }
    }

    /// The fields as `read` gives them (a record's text fields, current or as of some heads);
    /// `None` when no action is written there (a change that wrote other fields only).
    pub fn read(read: impl Fn(&str) -> String) -> Option<Self> {
        Some(DepartmentFields {
            dept: read("dept"),
            name: read("name"),
            uscc: read("uscc"),
            action: DepartmentAction::from_code(&read("action"))?,
            plan: read("plan"),
            authorization_letter: read("authorization_letter"),
            filing: read("filing"),
            application: read("application"),
            archives_handover: read("archives_handover"),
        })
    }

    /// The root writes.
    pub fn writes(&self) -> Vec<(String, ScalarValue)> {
        [
            ("dept", &self.dept),
            ("name", &self.name),
            ("uscc", &self.uscc),
            ("action", &self.action.as_str().to_string()),
            ("plan", &self.plan),
            ("authorization_letter", &self.authorization_letter),
            ("filing", &self.filing),
            ("application", &self.application),
            ("archives_handover", &self.archives_handover),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), ScalarValue::Str(v.as_str().into())))
        .collect()
    }
}

/// The content rule: the hall's own people, known fields of bounded size.
pub(crate) fn authorize_content(
    ctx: &ChangeCtx<'_>,
    hall: &HallId,
    dept: &str,
    writes: &[RootWrite],
) -> Result<(), Rejection> {
    ctx.require_hall_people(hall, RecordKind::Stationing, || Rejection::OutOfScope {
        reason: format!(
            "{} holds no certificate for hall {hall}",
            ctx.author.short()
        ),
    })?;
    DEPARTMENT_FIELDS.check_writes(&[("dept", dept)], writes, None)
}

/// The department record's fields.
const DEPARTMENT_FIELDS: FieldTable = FieldTable {
    label: "department",
    fields: &[
        ("dept", Field::Id("dept")),
        (
            "action",
            Field::Checked(|s| DepartmentAction::from_code(s).is_some()),
        ),
        ("name", Field::Text(2000)),
        ("uscc", Field::Text(2000)),
        ("plan", Field::Text(2000)),
        ("authorization_letter", Field::Text(2000)),
        ("filing", Field::Text(2000)),
        ("application", Field::Text(2000)),
        ("archives_handover", Field::Text(2000)),
    ],
};

/// S7/S8 at every receiver: an approval of a department stationing or withdrawal must approve a
/// complete one.
pub(crate) fn check_complete(write: &RootWrite, history: &DocHistory<'_>) -> Result<(), Rejection> {
    let Some(read) = crate::records::station::approved_state(write, history) else {
        return Ok(());
    };
    let Some(fields) = DepartmentFields::read(read) else {
        return Err(Rejection::shape(
            "an approval of a department filing approves one that says station or withdraw".into(),
        ));
    };
    match fields.validate() {
        Err(reason) if reason.starts_with("S7") => Err(Rejection::Invalid {
            rule: crate::change::rejection::Rule::S7,
            reason,
        }),
        Err(reason) if reason.starts_with("S8") => Err(Rejection::Invalid {
            rule: crate::change::rejection::Rule::S8,
            reason,
        }),
        _ => Ok(()),
    }
}
