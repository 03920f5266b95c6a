//! Catalogue import and export through the CLI, on real CSV and XLSX files.

use hallsync_tests::run_cli;

fn run(args: &[&str]) -> (bool, String, String) {
    run_cli(args)
}

/// The catalogue table's header row, as the city's spreadsheets have it.
pub(crate) const HEADER: &str = "事项编码,事项名称,事项类型,实施主体,设定依据,实施依据,办理条件,办理流程,是否收费,收费标准,收费依据,法定时限,承诺时限,通办范围,办事指南,申报材料";

#[test]
fn bad_rows_are_all_reported_and_nothing_is_half_imported_then_a_good_table_round_trips() {
    // Goal: a table with bad rows imports nothing and names every bad cell with its row and column;
    // the corrected table imports, and exporting it as CSV and XLSX and importing again changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let d = hallsync_tests::genesis_city(dir.path(), "city");
    let d = d.as_str();
    let good = "440100001000,居民身份证换领,行政许可,公安局,法,规,条件,流程,否,,,20,10,全市通办,指南,id|身份证|原件|1|必要";
    let bad_c5 = "440100002000,个体工商户登记,行政许可,市监局,法,规,条件,流程,否,,,3,5,不通办,指南,id|申请书|原件|1";
    let bad_type = "440100003000,户籍迁移,许可,公安局,法,规,条件,流程,也许,,,,2,不通办,指南,";
    let csv = dir.path().join("items.csv");
    std::fs::write(&csv, format!("{HEADER}\n{good}\n{bad_c5}\n{bad_type}\n")).unwrap();
    let (ok, out, _) = run(&[
        "catalogue",
        "import",
        "--data",
        d,
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert!(!ok, "a table with errors fails");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let errors = report["errors"].as_array().unwrap();
    let at = |row: u64, column: &str| {
        errors
            .iter()
            .any(|e| e["row"] == row && e["column"] == column)
    };
    assert!(
        at(3, "承诺时限") && at(4, "事项类型") && at(4, "是否收费"),
        "{report:#}"
    );
    assert!(errors
        .iter()
        .any(|e| e["message"].as_str().unwrap().contains("C5")));
    let (_, items, _) = run(&["items", "--data", d, "--json"]);
    assert!(items.contains("\"items\": []"), "nothing imported: {items}");

    std::fs::write(&csv, format!("{HEADER}\n{good}\n")).unwrap();
    let (ok, out, _) = run(&[
        "catalogue",
        "import",
        "--data",
        d,
        csv.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(ok && out.contains("dry run"), "{out}");
    let (ok, out, err) = run(&[
        "catalogue",
        "import",
        "--data",
        d,
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("\"imported\": 1"), "{out}");

    for ext in ["csv", "xlsx", "json"] {
        let file = dir.path().join(format!("export.{ext}"));
        let (ok, _, err) = run(&[
            "export",
            "--data",
            d,
            "--kind",
            "items",
            "--out",
            file.to_str().unwrap(),
        ]);
        assert!(ok, "{ext}: {err}");
        assert!(std::fs::metadata(&file).unwrap().len() > 0);
        if ext != "json" {
            let (ok, out, err) = run(&[
                "catalogue",
                "import",
                "--data",
                d,
                file.to_str().unwrap(),
                "--json",
            ]);
            assert!(ok, "{ext}: {err}");
            assert!(
                out.contains("\"unchanged\": 1"),
                "{ext}: re-importing the export changes nothing: {out}"
            );
        }
    }
    let (ok, _, err) = run(&[
        "export",
        "--data",
        d,
        "--kind",
        "bogus",
        "--out",
        dir.path().join("s.csv").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not a record kind"), "{err}");
    for kind in ["stationing", "staff", "departments", "cases"] {
        let file = dir.path().join(format!("{kind}.xlsx"));
        let (ok, _, err) = run(&[
            "export",
            "--data",
            d,
            "--kind",
            kind,
            "--out",
            file.to_str().unwrap(),
        ]);
        assert!(ok, "{kind}: {err}");
    }
}

/// The committed fixture `name` under `tests/fixtures/` (see `make_fixtures.py` there).
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A new genesis city in `dir/name`; returns its data directory.
fn city(dir: &std::path::Path, name: &str) -> String {
    hallsync_tests::genesis_city(dir, name)
}

/// `catalogue import FILE --json`: whether it succeeded, and the report.
fn import(d: &str, file: &std::path::Path) -> (bool, serde_json::Value) {
    let (ok, out, err) = run(&[
        "catalogue",
        "import",
        "--data",
        d,
        file.to_str().unwrap(),
        "--json",
    ]);
    let report = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
    (ok, report)
}

/// The catalogue as `items --json` shows it, by code.
fn items(d: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    let (ok, out, err) = run(&["items", "--data", d, "--json"]);
    assert!(ok, "{err}");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    value["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["code"].as_str().unwrap().to_string(), i.clone()))
        .collect()
}

fn material_ids(item: &serde_json::Value) -> Vec<&str> {
    item["materials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

#[test]
fn title_rows_date_cells_and_sheet_order_are_read_as_the_sheet_shows_them() {
    // Goal (issue #9 item 7, defects 1, 3, 5): an openpyxl workbook with a merged title row above
    // the header imports, with a note that row 1 was skipped; date cells read as ISO dates, not
    // Excel serials; number cells as whole numbers; materials keep the sheet's order.
    let dir = tempfile::tempdir().unwrap();
    let d = city(dir.path(), "city");
    let (ok, report) = import(&d, &fixture("title_row.xlsx"));
    assert!(ok, "{report:#}");
    assert_eq!(report["imported"], 2, "{report:#}");
    let notes = report["notes"].to_string();
    assert!(notes.contains("row 1 is a title row"), "{report:#}");
    let items = items(&d);
    let id = &items["440100001000"];
    assert_eq!(id["guide"], "2026-12-01 09:30", "a date-time cell");
    assert_eq!(
        (id["statutory_days"].as_i64(), id["promised_days"].as_i64()),
        (Some(20), Some(10))
    );
    assert_eq!(
        material_ids(id),
        ["photo", "id", "form"],
        "the sheet's order"
    );
    let elder = &items["442000002000"];
    assert_eq!(elder["process"], "2026-12-01", "a date cell");
    assert_eq!(material_ids(elder), ["b", "a"]);
}

#[test]
fn row_numbers_below_empty_rows_are_the_sheets_own() {
    // Goal (defect 4): a sheet whose first two rows are empty reports its bad cells with the row
    // numbers the spreadsheet shows (the bad row is row 5), not counted from the first used row.
    let dir = tempfile::tempdir().unwrap();
    let d = city(dir.path(), "city");
    let (ok, report) = import(&d, &fixture("empty_rows.xlsx"));
    assert!(!ok, "{report:#}");
    let errors = report["errors"].as_array().unwrap();
    let at = |row: u64, column: &str| {
        errors
            .iter()
            .any(|e| e["row"] == row && e["column"] == column)
    };
    assert!(at(5, "事项类型") && at(5, "承诺时限"), "{report:#}");
    assert!(errors.iter().all(|e| e["row"] == 5), "{report:#}");
}

#[test]
fn a_gbk_csv_from_excel_on_chinese_windows_imports() {
    // Goal (defects 2, 6): a CSV in GBK, as Excel on Chinese Windows saves "CSV (逗号分隔)", written
    // by pandas with 法定时限 as floats (`20.0`), imports with its Chinese text intact.
    let dir = tempfile::tempdir().unwrap();
    let d = city(dir.path(), "city");
    let (ok, report) = import(&d, &fixture("gbk.csv"));
    assert!(ok, "{report:#}");
    assert_eq!(report["imported"], 2, "{report:#}");
    let items = items(&d);
    let id = &items["440100001000"];
    assert_eq!(id["name"], "居民身份证换领");
    assert_eq!(id["statutory_days"], 20);
    assert_eq!(material_ids(id), ["photo", "id"]);
}

/// Runs `script` with python3 and `args`; `None` when python3, openpyxl or pandas is missing.
fn python(script: &str, args: &[&std::path::Path]) -> Option<String> {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import openpyxl, pandas"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: python3 with openpyxl and pandas is not installed");
        return None;
    }
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into())
}

/// Checks an export with openpyxl, then re-saves it as halls' tools do: openpyxl load/save, pandas
/// read_excel/to_excel (with its index column), pandas read_csv/to_csv in UTF-8 and in GB18030.
const RESAVE: &str = r#"
import sys, openpyxl, pandas as pd
xlsx, csv, out = sys.argv[1], sys.argv[2], sys.argv[3]
sheet = openpyxl.load_workbook(xlsx).active
rows = list(sheet.iter_rows(values_only=True))
header = list(rows[0])
for row in rows[1:]:
    for name in ("法定时限", "承诺时限"):
        value = row[header.index(name)]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (name, value)
print(rows[1][header.index("申报材料")])
openpyxl.load_workbook(xlsx).save(out + "/openpyxl.xlsx")
pd.read_excel(xlsx).to_excel(out + "/pandas.xlsx")
pd.read_csv(csv).to_csv(out + "/pandas.csv", index=False)
pd.read_csv(csv).to_csv(out + "/gb18030.csv", index=False, encoding="gb18030")
"#;

#[test]
fn exports_re_saved_by_openpyxl_and_pandas_import_unchanged() {
    // Goal (defects 2, 3, 7): an XLSX export has number cells for the limits and materials in the
    // sheet's order, as openpyxl reads it; the exports re-saved by openpyxl and pandas (XLSX, and
    // CSV in UTF-8 and GB18030) import with every row unchanged.
    let dir = tempfile::tempdir().unwrap();
    let d = city(dir.path(), "city");
    assert!(import(&d, &fixture("title_row.xlsx")).0);
    let (xlsx, csv) = (
        dir.path().join("export.xlsx"),
        dir.path().join("export.csv"),
    );
    for file in [&xlsx, &csv] {
        let (ok, _, err) = run(&[
            "export",
            "--data",
            &d,
            "--kind",
            "items",
            "--out",
            file.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
    }
    let Some(first_materials) = python(RESAVE, &[&xlsx, &csv, dir.path()]) else {
        return;
    };
    assert_eq!(
        first_materials.trim(),
        "photo|照片|复印件|2|容缺; id|身份证|原件|1|必要; form|申请表|原件|1|必要"
    );
    for name in ["openpyxl.xlsx", "pandas.xlsx", "pandas.csv", "gb18030.csv"] {
        let (ok, report) = import(&d, &dir.path().join(name));
        assert!(ok, "{name}: {report:#}");
        assert_eq!(
            (report["imported"].as_u64(), report["unchanged"].as_u64()),
            (Some(0), Some(2)),
            "{name}: {report:#}"
        );
    }
}

#[test]
fn a_running_node_answers_status_while_it_imports_a_large_table() {
    // Goal (issue #9): long work does not stop the node. The import goes to the running node in
    // slices; between them the node answers other commands, so `status` answers while the import
    // is still under way, and the import itself completes however long it takes.
    use hallsync::harness::Federation;
    use hallsync_node::Command;
    let mut fed = Federation::new(&hallsync_tests::hallsync_bin(), None).unwrap();
    let city = fed.add_city("city", "4403", "市中心").unwrap();
    let d = fed.node(city).dir.to_str().unwrap().to_string();
    let table = fed.node(city).dir.join("big.csv");
    write_licence_table(&table, 3000);
    let importing = import_in_background(&d, &table);
    let mut answered_meanwhile = 0;
    for _ in 0..1_200 {
        if importing.is_finished() {
            break;
        }
        let status = fed.node(city).call(Command::Status).unwrap();
        assert_eq!(status["running"], true);
        if !importing.is_finished() {
            answered_meanwhile += 1;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (ok, out, err) = importing.join().unwrap();
    assert!(ok, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["imported"], 3000, "{report:#}");
    // A node busy with one long command would answer at most the one status queued behind it
    // before the CLI exits; slices leave room for several.
    assert!(
        answered_meanwhile >= 3,
        "status answered only {answered_meanwhile} times during the import"
    );
    let status = fed.node(city).call(Command::Status).unwrap();
    assert_eq!(
        status["documents"], 3001,
        "the items and the trust record: {status:#}"
    );
}

#[test]
fn a_node_killed_during_an_import_restarts_with_the_import_whole_or_absent() {
    // Goal (issue #10): `kill -9` at any moment of a catalogue import — while parts are staged,
    // while the last one is applied, after it — leaves the store with all 2 000 rows or none,
    // never part of them (which would sync to peers). Many cycles, bounded in count and time.
    use hallsync::harness::NodeProcess;
    use hallsync_node::Command;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let d = city(dir.path(), "city");
    let table = dir.path().join("big.csv");
    write_licence_table(&table, 2000);
    let mut node = NodeProcess::new("city", d.clone().into(), &hallsync_tests::hallsync_bin());
    let started = Instant::now();
    let (mut whole, mut absent) = (0, 0);
    for cycle in 0..16u64 {
        if started.elapsed() > Duration::from_secs(150) {
            break;
        }
        node.start(Duration::from_secs(30)).unwrap();
        let importing = import_in_background(&d, &table);
        // Spread the kills over the import: staging, applying, done.
        std::thread::sleep(Duration::from_millis(40 + cycle * 70));
        node.kill();
        let _ = importing.join();
        let status = node.exec(Command::Status).unwrap();
        let items = status["documents"].as_u64().unwrap() - 1;
        match items {
            0 => absent += 1,
            2000 => {
                whole += 1;
                // Start from an empty catalogue again: a fresh node in a fresh directory.
                std::fs::remove_dir_all(&d).unwrap();
                let again = city(dir.path(), "city");
                assert_eq!(again, d);
                node = NodeProcess::new("city", d.clone().into(), &hallsync_tests::hallsync_bin());
            }
            n => panic!("cycle {cycle}: {n} of 2000 rows imported: a half import survived a crash"),
        }
    }
    assert!(
        absent + whole >= 4,
        "too few cycles ran: {absent} absent, {whole} whole"
    );
    eprintln!("kill -9 during imports: {absent} absent, {whole} whole");
}

/// Writes a CSV catalogue of `rows` complete licence items (codes 4401NNNNN000).
fn write_licence_table(path: &std::path::Path, rows: usize) {
    let rows: Vec<String> = (1..=rows)
        .map(|i| format!("4401{i:05}000,事项{i},行政许可,市公安局,法,规,条件,流程,否,,,20,10,全市通办,指南,id|身份证|原件|1|必要"))
        .collect();
    std::fs::write(path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
}

/// `catalogue import TABLE --json` on the node in `d`, on a thread: (ok, stdout, stderr).
fn import_in_background(
    d: &str,
    table: &std::path::Path,
) -> std::thread::JoinHandle<(bool, String, String)> {
    let (d, table) = (d.to_string(), table.to_path_buf());
    std::thread::spawn(move || {
        run_cli(&[
            "catalogue",
            "import",
            "--data",
            &d,
            table.to_str().unwrap(),
            "--json",
        ])
    })
}
