//! Catalogue import and export through the CLI, on real CSV and XLSX files.

use hallsync_tests::run_cli;

fn run(args: &[&str]) -> (bool, String, String) {
    run_cli(args)
}

const HEADER: &str = "事项编码,事项名称,事项类型,实施主体,设定依据,实施依据,办理条件,办理流程,是否收费,收费标准,收费依据,法定时限,承诺时限,通办范围,办事指南,申报材料";

#[test]
fn bad_rows_are_all_reported_and_nothing_is_half_imported_then_a_good_table_round_trips() {
    // Goal: a table with bad rows imports nothing and names every bad cell with its row and column;
    // the corrected table imports, and exporting it as CSV and XLSX and importing again changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("city");
    let d = data.to_str().unwrap();
    assert!(
        run(&[
            "init",
            "--data",
            d,
            "--hall",
            "4403",
            "--level",
            "city",
            "--name",
            "市中心",
            "--genesis"
        ])
        .0
    );
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
