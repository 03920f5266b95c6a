//! Catalogue items (事项目录): one document per item, written by city administrators only.
//!
//! DOMAIN.md "Who may do what": creating or adjusting a catalogue item is the city administrator's,
//! with no approval step; the same record is shared by every hall (四级四同, C3, SC 5.3.3.2).

use automerge::ScalarValue;
use serde::{Deserialize, Serialize};

use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::error::RecordError;
use crate::hall::Level;
use crate::records::authority::ChangeCtx;
use crate::records::ItemCode;
use crate::trust::cert::{RecordKind, Role};

/// The item types of DOMAIN.md "Catalogue items" (GB39046 A.1), code and label.
pub const ITEM_TYPES: [(&str, &str); 8] = [
    ("administrative_license", "行政许可"),
    ("administrative_confirmation", "行政确认"),
    ("administrative_payment", "行政给付"),
    ("administrative_reward", "行政奖励"),
    ("administrative_ruling", "行政裁决"),
    ("administrative_levy", "行政征收"),
    ("other_power", "其他行政权力"),
    ("public_service", "公共服务"),
];

/// Longest name or department, in characters (GB39046 #1: ≤ 200).
pub const NAME_CHARS_MAX: usize = 200;

/// Longest promised time limit accepted, in working days.
pub const PROMISED_DAYS_MAX: i64 = 3650;

/// The fields of a catalogue item as people enter them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFields {
    /// 事项编码.
    pub code: ItemCode,
    /// 事项名称.
    pub name: String,
    /// 事项类型, one of [`ITEM_TYPES`].
    #[serde(rename = "type")]
    pub item_type: String,
    /// 实施主体 / responsible department.
    pub department: String,
    /// 承诺时限, in working days.
    pub promised_days: i64,
}

impl ItemFields {
    /// Checks every field against its rule.
    ///
    /// # Errors
    /// The first [`RecordError`] found.
    pub fn validate(&self) -> Result<(), RecordError> {
        check_text("name", &self.name)?;
        check_text("department", &self.department)?;
        if !ITEM_TYPES.iter().any(|(code, _)| *code == self.item_type) {
            return Err(RecordError::BadItemType {
                text: self.item_type.chars().take(64).collect(),
                allowed: ITEM_TYPES
                    .iter()
                    .map(|(c, l)| format!("{c} ({l})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if !(0..=PROMISED_DAYS_MAX).contains(&self.promised_days) {
            return Err(RecordError::OutOfRange {
                field: "promised_days",
                value: self.promised_days,
                min: 0,
                max: PROMISED_DAYS_MAX,
            });
        }
        Ok(())
    }

    /// The root writes that store these fields.
    pub fn writes(&self) -> Vec<(&'static str, ScalarValue)> {
        vec![
            ("code", ScalarValue::Str(self.code.as_str().into())),
            ("name", ScalarValue::Str(self.name.as_str().into())),
            ("type", ScalarValue::Str(self.item_type.as_str().into())),
            (
                "department",
                ScalarValue::Str(self.department.as_str().into()),
            ),
            ("promised_days", ScalarValue::Int(self.promised_days)),
        ]
    }

    /// Chinese label of this item's type.
    pub fn type_label(&self) -> &'static str {
        ITEM_TYPES
            .iter()
            .find(|(c, _)| *c == self.item_type)
            .map(|(_, l)| *l)
            .unwrap_or("未知")
    }
}

/// Checks a free-text field: non-empty and at most [`NAME_CHARS_MAX`] characters.
pub(crate) fn check_text(field: &'static str, text: &str) -> Result<(), RecordError> {
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > NAME_CHARS_MAX {
        return Err(RecordError::BadText {
            field,
            chars,
            chars_max: NAME_CHARS_MAX,
        });
    }
    Ok(())
}

/// The write rule for item documents: a city administrator with the catalogue in scope, writing
/// only item fields with values of the right shape, and never another item's code.
pub(crate) fn authorize(
    ctx: &ChangeCtx<'_>,
    code: &ItemCode,
    writes: &[RootWrite],
) -> Result<(), Rejection> {
    let trust = ctx.trust;
    ctx.require(
        |c| {
            c.body.role == Role::Admin
                && c.body.scope.allows(RecordKind::Catalogue)
                && trust.halls().get(&c.body.hall).is_some_and(|h| h.level == Level::City)
        },
        || Rejection::OutOfScope {
            reason: format!(
                "{} is not a city administrator with the catalogue in scope; only they write the catalogue (C3, 四级四同)",
                ctx.author.short()
            ),
        },
    )?;
    for write in writes {
        let ok = match (write.key.as_str(), &write.value) {
            ("code", Some(ScalarValue::Str(s))) => s.as_str() == code.as_str(),
            ("name" | "department", Some(ScalarValue::Str(s))) => check_text("name", s).is_ok(),
            ("type", Some(ScalarValue::Str(s))) => ITEM_TYPES.iter().any(|(c, _)| *c == s.as_str()),
            ("promised_days", Some(ScalarValue::Int(n))) => (0..=PROMISED_DAYS_MAX).contains(n),
            _ => false,
        };
        if !ok {
            return Err(Rejection::OutOfScope {
                reason: format!(
                    "item field `{}` has a value of the wrong kind or is not an item field",
                    write.key
                ),
            });
        }
    }
    Ok(())
}
