//! Reading and writing tables: CSV (UTF-8, with or without BOM), XLSX (first sheet), and JSON.

use std::path::Path;

use crate::error::NodeError;

/// Largest table file read, in bytes: far above any catalogue, and a bound on memory.
pub const TABLE_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// File formats for tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// Comma-separated values, UTF-8.
    Csv,
    /// Excel workbook.
    Xlsx,
    /// A JSON array of objects keyed by header.
    Json,
}

impl TableFormat {
    /// The format named by `name` (csv, xlsx, json) or by a path's extension.
    ///
    /// # Errors
    /// [`NodeError::NotAllowed`] naming the formats accepted.
    pub fn parse(name: &str) -> Result<Self, NodeError> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Ok(TableFormat::Csv),
            "xlsx" => Ok(TableFormat::Xlsx),
            "json" => Ok(TableFormat::Json),
            other => Err(NodeError::NotAllowed(format!(
                "`{other}` is not a table format: use csv, xlsx or json"
            ))),
        }
    }

    /// The format of `path`, by extension.
    ///
    /// # Errors
    /// As [`TableFormat::parse`].
    pub fn of(path: &Path) -> Result<Self, NodeError> {
        TableFormat::parse(path.extension().and_then(|e| e.to_str()).unwrap_or(""))
    }
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> NodeError + 'a {
    move |source| NodeError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Reads every row of a CSV or XLSX file (header included), cells as text.
///
/// # Errors
/// IO errors, a file over [`TABLE_BYTES_MAX`], or a file that is not CSV/XLSX.
pub fn read_table(path: &Path) -> Result<Vec<Vec<String>>, NodeError> {
    let size = std::fs::metadata(path).map_err(io("read", path))?.len();
    if size > TABLE_BYTES_MAX {
        return Err(NodeError::NotAllowed(format!(
            "{} is {size} bytes; at most {TABLE_BYTES_MAX}",
            path.display()
        )));
    }
    let bad = |reason: String| {
        NodeError::NotAllowed(format!(
            "{} cannot be read as a table: {reason}",
            path.display()
        ))
    };
    match TableFormat::of(path)? {
        TableFormat::Csv => {
            let bytes = std::fs::read(path).map_err(io("read", path))?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| bad("it is not UTF-8 (save it as CSV UTF-8)".into()))?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            reader
                .records()
                .map(|r| {
                    r.map(|r| r.iter().map(str::to_string).collect())
                        .map_err(|e| bad(e.to_string()))
                })
                .collect()
        }
        TableFormat::Xlsx => {
            use calamine::Reader;
            let mut book = calamine::open_workbook_auto(path).map_err(|e| bad(e.to_string()))?;
            let range = book
                .worksheet_range_at(0)
                .ok_or_else(|| bad("the workbook has no sheet".into()))?
                .map_err(|e| bad(e.to_string()))?;
            Ok(range
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect())
        }
        TableFormat::Json => Err(bad("import reads CSV or XLSX".into())),
    }
}

/// Writes `rows` (header first) to `path` in `format`, through a temporary file and a rename.
///
/// # Errors
/// IO or encoder errors.
pub fn write_table(
    path: &Path,
    rows: &[Vec<String>],
    format: TableFormat,
) -> Result<(), NodeError> {
    let tmp = path.with_extension("tmp-export");
    let bad = |reason: String| {
        NodeError::NotAllowed(format!("cannot write {}: {reason}", path.display()))
    };
    match format {
        TableFormat::Csv => {
            let mut out = Vec::from("\u{feff}".as_bytes());
            {
                let mut writer = csv::Writer::from_writer(&mut out);
                for row in rows {
                    writer.write_record(row).map_err(|e| bad(e.to_string()))?;
                }
                writer.flush().map_err(|e| bad(e.to_string()))?;
            }
            std::fs::write(&tmp, out).map_err(io("write", &tmp))?;
        }
        TableFormat::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let (r, c) = (
                        u32::try_from(r).map_err(|_| bad("too many rows".into()))?,
                        u16::try_from(c).map_err(|_| bad("too many columns".into()))?,
                    );
                    sheet
                        .write_string(r, c, cell)
                        .map_err(|e| bad(e.to_string()))?;
                }
            }
            book.save(&tmp).map_err(|e| bad(e.to_string()))?;
        }
        TableFormat::Json => {
            let Some((header, data)) = rows.split_first() else {
                return write_table(path, &[Vec::new()], TableFormat::Json);
            };
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = data
                .iter()
                .map(|row| {
                    header
                        .iter()
                        .cloned()
                        .zip(row.iter().map(|c| serde_json::Value::String(c.clone())))
                        .collect()
                })
                .collect();
            let text = serde_json::to_string_pretty(&objects).map_err(|e| bad(e.to_string()))?;
            std::fs::write(&tmp, text).map_err(io("write", &tmp))?;
        }
    }
    std::fs::rename(&tmp, path).map_err(io("replace", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_xlsx_round_trip_chinese_text() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![
            vec!["事项编码".to_string(), "事项名称".into()],
            vec!["440100001000".into(), "居民身份证换领, \"加急\"".into()],
        ];
        for ext in ["csv", "xlsx"] {
            let path = dir.path().join(format!("t.{ext}"));
            write_table(&path, &rows, TableFormat::of(&path).unwrap()).unwrap();
            assert_eq!(read_table(&path).unwrap(), rows, "{ext}");
        }
    }

    #[test]
    fn unreadable_tables_fail_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        std::fs::write(&path, b"not a zip").unwrap();
        assert!(read_table(&path)
            .unwrap_err()
            .to_string()
            .contains("cannot be read"));
        let path = dir.path().join("t.csv");
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(read_table(&path).unwrap_err().to_string().contains("UTF-8"));
        assert!(TableFormat::parse("ods").is_err());
    }
}
