//! Reading and writing tables: CSV, XLSX (first sheet) and JSON, as halls' spreadsheets keep them.
//!
//! Reading keeps the sheet's own row numbers (`rows[i]` is row `i + 1`, empty rows included), reads
//! date cells as ISO dates and whole-number cells without `.0`, and decodes CSV from UTF-8 (with or
//! without BOM), UTF-16 (with BOM) or GB18030/GBK, the encoding Excel uses on Chinese Windows.
//! Writing puts the columns named as numbers in XLSX number cells.

use std::path::Path;

use crate::error::NodeError;

/// Largest table file read, in bytes: far above any catalogue, and a bound on memory.
pub const TABLE_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Most rows read from one table, empty ones included: Excel's own limit for a sheet, and a bound on
/// memory for a CSV of blank lines.
pub const TABLE_ROWS_MAX: usize = 1_048_576;

/// Most columns read from a sheet: far above any catalogue (16) or export, and a bound on what a
/// cell far to the right could make a reader allocate.
pub const TABLE_COLUMNS_MAX: u32 = 1024;

/// Most bytes an XLSX file may unpack to, all its parts together (by the sizes its directory
/// declares): a bound on a compressed "bomb" before any part is read.
pub const XLSX_UNPACKED_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Most parts an XLSX file may hold.
const XLSX_PARTS_MAX: usize = 10_000;

/// Most date cells named one by one in [`Table::notes`]; the rest are counted in one more note.
pub const DATE_NOTES_MAX: usize = 20;

/// The encodings a CSV may be in, as error messages name them.
const CSV_ENCODINGS: &str = "UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK";

/// A table as read from a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// The cells as text; `rows[i]` is the sheet's row `i + 1`, empty rows kept as empty vectors,
    /// so row numbers in reports are the ones the spreadsheet shows.
    pub rows: Vec<Vec<String>>,
    /// What was converted on the way, for the report: the encoding a CSV was decoded from, the
    /// date cells read as dates.
    pub notes: Vec<String>,
}

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

/// Reads every row of a CSV or XLSX file (header and any title rows included), cells as text.
///
/// # Errors
/// IO errors, a file over [`TABLE_BYTES_MAX`] or [`TABLE_ROWS_MAX`], a CSV in none of the accepted
/// encodings, or a file that is not CSV/XLSX.
pub fn read_table(path: &Path) -> Result<Table, NodeError> {
    let size = std::fs::metadata(path).map_err(io("read", path))?.len();
    if size > TABLE_BYTES_MAX {
        return Err(NodeError::NotAllowed(format!(
            "{} is {size} bytes; at most {TABLE_BYTES_MAX}",
            path.display()
        )));
    }
    let format = TableFormat::of(path)?;
    let bytes = std::fs::read(path).map_err(io("read", path))?;
    read_table_bytes(&path.display().to_string(), format, &bytes)
}

/// Reads every row of a CSV or XLSX file held in memory (an upload), as [`read_table`] reads a
/// file; `name` is what errors call it.
///
/// # Errors
/// As [`read_table`].
pub fn read_table_bytes(name: &str, format: TableFormat, bytes: &[u8]) -> Result<Table, NodeError> {
    if bytes.len() as u64 > TABLE_BYTES_MAX {
        return Err(NodeError::NotAllowed(format!(
            "{name} is {} bytes; at most {TABLE_BYTES_MAX}",
            bytes.len()
        )));
    }
    let bad = |reason: String| {
        NodeError::NotAllowed(format!("{name} cannot be read as a table: {reason}"))
    };
    let table = match format {
        TableFormat::Csv => read_csv(bytes),
        TableFormat::Xlsx => read_xlsx(bytes),
        TableFormat::Json => Err("import reads CSV or XLSX".into()),
    };
    table.map_err(bad)
}

/// Decodes a CSV file's bytes: a BOM decides; else valid UTF-8 is UTF-8; else GB18030 (which
/// includes GBK). Returns the text and, when it was not UTF-8, the encoding's name for a note.
fn decode(bytes: &[u8]) -> Result<(String, Option<&'static str>), String> {
    let (encoding, bom_bytes) = encoding_rs::Encoding::for_bom(bytes).unwrap_or_else(|| {
        if std::str::from_utf8(bytes).is_ok() {
            (encoding_rs::UTF_8, 0)
        } else {
            (encoding_rs::GB18030, 0)
        }
    });
    let text = encoding
        .decode_without_bom_handling_and_without_replacement(&bytes[bom_bytes..])
        .ok_or_else(|| {
            format!(
                "it is in none of the encodings accepted, {CSV_ENCODINGS}: save it as CSV UTF-8"
            )
        })?;
    let name = match encoding.name() {
        "UTF-8" => None,
        "gb18030" => Some("GB18030 (GBK)"),
        other => Some(other),
    };
    Ok((text.into_owned(), name))
}

fn push_row(rows: &mut Vec<Vec<String>>, row: Vec<String>) -> Result<(), String> {
    if rows.len() >= TABLE_ROWS_MAX {
        return Err(format!("it has more than {TABLE_ROWS_MAX} rows"));
    }
    rows.push(row);
    Ok(())
}

fn read_csv(bytes: &[u8]) -> Result<Table, String> {
    let (text, encoding) = decode(bytes)?;
    let mut notes = Vec::new();
    if let Some(name) = encoding {
        notes.push(format!(
            "文件编码为 {name}，已转换 the CSV was read as {name}"
        ));
    }
    // Excel's "Unicode text" is tab-separated: a first line with tabs and no commas is read so.
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let blanks = blank_lines_before(&text);
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut index = 0;
    while reader.read_record(&mut record).map_err(|e| e.to_string())? {
        for _ in 0..blanks.get(index).copied().unwrap_or(0) {
            push_row(&mut rows, Vec::new())?;
        }
        push_row(&mut rows, record.iter().map(str::to_string).collect())?;
        index += 1;
    }
    Ok(Table { rows, notes })
}

/// For each record of a CSV text, how many blank lines come before it. The CSV reader skips blank
/// lines, but a spreadsheet shows each as an empty row, so they are put back to keep row numbers.
/// Line ends are `\n`, `\r\n` or `\r`, as for the reader; those inside quotes end no line.
fn blank_lines_before(text: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    let (mut blank, mut in_quotes, mut line_start) = (0, false, true);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '\r' | '\n') && !in_quotes {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            if line_start {
                blank += 1;
            }
            line_start = true;
            continue;
        }
        if c == '"' {
            in_quotes = !in_quotes;
        }
        if line_start {
            counts.push(blank);
            blank = 0;
            line_start = false;
        }
    }
    counts
}

/// Refuses an XLSX file whose parts would unpack to more than [`XLSX_UNPACKED_BYTES_MAX`], before
/// any part is unpacked.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("it is not an XLSX workbook: {e}"))?;
    if archive.len() > XLSX_PARTS_MAX {
        return Err(format!(
            "it has {} parts; at most {XLSX_PARTS_MAX}",
            archive.len()
        ));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let part = archive
            .by_index_raw(i)
            .map_err(|e| format!("it is not an XLSX workbook: {e}"))?;
        total = total.saturating_add(part.size());
    }
    if total > XLSX_UNPACKED_BYTES_MAX {
        return Err(format!(
            "it unpacks to {total} bytes; at most {XLSX_UNPACKED_BYTES_MAX}"
        ));
    }
    Ok(())
}

/// Reads the first sheet cell by cell (never as one rectangle, whose size a single far cell would
/// set), refusing a cell beyond [`TABLE_ROWS_MAX`] rows or [`TABLE_COLUMNS_MAX`] columns before
/// anything is allocated for it.
fn read_xlsx(bytes: &[u8]) -> Result<Table, String> {
    use calamine::Reader;
    check_unpacked_size(bytes)?;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| e.to_string())?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| "the workbook has no sheet".to_string())?;
    let mut cells = book
        .worksheet_cells_reader(&first)
        .map_err(|e| e.to_string())?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut dates = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(|e| e.to_string())? {
        let (r, c) = cell.get_position();
        if r as usize >= TABLE_ROWS_MAX {
            return Err(format!("it has more than {TABLE_ROWS_MAX} rows"));
        }
        if c >= TABLE_COLUMNS_MAX {
            return Err(format!(
                "it has a cell in column {} (row {}); at most {TABLE_COLUMNS_MAX} columns are read",
                column_name(c as usize),
                r + 1
            ));
        }
        let (text, is_date) = cell_text(&calamine::Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        if is_date {
            dates.push(format!(
                "第{n}行{col}列是日期，读作 {text} row {n} column {col} is a date cell, read as {text}",
                n = r + 1,
                col = column_name(c as usize),
            ));
        }
        let (r, c) = (r as usize, c as usize);
        if rows.len() <= r {
            rows.resize_with(r + 1, Vec::new);
        }
        let row = &mut rows[r];
        if row.len() <= c {
            row.resize_with(c + 1, String::new);
        }
        row[c] = text;
    }
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    let more = dates.len().saturating_sub(DATE_NOTES_MAX);
    dates.truncate(DATE_NOTES_MAX);
    if more > 0 {
        dates.push(format!(
            "另有 {more} 个日期单元格 and {more} more date cells"
        ));
    }
    Ok(Table { rows, notes: dates })
}

/// A cell as text, and whether it was a date cell: whole numbers without `.0`, dates as ISO
/// `2026-12-01` or `2026-12-01 09:30` (seconds only when not zero).
fn cell_text(cell: &calamine::Data) -> (String, bool) {
    use calamine::Data;
    match cell {
        Data::Float(f) => (number_text(*f), false),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, mo, day, h, mi, s, _) = d.to_ymd_hms_milli();
            let date = format!("{y:04}-{mo:02}-{day:02}");
            let time = match (h, mi, s) {
                (0, 0, 0) => String::new(),
                (_, _, 0) => format!("{h:02}:{mi:02}"),
                _ => format!("{h:02}:{mi:02}:{s:02}"),
            };
            let text = match (d.as_f64() < 1.0, time.is_empty()) {
                (true, false) => time, // a time of day with no date
                (_, true) => date,
                (false, false) => format!("{date} {time}"),
            };
            (text, true)
        }
        Data::DateTime(d) => (number_text(d.as_f64()), false),
        Data::DateTimeIso(iso) => {
            let (date, time) = iso.split_once('T').unwrap_or((iso, ""));
            let time = time.strip_suffix(":00").unwrap_or(time);
            let text = match time {
                "" | "00:00" => date.to_string(),
                _ => format!("{date} {time}"),
            };
            (text, true)
        }
        other => (other.to_string(), false),
    }
}

/// A number as a person wrote it: `15`, not `15.0`; fractions as the shortest exact decimal.
fn number_text(f: f64) -> String {
    // Whole numbers below 1e15 are exact in an f64 and far beyond any cell's integer.
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// The spreadsheet's name of 0-based column `index`: A, B, …, Z, AA, ….
fn column_name(index: usize) -> String {
    let mut name = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let digit = (n - 1) % 26;
        name.push(b'A' + digit as u8);
        n = (n - 1) / 26;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// Writes `rows` (header first) to `path` in `format`, through a temporary file and a rename. In
/// XLSX, the cells of the columns whose header is in `number_columns` are number cells when they
/// hold a number; every other cell is text, and empty cells are left out.
///
/// # Errors
/// IO or encoder errors.
pub fn write_table(
    path: &Path,
    rows: &[Vec<String>],
    format: TableFormat,
    number_columns: &[&str],
) -> Result<(), NodeError> {
    let bytes = table_bytes(rows, format, number_columns).map_err(|reason| {
        NodeError::NotAllowed(format!("cannot write {}: {reason}", path.display()))
    })?;
    let tmp = path.with_extension("tmp-export");
    std::fs::write(&tmp, bytes).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("replace", path))
}

/// The bytes of `rows` (header first) in `format`, as [`write_table`] writes them: what the
/// console sends as a download.
///
/// # Errors
/// The encoder's, in words.
pub fn table_bytes(
    rows: &[Vec<String>],
    format: TableFormat,
    number_columns: &[&str],
) -> Result<Vec<u8>, String> {
    match format {
        TableFormat::Csv => {
            let mut out = Vec::from("\u{feff}".as_bytes());
            {
                let mut writer = csv::Writer::from_writer(&mut out);
                for row in rows {
                    writer.write_record(row).map_err(|e| e.to_string())?;
                }
                writer.flush().map_err(|e| e.to_string())?;
            }
            Ok(out)
        }
        TableFormat::Xlsx => write_xlsx(rows, number_columns),
        TableFormat::Json => {
            let empty = Vec::new();
            let (header, data) = rows.split_first().unwrap_or((&empty, &[]));
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
            serde_json::to_vec_pretty(&objects).map_err(|e| e.to_string())
        }
    }
}

fn write_xlsx(rows: &[Vec<String>], number_columns: &[&str]) -> Result<Vec<u8>, String> {
    let is_number_column: Vec<bool> = rows
        .first()
        .map(|header| {
            header
                .iter()
                .map(|h| number_columns.contains(&h.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).map_err(|_| "too many rows".to_string())?;
        for (c, cell) in row.iter().enumerate() {
            let number = cell
                .parse::<f64>()
                .ok()
                .filter(|f| r > 0 && f.is_finite() && is_number_column.get(c) == Some(&true));
            let c = u16::try_from(c).map_err(|_| "too many columns".to_string())?;
            let written = match number {
                Some(f) => sheet.write_number(r, c, f).map(|_| ()),
                None if cell.is_empty() => Ok(()),
                None => sheet.write_string(r, c, cell).map(|_| ()),
            };
            written.map_err(|e| e.to_string())?;
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
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
            write_table(&path, &rows, TableFormat::of(&path).unwrap(), &[]).unwrap();
            assert_eq!(read_table(&path).unwrap().rows, rows, "{ext}");
        }
    }

    #[test]
    fn a_sheet_with_one_far_cell_is_refused_without_allocating_its_rectangle() {
        // A1 and XFD1048576 alone: read as a rectangle this is 17 billion cells (the node aborted
        // on it); read cell by cell it is refused at the far cell.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "事项编码").unwrap();
        sheet.write_string(1_048_575, 16_383, "far").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let err = read_table_bytes("bomb.xlsx", TableFormat::Xlsx, &bytes)
            .unwrap_err()
            .to_string();
        assert!(err.contains("XFD") && err.contains("1024"), "{err}");
        // A far row within the columns is read, with the rows between empty.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "a").unwrap();
        sheet.write_string(4, 2, "b").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let rows = read_table_bytes("t.xlsx", TableFormat::Xlsx, &bytes)
            .unwrap()
            .rows;
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[4], vec![String::new(), String::new(), "b".into()]);
        assert!(rows[1].is_empty());
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

    #[test]
    fn date_cells_read_as_iso_dates() {
        // Defect 1: a date cell was read as its Excel serial (46357.39583333334).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let when = rust_xlsxwriter::ExcelDateTime::parse_from_str("2026-12-01T09:30:00").unwrap();
        let day = rust_xlsxwriter::ExcelDateTime::parse_from_str("2026-12-01").unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm");
        sheet
            .write_datetime_with_format(0, 0, &when, &format)
            .unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet
            .write_datetime_with_format(0, 1, &day, &format)
            .unwrap();
        book.save(&path).unwrap();
        let table = read_table(&path).unwrap();
        assert_eq!(table.rows, [["2026-12-01 09:30", "2026-12-01"]]);
        assert_eq!(table.notes.len(), 2, "{table:?}");
        assert!(
            table.notes[0].contains("row 1 column A is a date cell"),
            "{table:?}"
        );
    }

    #[test]
    fn leading_empty_rows_keep_the_sheets_row_numbers() {
        // Defect 4: rows[i] must be the sheet's row i + 1 even when the first rows are empty.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        book.add_worksheet().write_string(2, 0, "事项编码").unwrap();
        book.save(&path).unwrap();
        let rows = read_table(&path).unwrap().rows;
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[2], ["事项编码"]);
    }

    #[test]
    fn gbk_csv_from_excel_on_chinese_windows_is_read() {
        // Defect 6: Excel on Chinese Windows saves CSV in GBK; it was refused.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let (bytes, _, _) =
            encoding_rs::GBK.encode("事项编码,事项名称\r\n440100001000,居民身份证换领\r\n");
        std::fs::write(&path, bytes).unwrap();
        let table = read_table(&path).unwrap();
        assert_eq!(table.rows[1], ["440100001000", "居民身份证换领"]);
        assert!(table.notes[0].contains("GB18030"), "{table:?}");
    }

    #[test]
    fn number_columns_are_written_as_number_cells() {
        // Defect 2: 法定时限 and 承诺时限 were exported as text cells.
        use calamine::{Data, Reader};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let rows = vec![
            vec!["事项编码".to_string(), "承诺时限".into(), "申报材料".into()],
            vec!["440100001000".into(), "10".into(), "".into()],
            vec!["440100002000".into(), "十".into(), "a|身份证|原件|1".into()],
        ];
        write_table(&path, &rows, TableFormat::Xlsx, &["承诺时限"]).unwrap();
        let mut book = calamine::open_workbook_auto(&path).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        assert_eq!(range.get_value((1, 1)), Some(&Data::Float(10.0)));
        assert_eq!(
            range.get_value((1, 0)),
            Some(&Data::String("440100001000".into())),
            "codes stay text"
        );
        assert_eq!(range.get_value((2, 1)), Some(&Data::String("十".into())));
        assert_eq!(
            range.get_value((0, 1)),
            Some(&Data::String("承诺时限".into()))
        );
        assert_eq!(read_table(&path).unwrap().rows[1], ["440100001000", "10"]);
    }

    #[test]
    fn numbers_and_dates_read_as_a_person_wrote_them() {
        use calamine::{Data, ExcelDateTime, ExcelDateTimeType::DateTime};
        let date = |f: f64| Data::DateTime(ExcelDateTime::new(f, DateTime, false));
        for (cell, text) in [
            (Data::Float(15.0), "15"),
            (Data::Float(-3.0), "-3"),
            (Data::Float(0.25), "0.25"),
            (Data::Float(1e20), "100000000000000000000"),
            (Data::Int(7), "7"),
            (date(46357.39583333334), "2026-12-01 09:30"),
            (date(46357.0), "2026-12-01"),
            (date(46357.5000115740), "2026-12-01 12:00:01"),
            (date(0.75), "18:00"),
            (
                Data::DateTimeIso("2026-12-01T09:30:00".into()),
                "2026-12-01 09:30",
            ),
            (
                Data::DateTimeIso("2026-12-01T00:00:00".into()),
                "2026-12-01",
            ),
        ] {
            assert_eq!(cell_text(&cell).0, text, "{cell:?}");
        }
        assert_eq!(
            [0, 25, 26, 701, 702].map(column_name),
            ["A", "Z", "AA", "ZZ", "AAA"]
        );
    }

    #[test]
    fn csv_encodings_blank_lines_and_tabs() {
        // Goal: UTF-16 with BOM (Excel's tab-separated "Unicode text") is read; blank lines count
        // as rows; bytes in no accepted encoding are refused naming the encodings accepted.
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(
                "事项编码\t名称\r\n\r\n1\t甲\r\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        let table = read_csv(&utf16).unwrap();
        assert_eq!(
            table.rows,
            [vec!["事项编码", "名称"], vec![], vec!["1", "甲"]]
        );
        assert!(table.notes[0].contains("UTF-16LE"), "{table:?}");
        let table = read_csv("\n\r\na,b\r\"多\n\n行\",c\n\nd,e".as_bytes()).unwrap();
        let rows: Vec<usize> = table.rows.iter().map(Vec::len).collect();
        assert_eq!(rows, [0, 0, 2, 2, 0, 2], "{table:?}");
        assert_eq!(table.rows[3][0], "多\n\n行");
        assert!(table.notes.is_empty());
        let error = read_csv(&[b'a', 0x81, 0x20, b'\n']).unwrap_err();
        assert!(
            error.contains("GB18030") && error.contains("UTF-16"),
            "{error}"
        );
    }
}
