//! Catalogue items (事项目录): one record per item, written by city administrators only.
//!
//! DOMAIN.md "Who may do what": creating or adjusting a catalogue item is the city administrator's,
//! with no approval step; the same record is shared by every hall (四级四同, C3, SC 5.3.3.2).
//! Materials are keyed flat entries (`material/<id>/<field>`), so two administrators adding different
//! materials concurrently both keep theirs; `material/<id>/order` keeps the order they were listed in.

use std::collections::BTreeMap;

use automerge::{ReadDoc, ScalarValue, Value, ROOT};
use serde::{Deserialize, Serialize};

use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::doc_id::ItemCode;
use crate::error::RecordError;
use crate::hall::{is_short_token, Level};
use crate::records::authority::ChangeCtx;
use crate::records::fields::{Field, FieldTable};
use crate::records::item_code::code_problem;
use crate::records::vocabulary::vocabulary;
use crate::trust::cert::{RecordKind, Role};

vocabulary! {
    /// 事项类型: the item types of DOMAIN.md "Catalogue items".
    pub enum ItemType ("item type") {
        /// 行政许可.
        AdministrativeLicense = ("administrative_license", "行政许可"),
        /// 行政征收.
        AdministrativeLevy = ("administrative_levy", "行政征收"),
        /// 行政给付.
        AdministrativePayment = ("administrative_payment", "行政给付"),
        /// 行政确认.
        AdministrativeConfirmation = ("administrative_confirmation", "行政确认"),
        /// 行政奖励.
        AdministrativeReward = ("administrative_reward", "行政奖励"),
        /// 行政裁决.
        AdministrativeRuling = ("administrative_ruling", "行政裁决"),
        /// 其他行政权力.
        OtherPower = ("other_power", "其他行政权力"),
        /// 公共服务.
        PublicService = ("public_service", "公共服务"),
    }
}

impl ItemType {
    /// The two-digit type code of GB39046 A.1, which characters 7–8 of a 12-digit item code carry
    /// (C1).
    pub fn gb_code(self) -> &'static str {
        match self {
            ItemType::AdministrativeLicense => "01",
            ItemType::AdministrativeLevy => "04",
            ItemType::AdministrativePayment => "05",
            ItemType::AdministrativeConfirmation => "07",
            ItemType::AdministrativeReward => "08",
            ItemType::AdministrativeRuling => "09",
            ItemType::OtherPower => "10",
            ItemType::PublicService => "20",
        }
    }
}

vocabulary! {
    /// 通办范围: how far from the hall that handles an item a case for it may be accepted
    /// (K11; DG 5.3.8 全市通办, DG 5.3.9 跨城通办, SC 5.3.1 省内/跨省通办).
    pub enum CrossRegion ("cross-region scope") {
        /// 不通办: only at the hall that handles it.
        None = ("none", "不通办"),
        /// 全市通办.
        Citywide = ("citywide", "全市通办"),
        /// 跨城通办.
        InterCity = ("inter_city", "跨城通办"),
        /// 省内通办.
        InProvince = ("in_province", "省内通办"),
        /// 跨省通办.
        InterProvince = ("inter_province", "跨省通办"),
    }
}

impl CrossRegion {
    /// True when a case accepted at one hall may be handled at `other` hall of the same network. One
    /// network is one city, so every scope but `none` reaches between two of its halls (K11).
    pub fn reaches_another_hall(self) -> bool {
        self != CrossRegion::None
    }
}

vocabulary! {
    /// The form a material is handed in (原件/复印件/电子; GB39046 #58).
    pub enum MaterialForm ("material form") {
        /// 原件.
        Original = ("original", "原件"),
        /// 复印件.
        Copy = ("copy", "复印件"),
        /// 电子.
        Electronic = ("electronic", "电子"),
    }
}

/// Longest name or department, in characters (GB39046 #1: ≤ 200).
pub const NAME_CHARS_MAX: usize = 200;

/// Longest long text (legal bases, conditions, process, guide), in characters.
pub const TEXT_CHARS_MAX: usize = 20_000;

/// Longest limit accepted, in working days.
pub const PROMISED_DAYS_MAX: i64 = 3650;

/// Most materials one item may list.
pub const MATERIALS_MAX: usize = 200;

/// One required material (申报材料, GB39046 #56–64).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    /// A short id, unique within the item.
    pub id: String,
    /// 材料名称.
    pub name: String,
    /// 原件, 复印件 or 电子.
    pub form: MaterialForm,
    /// 份数.
    pub count: i64,
    /// 是否必要.
    pub required: bool,
    /// May be supplied later under 容缺受理 (DG 5.2.7; C8).
    pub deferrable: bool,
}

/// Every element of a catalogue item as people enter it (ST 5.2.2, DG 6.1.3, YC 5.2.1). In JSON, all
/// but code, name, type, department and promised_days may be left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFields {
    /// 事项编码 (C1, C2).
    pub code: ItemCode,
    /// True when the code is kept as given although it is not of the 12/31/33 shapes (C2 "legacy").
    #[serde(default)]
    pub legacy_code: bool,
    /// 事项名称.
    pub name: String,
    /// 事项类型.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// 实施主体 / responsible department.
    pub department: String,
    /// 设定依据.
    #[serde(default)]
    pub legal_basis_setting: String,
    /// 实施依据.
    #[serde(default)]
    pub legal_basis_implementing: String,
    /// 办理条件.
    #[serde(default)]
    pub conditions: String,
    /// 办理流程.
    #[serde(default)]
    pub process: String,
    /// 是否收费.
    #[serde(default)]
    pub is_fee: bool,
    /// 收费标准.
    #[serde(default)]
    pub fee_standard: String,
    /// 收费依据.
    #[serde(default)]
    pub fee_basis: String,
    /// 法定时限 in working days (0: not set).
    #[serde(default)]
    pub statutory_days: i64,
    /// 承诺时限 in working days.
    pub promised_days: i64,
    /// 通办范围 (none when not given).
    #[serde(default = "no_cross_region")]
    pub cross_region: CrossRegion,
    /// 办事指南.
    #[serde(default)]
    pub guide: String,
    /// 申报材料.
    #[serde(default)]
    pub materials: Vec<Material>,
}

fn no_cross_region() -> CrossRegion {
    CrossRegion::None
}

fn text_ok(text: &str, max: usize) -> bool {
    text.chars().count() <= max
}

fn required_text(field: &'static str, text: &str, max: usize) -> Result<(), RecordError> {
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > max {
        return Err(RecordError::BadText {
            field,
            chars,
            chars_max: max,
        });
    }
    Ok(())
}

/// Checks a short free-text field: non-empty and at most [`NAME_CHARS_MAX`] characters.
pub(crate) fn check_text(field: &'static str, text: &str) -> Result<(), RecordError> {
    required_text(field, text, NAME_CHARS_MAX)
}

impl ItemFields {
    /// An item with only the fields `item create` requires; the rest empty.
    pub fn minimal(
        code: ItemCode,
        name: String,
        item_type: ItemType,
        department: String,
        promised_days: i64,
    ) -> Self {
        ItemFields {
            code,
            legacy_code: false,
            name,
            item_type,
            department,
            legal_basis_setting: String::new(),
            legal_basis_implementing: String::new(),
            conditions: String::new(),
            process: String::new(),
            is_fee: false,
            fee_standard: String::new(),
            fee_basis: String::new(),
            statutory_days: 0,
            promised_days,
            cross_region: CrossRegion::None,
            guide: String::new(),
            materials: Vec::new(),
        }
    }

    /// A complete item — every guide element present (C4), materials, a citywide cross-region
    /// scope — for the simulator, the demo and tests, which must make only proposals the rules accept.
    pub fn example(
        code: ItemCode,
        name: &str,
        item_type: ItemType,
        department: &str,
        promised_days: i64,
    ) -> Self {
        let mut item = ItemFields::minimal(
            code,
            name.into(),
            item_type,
            department.into(),
            promised_days,
        );
        item.legal_basis_setting = "《中华人民共和国行政许可法》".into();
        item.legal_basis_implementing = "《广东省政务服务事项实施清单》".into();
        item.conditions = "申请人为本市户籍居民或持有效居住证 applicant resides in the city".into();
        item.process =
            "收件 → 受理 → 审查 → 决定 → 送达 receive, accept, review, decide, deliver".into();
        item.statutory_days = promised_days.max(1) * 2;
        item.cross_region = CrossRegion::Citywide;
        item.guide = format!("{name}办事指南 service guide");
        item.materials = vec![
            Material {
                id: "id-card".into(),
                name: "居民身份证".into(),
                form: MaterialForm::Original,
                count: 1,
                required: true,
                deferrable: false,
            },
            Material {
                id: "photo".into(),
                name: "近期免冠照片".into(),
                form: MaterialForm::Original,
                count: 2,
                required: true,
                deferrable: true,
            },
        ];
        item
    }

    /// Checks every field against its rule (C1, C2, C5, C7 and the shapes).
    ///
    /// # Errors
    /// The first [`RecordError`] found, naming the rule.
    pub fn validate(&self) -> Result<(), RecordError> {
        required_text("name", &self.name, NAME_CHARS_MAX)?;
        required_text("department", &self.department, NAME_CHARS_MAX)?;
        let type_code = self.item_type.gb_code();
        if !self.legacy_code {
            if let Some(problem) = code_problem(self.code.as_str(), type_code) {
                return Err(RecordError::Rule {
                    rule: "C1/C2",
                    message: problem,
                });
            }
        }
        for (field, text) in [
            ("legal_basis_setting", &self.legal_basis_setting),
            ("legal_basis_implementing", &self.legal_basis_implementing),
            ("conditions", &self.conditions),
            ("process", &self.process),
            ("guide", &self.guide),
            ("fee_standard", &self.fee_standard),
            ("fee_basis", &self.fee_basis),
        ] {
            if !text_ok(text, TEXT_CHARS_MAX) {
                return Err(RecordError::BadText {
                    field,
                    chars: text.chars().count(),
                    chars_max: TEXT_CHARS_MAX,
                });
            }
        }
        for (field, days) in [
            ("statutory_days", self.statutory_days),
            ("promised_days", self.promised_days),
        ] {
            if !(0..=PROMISED_DAYS_MAX).contains(&days) {
                return Err(RecordError::OutOfRange {
                    field,
                    value: days,
                    min: 0,
                    max: PROMISED_DAYS_MAX,
                });
            }
        }
        if self.statutory_days > 0 && self.promised_days > self.statutory_days {
            return Err(RecordError::Rule {
                rule: "C5",
                message: format!(
                    "the promised limit ({} working days) exceeds the statutory limit ({}); the law caps it (ST 5.3.2, 行政许可法 42)",
                    self.promised_days, self.statutory_days
                ),
            });
        }
        if self.is_fee && (self.fee_standard.trim().is_empty() || self.fee_basis.trim().is_empty())
        {
            return Err(RecordError::Rule {
                rule: "C7",
                message: "an item that charges a fee needs its fee standard and its basis (GB39046 #31–32)".into(),
            });
        }
        self.validate_materials()
    }

    fn validate_materials(&self) -> Result<(), RecordError> {
        if self.materials.len() > MATERIALS_MAX {
            return Err(RecordError::OutOfRange {
                field: "materials",
                value: self.materials.len() as i64,
                min: 0,
                max: MATERIALS_MAX as i64,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.materials {
            if !is_short_token(&m.id, 40) || !seen.insert(m.id.as_str()) {
                return Err(RecordError::Rule {
                    rule: "materials",
                    message: format!("material id `{}` must be a unique short token", m.id),
                });
            }
            required_text("material name", &m.name, NAME_CHARS_MAX)?;
            if !(0..=99).contains(&m.count) {
                return Err(RecordError::OutOfRange {
                    field: "material count",
                    value: m.count,
                    min: 0,
                    max: 99,
                });
            }
        }
        Ok(())
    }

    /// The guide elements still missing before the item may be stationed (C4, ST 5.2.2).
    pub fn missing_guide_elements(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        let empty = |t: &str| t.trim().is_empty();
        if empty(&self.legal_basis_setting) {
            missing.push("设立依据 legal basis for setting");
        }
        if empty(&self.legal_basis_implementing) {
            missing.push("实施依据 legal basis for implementing");
        }
        if empty(&self.conditions) {
            missing.push("办理条件 conditions");
        }
        if self.materials.is_empty() {
            missing.push("申报材料 materials");
        }
        if empty(&self.process) {
            missing.push("办理流程 process");
        }
        if self.is_fee && empty(&self.fee_standard) {
            missing.push("收费标准 fee standard");
        }
        missing
    }

    /// The root writes that store these fields.
    pub fn writes(&self) -> Vec<(String, ScalarValue)> {
        let s = |t: &str| ScalarValue::Str(t.into());
        let mut out = vec![
            ("code".to_string(), s(self.code.as_str())),
            ("legacy_code".into(), ScalarValue::Boolean(self.legacy_code)),
            ("name".into(), s(&self.name)),
            ("type".into(), s(self.item_type.as_str())),
            ("department".into(), s(&self.department)),
            ("legal_basis_setting".into(), s(&self.legal_basis_setting)),
            (
                "legal_basis_implementing".into(),
                s(&self.legal_basis_implementing),
            ),
            ("conditions".into(), s(&self.conditions)),
            ("process".into(), s(&self.process)),
            ("is_fee".into(), ScalarValue::Boolean(self.is_fee)),
            ("fee_standard".into(), s(&self.fee_standard)),
            ("fee_basis".into(), s(&self.fee_basis)),
            (
                "statutory_days".into(),
                ScalarValue::Int(self.statutory_days),
            ),
            ("promised_days".into(), ScalarValue::Int(self.promised_days)),
            ("cross_region".into(), s(self.cross_region.as_str())),
            ("guide".into(), s(&self.guide)),
        ];
        for (order, m) in (0_i64..).zip(&self.materials) {
            let k = |f: &str| format!("material/{}/{f}", m.id);
            out.push((k("order"), ScalarValue::Int(order)));
            out.push((k("name"), s(&m.name)));
            out.push((k("form"), s(m.form.as_str())));
            out.push((k("count"), ScalarValue::Int(m.count)));
            out.push((k("required"), ScalarValue::Boolean(m.required)));
            out.push((k("deferrable"), ScalarValue::Boolean(m.deferrable)));
        }
        out
    }

    /// Reads an item back from its document (current state); missing fields read as empty.
    pub fn from_doc(doc: &automerge::Automerge) -> Option<ItemFields> {
        let mut values: BTreeMap<String, ScalarValue> = BTreeMap::new();
        for key in doc.keys(ROOT) {
            if let Ok(Some((Value::Scalar(v), _))) = doc.get(ROOT, key.as_str()) {
                values.insert(key, v.into_owned());
            }
        }
        let text = |k: &str| match values.get(k) {
            Some(ScalarValue::Str(s)) => s.to_string(),
            _ => String::new(),
        };
        let int = |k: &str| match values.get(k) {
            Some(ScalarValue::Int(n)) => *n,
            _ => 0,
        };
        let flag = |k: &str| matches!(values.get(k), Some(ScalarValue::Boolean(true)));
        let mut ids: Vec<String> = values
            .keys()
            .filter_map(|k| {
                k.strip_prefix("material/")
                    .and_then(|r| r.split_once('/'))
                    .map(|(id, _)| id.to_string())
            })
            .collect();
        ids.dedup();
        // The order the materials were given in; items written before `order` existed have none and
        // keep the id order, as do ties from concurrent edits.
        ids.sort_by_key(|id| match values.get(&format!("material/{id}/order")) {
            Some(ScalarValue::Int(n)) => *n,
            _ => i64::MAX,
        });
        let materials = ids
            .into_iter()
            .filter(|id| values.contains_key(&format!("material/{id}/name")))
            .filter_map(|id| {
                // Checked on receipt (`material_ok`), so every stored form is a code.
                let form = MaterialForm::from_code(&text(&format!("material/{id}/form")))?;
                Some((id, form))
            })
            .map(|(id, form)| Material {
                name: text(&format!("material/{id}/name")),
                form,
                count: int(&format!("material/{id}/count")),
                required: flag(&format!("material/{id}/required")),
                deferrable: flag(&format!("material/{id}/deferrable")),
                id,
            })
            .collect();
        Some(ItemFields {
            code: ItemCode::new(&text("code")).ok()?,
            legacy_code: flag("legacy_code"),
            name: text("name"),
            // Checked on receipt (`ITEM_FIELDS`): a record without a known type is not an item.
            item_type: ItemType::from_code(&text("type"))?,
            department: text("department"),
            legal_basis_setting: text("legal_basis_setting"),
            legal_basis_implementing: text("legal_basis_implementing"),
            conditions: text("conditions"),
            process: text("process"),
            is_fee: flag("is_fee"),
            fee_standard: text("fee_standard"),
            fee_basis: text("fee_basis"),
            statutory_days: int("statutory_days"),
            promised_days: int("promised_days"),
            cross_region: CrossRegion::from_code(&text("cross_region"))
                .unwrap_or(CrossRegion::None),
            guide: text("guide"),
            materials,
        })
    }
}

/// The item record's fields; materials (`material/<id>/<field>`) are checked by [`material_ok`].
const ITEM_FIELDS: FieldTable = FieldTable {
    label: "item",
    fields: &[
        ("code", Field::Id("code")),
        ("name", Field::Checked(|s| check_text("name", s).is_ok())),
        (
            "department",
            Field::Checked(|s| check_text("name", s).is_ok()),
        ),
        ("type", Field::Checked(|s| ItemType::from_code(s).is_some())),
        (
            "cross_region",
            Field::Checked(|s| CrossRegion::from_code(s).is_some()),
        ),
        ("legal_basis_setting", Field::Checked(long_text_ok)),
        ("legal_basis_implementing", Field::Checked(long_text_ok)),
        ("conditions", Field::Checked(long_text_ok)),
        ("process", Field::Checked(long_text_ok)),
        ("guide", Field::Checked(long_text_ok)),
        ("fee_standard", Field::Checked(long_text_ok)),
        ("fee_basis", Field::Checked(long_text_ok)),
        ("statutory_days", Field::Int(0, PROMISED_DAYS_MAX)),
        ("promised_days", Field::Int(0, PROMISED_DAYS_MAX)),
        ("is_fee", Field::Bool),
        ("legacy_code", Field::Bool),
    ],
};

fn long_text_ok(text: &str) -> bool {
    text_ok(text, TEXT_CHARS_MAX)
}

/// A material's entry (`material/<id>/<field>`), or its deletion: deleting a material's entries
/// removes it; core fields are never deleted.
fn material_ok(key: &str, value: Option<&ScalarValue>) -> bool {
    let Some((id, field)) = key
        .strip_prefix("material/")
        .and_then(|r| r.split_once('/'))
    else {
        return false;
    };
    if !is_short_token(id, 40) {
        return false;
    }
    let Some(value) = value else {
        return true;
    };
    match (field, value) {
        ("name", ScalarValue::Str(s)) => check_text("material name", s).is_ok(),
        ("form", ScalarValue::Str(s)) => MaterialForm::from_code(s).is_some(),
        ("count", ScalarValue::Int(n)) => (0..=99).contains(n),
        ("order", ScalarValue::Int(n)) => (0..MATERIALS_MAX as i64).contains(n),
        ("required" | "deferrable", ScalarValue::Boolean(_)) => true,
        _ => false,
    }
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
    ITEM_FIELDS.check_writes(&[("code", code.as_str())], writes, Some(material_ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> ItemFields {
        let mut i = ItemFields::minimal(
            ItemCode::new("440100001000").unwrap(),
            "居民身份证换领".into(),
            ItemType::AdministrativeLicense,
            "公安局".into(),
            10,
        );
        i.statutory_days = 20;
        i
    }

    #[test]
    fn c1_code_must_carry_the_items_type() {
        let mut i = item();
        i.validate().unwrap();
        i.item_type = ItemType::PublicService;
        assert!(i.validate().unwrap_err().to_string().contains("C1"));
        i.legacy_code = true;
        i.validate().unwrap();
    }

    #[test]
    fn c5_promised_limit_may_not_exceed_the_statutory_one() {
        let mut i = item();
        i.promised_days = 21;
        assert!(i.validate().unwrap_err().to_string().starts_with("C5"));
        i.statutory_days = 0;
        i.validate().unwrap();
    }

    #[test]
    fn c7_a_fee_needs_its_standard_and_basis() {
        let mut i = item();
        i.is_fee = true;
        i.fee_standard = "每证10元".into();
        assert!(i.validate().unwrap_err().to_string().starts_with("C7"));
        i.fee_basis = "发改价格〔2023〕1号".into();
        i.validate().unwrap();
    }

    #[test]
    fn c4_lists_missing_guide_elements() {
        let mut i = item();
        assert_eq!(i.missing_guide_elements().len(), 5);
        i.legal_basis_setting = "法".into();
        i.legal_basis_implementing = "规".into();
        i.conditions = "条件".into();
        i.process = "流程".into();
        i.materials.push(Material {
            id: "m1".into(),
            name: "身份证".into(),
            form: MaterialForm::Original,
            count: 1,
            required: true,
            deferrable: false,
        });
        assert!(i.missing_guide_elements().is_empty());
        i.is_fee = true;
        assert_eq!(i.missing_guide_elements(), ["收费标准 fee standard"]);
    }

    #[test]
    fn items_round_trip_through_their_document() {
        use automerge::transaction::Transactable;
        let mut i = item();
        i.materials.push(Material {
            id: "photo".into(),
            name: "照片".into(),
            form: MaterialForm::Copy,
            count: 2,
            required: false,
            deferrable: true,
        });
        let mut doc = automerge::Automerge::new();
        let mut tx = doc.transaction();
        for (k, v) in i.writes() {
            tx.put(automerge::ROOT, k.as_str(), v).unwrap();
        }
        tx.commit();
        assert_eq!(ItemFields::from_doc(&doc), Some(i));
    }

    #[test]
    fn materials_keep_their_order_through_the_document() {
        // Issue #9 item 7, defect 3: materials came back sorted by id, not in the sheet's order.
        use automerge::transaction::Transactable;
        let mut i = item();
        for id in ["photo", "id", "form"] {
            i.materials.push(Material {
                id: id.into(),
                name: "材料".into(),
                form: MaterialForm::Original,
                count: 1,
                required: true,
                deferrable: false,
            });
        }
        let mut doc = automerge::Automerge::new();
        let mut tx = doc.transaction();
        for (k, v) in i.writes() {
            tx.put(automerge::ROOT, k.as_str(), v).unwrap();
        }
        tx.commit();
        assert_eq!(ItemFields::from_doc(&doc), Some(i.clone()));

        // An item written before `order` existed keeps the id order.
        let mut doc = automerge::Automerge::new();
        let mut tx = doc.transaction();
        for (k, v) in i
            .writes()
            .into_iter()
            .filter(|(k, _)| !k.ends_with("/order"))
        {
            tx.put(automerge::ROOT, k.as_str(), v).unwrap();
        }
        tx.commit();
        let ids: Vec<String> = ItemFields::from_doc(&doc)
            .unwrap()
            .materials
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["form", "id", "photo"]);
    }
}
