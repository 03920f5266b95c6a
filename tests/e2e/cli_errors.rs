//! Bad command lines and bad config files give clear errors and a non-zero exit.

use hallsync_tests::run_cli;

fn run(args: &[&str]) -> (bool, String) {
    {
        let (ok, _, err) = run_cli(args);
        (ok, err)
    }
}

#[test]
fn bad_arguments_fail_with_a_message() {
    // Goal: every kind of bad input names what is wrong and exits non-zero.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("n");
    let data = data.to_str().unwrap();
    let (ok, err) = run(&["frobnicate"]);
    assert!(!ok && err.contains("unrecognized subcommand"), "{err}");
    let (ok, err) = run(&[
        "init", "--data", data, "--hall", "4403", "--level", "county", "--name", "x",
    ]);
    assert!(!ok && err.contains("county"), "{err}");
    let (ok, err) = run(&[
        "init", "--data", data, "--hall", "bad id!", "--level", "city", "--name", "x",
    ]);
    assert!(!ok && err.contains("hall"), "{err}");
    let (ok, err) = run(&["status", "--data", data]);
    assert!(!ok && err.contains("hallsync init"), "{err}");

    let (ok, _) = run(&[
        "init",
        "--data",
        data,
        "--hall",
        "4403",
        "--level",
        "city",
        "--name",
        "市中心",
        "--genesis",
    ]);
    assert!(ok);
    let (ok, err) = run(&[
        "init", "--data", data, "--hall", "4403", "--level", "city", "--name", "x",
    ]);
    assert!(!ok && err.contains("already"), "{err}");
    let (ok, err) = run(&[
        "invite",
        "--data",
        data,
        "--device",
        "NOT-A-DEVICE",
        "--hall",
        "440305",
        "--level",
        "district",
        "--role",
        "admin",
    ]);
    assert!(!ok && err.contains("device id"), "{err}");
    let (ok, err) = run(&["approve", "--data", data, "deadbeef"]);
    assert!(!ok && err.contains("no pending proposal"), "{err}");
    let (ok, err) = run(&[
        "item",
        "create",
        "--data",
        data,
        "--code",
        "A1",
        "--name",
        "n",
        "--type",
        "magic",
        "--department",
        "d",
        "--promised-days",
        "3",
    ]);
    assert!(!ok && err.contains("item type"), "{err}");
    let (ok, err) = run(&[
        "item",
        "create",
        "--data",
        data,
        "--code",
        "440100001000",
        "--name",
        "n",
        "--type",
        "administrative_license",
        "--department",
        "d",
        "--promised-days",
        "30",
        "--statutory-days",
        "20",
    ]);
    assert!(!ok && err.contains("C5"), "{err}");
    let (ok, err) = run(&[
        "item",
        "create",
        "--data",
        data,
        "--code",
        "442000001000",
        "--name",
        "n",
        "--type",
        "administrative_license",
        "--department",
        "d",
        "--promised-days",
        "3",
    ]);
    assert!(!ok && err.contains("C1"), "{err}");
    let (ok, _) = run(&[
        "item",
        "create",
        "--data",
        data,
        "--code",
        "440100001000",
        "--name",
        "n",
        "--type",
        "administrative_license",
        "--department",
        "d",
        "--promised-days",
        "3",
    ]);
    assert!(ok);
    let (ok, err) = run(&[
        "station",
        "propose",
        "--data",
        data,
        "--item",
        "440100001000",
    ]);
    assert!(
        !ok && err.contains("C4") && err.contains("设立依据"),
        "{err}"
    );
    let (ok, err) = run(&[
        "item",
        "create",
        "--data",
        data,
        "--code",
        "440100002000",
        "--name",
        "n",
        "--type",
        "administrative_license",
        "--department",
        "d",
        "--promised-days",
        "3",
        "--material",
        "a:b",
    ]);
    assert!(!ok && err.contains("--material"), "{err}");
    // A case number that would make an unreadable record id is refused, and the node still opens.
    let (ok, _) = run(&[
        "item",
        "create",
        "--data",
        data,
        "--code",
        "442000001000",
        "--name",
        "n",
        "--type",
        "public_service",
        "--department",
        "d",
        "--promised-days",
        "3",
        "--cross-region",
        "citywide",
    ]);
    assert!(ok);
    let (ok, err) = run(&[
        "case",
        "open",
        "--data",
        data,
        "--item",
        "442000001000",
        "--handling",
        "4403",
        "--no",
        "A/B",
        "--applicant-id",
        "1",
    ]);
    assert!(!ok && err.contains("case number"), "{err}");
    let (ok, err) = run(&["status", "--data", data]);
    assert!(ok, "{err}");
    let (ok, err) = run(&["join", "--data", data, "HSI1.garbage"]);
    assert!(!ok && err.contains("token"), "{err}");
}

#[test]
fn unknown_config_key_is_named_in_the_error() {
    // Goal: a typo in config.toml stops the node with the key named, and changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("n");
    let data_s = data.to_str().unwrap();
    let (ok, _) = run(&[
        "init",
        "--data",
        data_s,
        "--hall",
        "4403",
        "--level",
        "city",
        "--name",
        "市中心",
        "--genesis",
    ]);
    assert!(ok);
    let path = data.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let typo = text.replacen("[network]\n", "[network]\nsync_intervall_ms = 5\n", 1);
    assert_ne!(typo, text, "the saved config has a [network] table");
    std::fs::write(&path, typo).unwrap();
    let (ok, err) = run(&["status", "--data", data_s]);
    assert!(!ok, "a bad config must fail");
    assert!(err.contains("sync_intervall_ms"), "{err}");
    let (ok, err) = run(&["run", "--data", data_s]);
    assert!(!ok && err.contains("sync_intervall_ms"), "{err}");
}
