//! `catalogue import` and `export`: tables read and written by the CLI, the records by the node.

use std::path::Path;

use std::io::IsTerminal;

use anyhow::Result;
use hallsync::client::execute;
use hallsync_model::records::item_table;
use hallsync_node::engine::response::ImportReport;
use hallsync_node::table_io::{read_table, write_table, TableFormat};
use hallsync_node::Command;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::output::print;

/// `catalogue import FILE [--dry-run]`: the node checks and imports the rows; the report gets the
/// notes on what was read differently from the file (encoding, date cells, skipped title rows).
///
/// # Errors
/// A file that cannot be read, a node that refuses, or a table with errors (nothing imported).
pub fn import(dir: &Path, file: &Path, dry_run: bool, json: bool) -> Result<()> {
    let table = read_table(file)?;
    let mut notes = item_table::notes(&table.rows);
    notes.extend(table.notes);
    // The whole table is checked first: a table with any bad cell imports nothing.
    let mut value = execute(
        dir,
        Command::CatalogueImport {
            rows: table.rows.clone(),
            dry_run: true,
            part: None,
        },
    )?;
    let checked: ImportReport = serde_json::from_value(value.clone())?;
    if !dry_run && checked.ok {
        value = import_slices(dir, &table.rows, json)?;
    }
    if !json {
        for note in &notes {
            outln!("注意 note: {note}");
        }
    }
    value["notes"] = json!(notes);
    print("catalogue-import", &value, json)?;
    let report: ImportReport = serde_json::from_value(value)?;
    if !report.ok {
        anyhow::bail!("the table has errors; nothing was imported");
    }
    Ok(())
}

/// Rows sent in one command: the node stages each part and serves other commands between parts,
/// so `status` answers during an import of any size; the last part applies them all in one
/// transaction, so a crash leaves the import whole or absent.
const SLICE_ROWS: usize = 250;

/// Imports a checked table a slice at a time, with a progress bar on a terminal.
fn import_slices(dir: &Path, rows: &[Vec<String>], json: bool) -> Result<Value> {
    let Some(at) = item_table::header_index(rows) else {
        anyhow::bail!("the table has no header row");
    };
    let (header, data) = (&rows[at], &rows[at + 1..]);
    let data: Vec<&Vec<String>> = data
        .iter()
        .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
        .collect();
    let bar = if !json && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(data.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "导入 importing {bar:40} {pos}/{len} rows  {elapsed_precise} (eta {eta}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let mut session = hallsync::client::Session::new(dir)?;
    let (mut imported, mut unchanged) = (0_usize, 0_usize);
    let import = hex::encode(
        hallsync_node::control::proof::challenge()
            .map_err(|e| anyhow::anyhow!("no randomness for an import id: {e}"))?,
    );
    let parts = data.len().div_ceil(SLICE_ROWS).max(1);
    for (index, slice) in data.chunks(SLICE_ROWS).enumerate() {
        let rows: Vec<Vec<String>> = std::iter::once(header.clone())
            .chain(slice.iter().map(|r| (*r).clone()))
            .collect();
        if index + 1 == parts {
            if let Some(bar) = &bar {
                bar.set_message("applying 写入中");
            }
        }
        let answer = session.run(Command::CatalogueImport {
            rows,
            dry_run: false,
            part: Some(hallsync_node::engine::ImportPart {
                import: import.clone(),
                index: u32::try_from(index)?,
                last: index + 1 == parts,
            }),
        })?;
        let report: ImportReport = serde_json::from_value(answer.clone())?;
        if !report.ok {
            if let Some(bar) = &bar {
                bar.abandon();
            }
            return Ok(answer);
        }
        imported += report.imported;
        unchanged += report.unchanged;
        if let Some(bar) = &bar {
            bar.inc(slice.len() as u64);
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Ok(hallsync_node::engine::response::encode(&ImportReport {
        ok: true,
        dry_run: false,
        staged: None,
        imported,
        unchanged,
        rows: data.len(),
        errors: Vec::new(),
    }))
}

/// `export --kind KIND --out FILE [--format F]`: the node's rows written as CSV, XLSX or JSON; the
/// catalogue's working-day columns as number cells.
///
/// # Errors
/// An unknown format or kind, or a file that cannot be written.
pub fn export(
    dir: &Path,
    kind: String,
    format: Option<String>,
    out: &Path,
    json: bool,
) -> Result<()> {
    let format = match format {
        Some(f) => TableFormat::parse(&f)?,
        None => TableFormat::of(out)?,
    };
    let number_columns: &[&str] = if kind == "items" {
        &item_table::NUMBER_COLUMNS
    } else {
        &[]
    };
    let command = Command::Records {
        kind,
        after: None,
        limit: Some(hallsync_model::page::PAGE_LIMIT_MAX),
    };
    let value = hallsync::client::execute_pages(dir, command, false)?;
    let rows: Vec<Vec<String>> = serde_json::from_value(value["rows"].clone())?;
    write_table(out, &rows, format, number_columns)?;
    print(
        "export",
        &json!({ "rows": rows.len().saturating_sub(1), "file": out }),
        json,
    )?;
    Ok(())
}
