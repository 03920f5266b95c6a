//! The catalogue as a table: the column layout of `catalogue import` and `export --kind items`.
//!
//! Headers are Chinese (English accepted too), in any order. The header row is the first of the top
//! [`HEADER_ROWS_MAX`] rows that holds every required header; rows above it (a title, empty rows) are
//! skipped, each non-empty one with a note ([`notes`]). `rows[i]` is the sheet's row `i + 1`, and
//! every [`CellError`] names the sheet's own row number. Cells:
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

use serde::{Deserialize, Serialize};

use crate::doc_id::ItemCode;
use crate::records::item::{CrossRegion, ItemFields, ItemType, Material, MaterialForm};

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

/// The columns holding numbers (working days); exports write them as number cells.
pub const NUMBER_COLUMNS: [&str; 2] = [COLUMNS[11].0, COLUMNS[12].0];

/// Most rows one import may hold.
pub const ROWS_MAX: usize = 100_000;

/// How many rows from the top may come before the header row: official templates put a title (and
/// sometimes a line of instructions) above it; a header further down is more likely a wrong sheet.
pub const HEADER_ROWS_MAX: usize = 10;

/// Most characters of a skipped row quoted in its note, so a long row cannot flood the report.
const NOTE_CHARS_MAX: usize = 40;

/// One problem with one cell (or with the header row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellError {
    /// 1-based row number as the spreadsheet shows it.
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

fn known_headers(cells: &[String]) -> usize {
    cells
        .iter()
        .filter(|h| {
            COLUMNS
                .iter()
                .any(|(zh, en, _)| *zh == h.trim() || *en == h.trim())
        })
        .count()
}

fn has_required_headers(cells: &[String]) -> bool {
    COLUMNS
        .iter()
        .filter(|(_, _, required)| *required)
        .all(|(zh, en, _)| cells.iter().any(|h| h.trim() == *zh || h.trim() == *en))
}

fn is_empty_row(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// The index of the header row: the first of the top [`HEADER_ROWS_MAX`] rows with every required
/// header; failing that, the one with the most known headers (its errors then say what is
/// missing), or the first non-empty row. `None` when the top rows are all empty.
/// Which row holds the headers (title rows may stand above it), if any of the first rows does.
pub fn header_index(rows: &[Vec<String>]) -> Option<usize> {
    let top = &rows[..rows.len().min(HEADER_ROWS_MAX)];
    if let Some(i) = top.iter().position(|r| has_required_headers(r)) {
        return Some(i);
    }
    let best = top
        .iter()
        .enumerate()
        .map(|(i, r)| (known_headers(r), std::cmp::Reverse(i)))
        .max()
        .filter(|(known, _)| *known > 0)
        .map(|(_, std::cmp::Reverse(i))| i);
    best.or_else(|| top.iter().position(|r| !is_empty_row(r)))
}

/// One note per non-empty row above the header row, which [`parse_table`] skips, for the import
/// report: `第1行是标题，已跳过 row 1 is a title row and was skipped: 「XX市政务服务事项目录」`.
pub fn notes(rows: &[Vec<String>]) -> Vec<String> {
    let above = header_index(rows).unwrap_or(0);
    rows[..above]
        .iter()
        .enumerate()
        .filter(|(_, r)| !is_empty_row(r))
        .map(|(i, r)| {
            let text: Vec<&str> = r
                .iter()
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .collect();
            let text: String = text.join(" ").chars().take(NOTE_CHARS_MAX).collect();
            let n = i + 1;
            format!("第{n}行是标题，已跳过 row {n} is a title row and was skipped: 「{text}」")
        })
        .collect()
}

/// Maps a header row to the index of each known column.
///
/// # Errors
/// One [`CellError`] per unknown header and per missing required header.
pub fn header_map(header: &[String]) -> Result<Vec<Option<usize>>, Vec<CellError>> {
    header_map_at(header, 1)
}

fn header_map_at(header: &[String], row: usize) -> Result<Vec<Option<usize>>, Vec<CellError>> {
    let mut errors = Vec::new();
    let mut map = vec![None; COLUMNS.len()];
    for (i, h) in header.iter().enumerate() {
        let h = h.trim();
        match COLUMNS.iter().position(|(zh, en, _)| *zh == h || *en == h) {
            Some(c) if map[c].is_none() => map[c] = Some(i),
            Some(_) => errors.push(CellError {
                row,
                column: h.into(),
                message: "this column appears twice".into(),
            }),
            None if h.is_empty() => {}
            None => errors.push(CellError {
                row,
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
                row,
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
            let form = MaterialForm::parse(form)
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

/// A number of working days: a whole number, also as a spreadsheet float (`15.0`); empty is 0.
fn working_days(text: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(0);
    }
    if let Ok(days) = text.parse() {
        return Ok(days);
    }
    let looks_like_date = text.len() >= 8
        && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && matches!(text.as_bytes()[4], b'-' | b'/');
    if looks_like_date {
        return Err(format!(
            "`{text}` is a date, not a number of working days: format the cell as a number"
        ));
    }
    match text.parse::<f64>() {
        // Whole floats only, within i64; 1e15 is far above any limit and exact in an f64.
        Ok(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(f as i64),
        _ => Err(format!("`{text}` is not a number of working days")),
    }
}

/// Parses data row `row_number` (1-based, as the sheet numbers it) into an item.
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
    let item_type = ItemType::parse(&cell(2));
    if item_type.is_none() {
        err(2, format!("`{}` is not an item type (行政许可、行政征收、行政给付、行政确认、行政奖励、行政裁决、其他行政权力、公共服务)", cell(2)));
    }
    let days = |c: usize, errs: &mut dyn FnMut(usize, String)| -> i64 {
        working_days(&cell(c)).unwrap_or_else(|m| {
            errs(c, m);
            0
        })
    };
    let statutory_days = days(11, &mut err);
    let promised_days = days(12, &mut err);
    let cross_region = if cell(13).is_empty() {
        Some(CrossRegion::None)
    } else {
        CrossRegion::parse(&cell(13))
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
    let yn = |b: bool| if b { "是" } else { "否" }.to_string();
    let materials = item
        .materials
        .iter()
        .map(|m| {
            let mut parts = vec![
                m.id.clone(),
                m.name.clone(),
                m.form.zh().to_string(),
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
        item.item_type.zh().to_string(),
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
        item.cross_region.zh().to_string(),
        item.guide.clone(),
        materials,
        yn(item.legacy_code),
    ]
}

/// Parses a whole table, `rows[i]` being the sheet's row `i + 1`: finds the header row (see the
/// module doc), skips the rows above it and reads every row below. Returns every item, or every
/// problem: a table with any problem imports nothing.
///
/// # Errors
/// All [`CellError`]s found, in row order.
pub fn parse_table(rows: &[Vec<String>]) -> Result<Vec<ItemFields>, Vec<CellError>> {
    let Some(at) = header_index(rows) else {
        return Err(vec![CellError {
            row: 1,
            column: String::new(),
            message: format!(
                "the table is empty: one of the first {HEADER_ROWS_MAX} rows must hold the headers"
            ),
        }]);
    };
    let (header, data) = (&rows[at], &rows[at + 1..]);
    let first_row = at + 2;
    if data.len() > ROWS_MAX {
        return Err(vec![CellError {
            row: first_row + ROWS_MAX,
            column: String::new(),
            message: format!("at most {ROWS_MAX} rows per import"),
        }]);
    }
    let map = header_map_at(header, at + 1)?;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeMap::new();
    for (i, cells) in data.iter().enumerate() {
        let row = first_row + i;
        if is_empty_row(cells) {
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

    fn good_line(code: &str) -> Vec<String> {
        let mut line = vec![String::new(); COLUMNS.len()];
        for (c, v) in [
            (0, code),
            (1, "居民身份证换领"),
            (2, "行政许可"),
            (3, "公安局"),
            (12, "10"),
        ] {
            line[c] = v.into();
        }
        line
    }

    #[test]
    fn a_title_row_above_the_header_is_skipped_with_a_note() {
        // Defect 5: a merged title row made every required column "missing".
        let title = row(&["XX市政务服务事项目录", "", ""]);
        let rows = [title, vec![], header_row(), good_line("440100001000")];
        assert_eq!(parse_table(&rows).unwrap().len(), 1);
        assert_eq!(
            notes(&rows),
            ["第1行是标题，已跳过 row 1 is a title row and was skipped: 「XX市政务服务事项目录」"]
        );
        assert!(notes(&rows[2..]).is_empty());
    }

    #[test]
    fn a_header_with_a_column_missing_is_reported_on_its_own_row() {
        // Goal: with no complete header in the top rows, the likeliest one is blamed, by row.
        let mut header = header_row();
        header.retain(|h| h != "承诺时限");
        let errors = parse_table(&[row(&["目录"]), header, good_line("440100001000")]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!((errors[0].row, errors[0].column.as_str()), (2, "承诺时限"));
        let mut far = vec![vec![]; HEADER_ROWS_MAX];
        far.push(header_row());
        assert!(parse_table(&far).unwrap_err()[0].message.contains("empty"));
    }

    #[test]
    fn row_numbers_count_the_empty_rows_above_the_header() {
        // Defect 4: rows are numbered as the sheet numbers them, empty rows included.
        let mut bad = good_line("440100002000");
        bad[2] = "许可".into();
        let errors = parse_table(&[
            vec![],
            row(&["", ""]),
            header_row(),
            good_line("440100001000"),
            bad,
        ])
        .unwrap_err();
        assert!(errors.iter().all(|e| e.row == 5), "{errors:#?}");
    }

    #[test]
    fn whole_numbers_written_as_floats_read_as_integers() {
        // Defect 2: pandas writes an integer column with a gap as floats (`20.0`).
        let mut line = good_line("440100001000");
        line[11] = "20.0".into();
        line[12] = "10.0".into();
        let items = parse_table(&[header_row(), line.clone()]).unwrap();
        assert_eq!((items[0].statutory_days, items[0].promised_days), (20, 10));
        for (text, problem) in [
            ("10.5", "not a number"),
            ("2026-12-01", "is a date"),
            ("1e300", "not a number"),
            ("NaN", "not a number"),
        ] {
            line[12] = text.into();
            let errors = parse_table(&[header_row(), line.clone()]).unwrap_err();
            assert!(errors[0].message.contains(problem), "{text}: {errors:#?}");
        }
    }
}
