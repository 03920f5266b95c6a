//! `catalogue import` and `export`: tables read and written by the CLI, the records by the node.

use std::path::Path;

use anyhow::Result;
use hallsync::client::execute;
use hallsync_model::records::item_table;
use hallsync_node::table_io::{read_table, write_table, TableFormat};
use hallsync_node::Command;
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
    let mut value = execute(
        dir,
        Command::CatalogueImport {
            rows: table.rows,
            dry_run,
        },
    )?;
    if !json {
        for note in &notes {
            println!("注意 note: {note}");
        }
    }
    value["notes"] = json!(notes);
    print("catalogue-import", &value, json);
    if value["ok"] != Value::Bool(true) {
        anyhow::bail!("the table has errors; nothing was imported");
    }
    Ok(())
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
    );
    Ok(())
}
