//! The catalogue as a table: the column layout of `catalogue import` and `export --kind items`.
//!
//! Headers are Chinese (English accepted too), in any order; the first row holds them. Cells:
//!
//! | 列 header | field | cell |
//! |---|---|---|
//! | 事项编码 | code | 12/31/33 characters (C1, C2) |
//! | 事项名称 | name | text |
//! | 事项类型 | type | 行政许可 … or administrative_license … |
//! | 实施主体 | department | text |
//! | 设定依据, 实施依据, 办理条件, 办理流程, 办事指南 | … | text |
//! | 是否收费 | is_fee | 是/否 (yes/no) |
//! | 收费标准, 收费依据 | fee_standard, fee_basis | text (C7) |
//! | 法定时限, 承诺时限 | statutory_days, promised_days | working days (C5) |
//! | 通办范围 | cross_region | 不通办, 全市通办, 跨城通办, 省内通办, 跨省通办 (or the English codes) |
//! | 申报材料 | materials | `id|名称|原件|1|必要|容缺; …` (form 原件/复印件/电子; 必要 and 容缺 optional) |
//! | 旧编码 | legacy_code | 是/否: keep a code of another shape (C2) |
//!
//! Required headers: 事项编码, 事项名称, 事项类型, 实施主体, 承诺时限.

use serde::Serialize;

use crate::records::item::{ItemFields, Material, CROSS_REGION, ITEM_TYPES, MATERIAL_FORMS};
use crate::records::ItemCode;

/// The columns: Chinese header, English header, whether required.
pub const COLUMNS: [(&str, &str, bool); 17] = [
    ("事项编码", "code", true),
    ("事项名称", "name", true),
    ("事项类型", "type", true),
    ("实施主体", "department", true),
    ("设定依据", "legal_basis_setting", false),
    ("实施依据", "legal_basis_implementing", false),
    ("办理条件", "conditions", false),
    ("办理流程", "process", false),
    ("是否收费", "is_fee", false),
    ("收费标准", "fee_standard", false),
    ("收费依据", "fee_basis", false),
    ("法定时限", "statutory_days", false),
    ("承诺时限", "promised_days", true),
    ("通办范围", "cross_region", false),
    ("办事指南", "guide", false),
    ("申报材料", "materials", false),
    ("旧编码", "legacy_code", false),
];

/// Most rows one import may hold.
pub const ROWS_MAX: usize = 100_000;

/// One problem with one cell (or with the header row, row 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CellError {
    /// 1-based row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The column's header, or empty for a row-level problem.
    pub column: String,
    /// What is wrong, naming the rule.
    pub message: String,
}

fn yes(text: &str) -> Option<bool> {
    match text.trim() {
        "是" | "yes" | "true" | "1" | "Y" | "y" => Some(true),
        "否" | "no" | "false" | "0" | "N" | "n" | "" => Some(false),
        _ => None,
    }
}

/// Maps a header row to the index of each known column.
///
/// # Errors
/// One [`CellError`] per unknown header and per missing required header.
pub fn header_map(header: &[String]) -> Result<Vec<Option<usize>>, Vec<CellError>> {
    let mut errors = Vec::new();
    let mut map = vec![None; COLUMNS.len()];
    for (i, h) in header.iter().enumerate() {
        let h = h.trim();
        match COLUMNS.iter().position(|(zh, en, _)| *zh == h || *en == h) {
            Some(c) if map[c].is_none() => map[c] = Some(i),
            Some(_) => errors.push(CellError {
                row: 1,
                column: h.into(),
                message: "this column appears twice".into(),
            }),
            None if h.is_empty() => {}
            None => errors.push(CellError {
                row: 1,
                column: h.into(),
                message: format!(
                    "unknown column; use {}",
                    COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>().join("、")
                ),
            }),
        }
    }
    for (c, (zh, _, required)) in COLUMNS.iter().enumerate() {
        if *required && map[c].is_none() {
            errors.push(CellError {
                row: 1,
                column: zh.to_string(),
                message: "required column is missing".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(map)
    } else {
        Err(errors)
    }
}

fn parse_materials(text: &str) -> Result<Vec<Material>, String> {
    text.split([';', '；'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|entry| {
            let parts: Vec<&str> = entry.split('|').map(str::trim).collect();
            let [id, name, form, count, flags @ ..] = parts.as_slice() else {
                return Err(format!("`{entry}`: use id|名称|原件|份数|必要|容缺"));
            };
            let form = MATERIAL_FORMS
                .iter()
                .find(|(en, zh)| en == form || zh == form)
                .map(|(en, _)| en.to_string())
                .ok_or_else(|| format!("`{entry}`: form must be 原件, 复印件 or 电子"))?;
            let count = count
                .parse()
                .map_err(|_| format!("`{entry}`: 份数 must be a number"))?;
            if let Some(bad) = flags
                .iter()
                .find(|f| !matches!(**f, "必要" | "容缺" | "required" | "deferrable"))
            {
                return Err(format!("`{entry}`: unknown flag `{bad}` (use 必要, 容缺)"));
            }
            Ok(Material {
                id: id.to_string(),
                name: name.to_string(),
                form,
                count,
                required: flags.iter().any(|f| *f == "必要" || *f == "required"),
                deferrable: flags.iter().any(|f| *f == "容缺" || *f == "deferrable"),
            })
        })
        .collect()
}

/// Parses data row `row_number` (1-based, the header being row 1) into an item.
///
/// # Errors
/// Every problem in the row, each naming its column and rule.
pub fn parse_row(
    map: &[Option<usize>],
    cells: &[String],
    row_number: usize,
) -> Result<ItemFields, Vec<CellError>> {
    let mut errors = Vec::new();
    let cell = |c: usize| {
        map[c]
            .and_then(|i| cells.get(i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut err = |c: usize, message: String| {
        errors.push(CellError {
            row: row_number,
            column: COLUMNS[c].0.into(),
            message,
        })
    };
    let code = ItemCode::new(&cell(0)).map_err(|e| e.to_string());
    let item_type = ITEM_TYPES
        .iter()
        .find(|(en, zh, _)| *en == cell(2) || *zh == cell(2))
        .map(|(en, _, _)| en.to_string());
    if item_type.is_none() {
        err(2, format!("`{}` is not an item type (行政许可、行政征收、行政给付、行政确认、行政奖励、行政裁决、其他行政权力、公共服务)", cell(2)));
    }
    let days = |c: usize, errs: &mut dyn FnMut(usize, String)| -> i64 {
        let text = cell(c);
        if text.is_empty() {
            return 0;
        }
        text.parse().unwrap_or_else(|_| {
            errs(c, format!("`{text}` is not a number of working days"));
            0
        })
    };
    let statutory_days = days(11, &mut err);
    let promised_days = days(12, &mut err);
    let cross_region = if cell(13).is_empty() {
        Some("none".to_string())
    } else {
        CROSS_REGION
            .iter()
            .find(|(en, zh)| *en == cell(13) || *zh == cell(13))
            .map(|(en, _)| en.to_string())
    };
    if cross_region.is_none() {
        err(
            13,
            format!(
                "`{}` is not a cross-region scope (不通办、全市通办、跨城通办、省内通办、跨省通办)",
                cell(13)
            ),
        );
    }
    let is_fee = yes(&cell(8));
    if is_fee.is_none() {
        err(8, "use 是 or 否".into());
    }
    let legacy = yes(&cell(16));
    if legacy.is_none() {
        err(16, "use 是 or 否".into());
    }
    let materials = parse_materials(&cell(15)).unwrap_or_else(|m| {
        err(15, m);
        Vec::new()
    });
    let code = match code {
        Ok(c) => Some(c),
        Err(m) => {
            err(0, m);
            None
        }
    };
    let (Some(code), Some(item_type), Some(cross_region), Some(is_fee), Some(legacy)) =
        (code, item_type, cross_region, is_fee, legacy)
    else {
        return Err(errors);
    };
    let mut item = ItemFields::minimal(code, cell(1), item_type, cell(3), promised_days);
    item.legacy_code = legacy;
    item.legal_basis_setting = cell(4);
    item.legal_basis_implementing = cell(5);
    item.conditions = cell(6);
    item.process = cell(7);
    item.is_fee = is_fee;
    item.fee_standard = cell(9);
    item.fee_basis = cell(10);
    item.statutory_days = statutory_days;
    item.cross_region = cross_region;
    item.guide = cell(14);
    item.materials = materials;
    if let Err(e) = item.validate() {
        let column = match &e {
            crate::error::RecordError::Rule { rule: "C5", .. } => "承诺时限",
            crate::error::RecordError::Rule { rule: "C7", .. } => "收费标准",
            crate::error::RecordError::Rule { rule: "C1/C2", .. } => "事项编码",
            _ => "",
        };
        errors.push(CellError {
            row: row_number,
            column: column.into(),
            message: e.to_string(),
        });
    }
    if errors.is_empty() {
        Ok(item)
    } else {
        Err(errors)
    }
}

/// The header row, Chinese.
pub fn header_row() -> Vec<String> {
    COLUMNS.iter().map(|(zh, _, _)| zh.to_string()).collect()
}

/// An item as a row under [`header_row`].
pub fn to_row(item: &ItemFields) -> Vec<String> {
    let label = |table: &[(&str, &str)], code: &str| {
        table
            .iter()
            .find(|(en, _)| *en == code)
            .map(|(_, zh)| zh.to_string())
            .unwrap_or_else(|| code.to_string())
    };
    let yn = |b: bool| if b { "是" } else { "否" }.to_string();
    let materials = item
        .materials
        .iter()
        .map(|m| {
            let mut parts = vec![
                m.id.clone(),
                m.name.clone(),
                label(&MATERIAL_FORMS, &m.form),
                m.count.to_string(),
            ];
            if m.required {
                parts.push("必要".into());
            }
            if m.deferrable {
                parts.push("容缺".into());
            }
            parts.join("|")
        })
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        item.code.to_string(),
        item.name.clone(),
        item.type_label().to_string(),
        item.department.clone(),
        item.legal_basis_setting.clone(),
        item.legal_basis_implementing.clone(),
        item.conditions.clone(),
        item.process.clone(),
        yn(item.is_fee),
        item.fee_standard.clone(),
        item.fee_basis.clone(),
        item.statutory_days.to_string(),
        item.promised_days.to_string(),
        label(&CROSS_REGION, &item.cross_region),
        item.guide.clone(),
        materials,
        yn(item.legacy_code),
    ]
}

/// Parses a whole table (header first). Returns every item, or every problem: a table with any
/// problem imports nothing.
///
/// # Errors
/// All [`CellError`]s found, in row order.
pub fn parse_table(rows: &[Vec<String>]) -> Result<Vec<ItemFields>, Vec<CellError>> {
    let Some((header, data)) = rows.split_first() else {
        return Err(vec![CellError {
            row: 1,
            column: String::new(),
            message: "the table is empty: the first row must hold the headers".into(),
        }]);
    };
    if data.len() > ROWS_MAX {
        return Err(vec![CellError {
            row: ROWS_MAX + 2,
            column: String::new(),
            message: format!("at most {ROWS_MAX} rows per import"),
        }]);
    }
    let map = header_map(header)?;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeMap::new();
    for (i, cells) in data.iter().enumerate() {
        let row = i + 2;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match parse_row(&map, cells, row) {
            Ok(item) => {
                if let Some(first) = seen.insert(item.code.clone(), row) {
                    errors.push(CellError {
                        row,
                        column: "事项编码".into(),
                        message: format!("the same code is already on row {first}"),
                    });
                } else {
                    items.push(item);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn a_table_round_trips_through_rows() {
        let header = header_row();
        let line = row(&[
            "440100001000",
            "居民身份证换领",
            "行政许可",
            "公安局",
            "法",
            "规",
            "条件",
            "流程",
            "是",
            "10元",
            "依据",
            "20",
            "10",
            "全市通办",
            "指南",
            "id|身份证|原件|1|必要; photo|照片|复印件|2|容缺",
            "否",
        ]);
        let items = parse_table(&[header.clone(), line.clone()]).unwrap();
        assert_eq!(items[0].materials.len(), 2);
        assert!(items[0].materials[1].deferrable);
        assert_eq!(to_row(&items[0]), line);
    }

    #[test]
    fn every_bad_cell_is_reported_with_its_row_and_column() {
        let header = row(&[
            "事项编码",
            "事项名称",
            "事项类型",
            "实施主体",
            "承诺时限",
            "法定时限",
            "是否收费",
        ]);
        let rows = vec![
            header,
            row(&["440100001000", "甲", "行政许可", "局", "10", "20", "否"]),
            row(&["440100002000", "乙", "许可", "局", "三", "", "也许"]),
            row(&["440100003000", "丙", "行政许可", "局", "30", "20", "否"]),
            row(&["440100001000", "丁", "行政许可", "局", "1", "", ""]),
        ];
        let errors = parse_table(&rows).unwrap_err();
        let at = |r: usize, c: &str| errors.iter().any(|e| e.row == r && e.column == c);
        assert!(
            at(3, "事项类型") && at(3, "承诺时限") && at(3, "是否收费"),
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.row == 4 && e.message.contains("C5")),
            "{errors:#?}"
        );
        assert!(at(5, "事项编码"), "duplicate code: {errors:#?}");
        assert!(!errors.iter().any(|e| e.row == 2));
    }

    #[test]
    fn headers_are_checked() {
        let errors = parse_table(&[row(&["事项编码", "名字"])]).unwrap_err();
        assert!(errors
            .iter()
            .any(|e| e.column == "名字" && e.message.contains("unknown")));
        assert!(errors
            .iter()
            .any(|e| e.column == "事项名称" && e.message.contains("missing")));
        assert!(parse_table(&[]).is_err());
    }
}
