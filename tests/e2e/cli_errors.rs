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

    assert_eq!(hallsync_tests::genesis_city(dir.path(), "n"), data);
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
    let (ok, err) = run(&["join", "--data", data, "HSI2.garbage"]);
    assert!(!ok && err.contains("token"), "{err}");
    let (ok, err) = run(&["join", "--data", data, "HSI1.garbage"]);
    assert!(!ok && err.contains("not signed"), "{err}");
}

#[test]
fn unknown_config_key_is_named_in_the_error() {
    // Goal: a typo in config.toml stops the node with the key named, and changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let data_s = hallsync_tests::genesis_city(dir.path(), "n");
    let data = std::path::PathBuf::from(&data_s);
    let data_s = data_s.as_str();
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

#[test]
fn writing_into_the_data_directory_or_over_a_file_is_refused() {
    // Goal (issue #10): `export` and `bundle export` cannot overwrite the node's store or key, even
    // through a link, and never overwrite a file without --force; the store and key stay as they were.
    let dir = tempfile::tempdir().unwrap();
    let data_s = hallsync_tests::genesis_city(dir.path(), "n");
    let data = std::path::PathBuf::from(&data_s);
    let data_s = data_s.as_str();
    let store = std::fs::read(data.join("store.redb")).unwrap();
    let key = std::fs::read(data.join("device.key")).unwrap();

    // `export --kind items --out PATH`, or `bundle export PATH`, with or without --force.
    let export = |bundle: bool, out: &std::path::Path, force: bool| {
        let out = out.to_str().unwrap();
        let mut args = if bundle {
            vec!["bundle", "export", "--data", data_s, out]
        } else {
            vec!["export", "--data", data_s, "--kind", "items", "--out", out]
        };
        if force {
            args.push("--force");
        }
        run(&args)
    };
    let refused = |(ok, err): (bool, String)| !ok && err.contains("data directory");
    assert!(refused(export(false, &data.join("store.redb"), false)));
    assert!(refused(export(true, &data.join("device.key"), false)));
    assert!(
        refused(export(true, &data.join("device.key"), true)),
        "--force does not open the data directory"
    );
    #[cfg(unix)]
    {
        let link = dir.path().join("innocent.json");
        std::os::unix::fs::symlink(data.join("device.key"), &link).unwrap();
        assert!(refused(export(false, &link, true)), "through a link");
    }
    assert_eq!(std::fs::read(data.join("store.redb")).unwrap(), store);
    assert_eq!(std::fs::read(data.join("device.key")).unwrap(), key);

    let out = dir.path().join("items.csv");
    let (ok, err) = export(false, &out, false);
    assert!(ok, "{err}");
    let (ok, err) = export(false, &out, false);
    assert!(!ok && err.contains("--force"), "{err}");
    let (ok, err) = export(false, &out, true);
    assert!(ok, "{err}");
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_private_and_is_made_so_again_when_found_wider() {
    // Goal (issue #10): a local user cannot read the store, the key or the config: the directory is
    // 0700 and its files 0600 from `init`, and opening the node narrows what someone widened.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data_s = hallsync_tests::genesis_city(dir.path(), "n");
    let data = std::path::PathBuf::from(&data_s);
    let data_s = data_s.as_str();
    let files = ["store.redb", "device.key", "config.toml"];
    assert_eq!(mode(&data), 0o700);
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in files {
        std::fs::set_permissions(data.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (ok, err) = run(&["status", "--data", data_s]);
    assert!(ok, "{err}");
    assert_eq!(mode(&data), 0o700);
    for f in files {
        assert_eq!(mode(&data.join(f)), 0o600, "{f} narrowed again");
    }
}

#[test]
fn an_unauthenticated_control_request_is_refused_before_its_body_is_read() {
    // Goal (issue #10): a request without the token that announces a 64 MiB body is answered 401
    // from its headers alone: the node reads none of the body (here, it never arrives).
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = hallsync_tests::genesis_city(dir.path(), "city");
    let mut node = hallsync::harness::NodeProcess::new(
        "city",
        std::path::PathBuf::from(&data),
        &hallsync_tests::hallsync_bin(),
    );
    node.start(std::time::Duration::from_secs(30)).unwrap();
    let control = hallsync_node::DataDir::new(&data).control_file();
    let info = hallsync_node::control::ControlInfo::read(&control)
        .unwrap()
        .unwrap();
    let addr = info.addr.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            b"POST /api/command HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n\
              Content-Length: 67108864\r\n\r\n{\"Status",
        )
        .unwrap();
    let mut answer = [0u8; 64];
    let read = stream
        .read(&mut answer)
        .expect("an answer without the body");
    let head = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    // The token still opens the door.
    assert!(node.call(hallsync_node::Command::Status).is_ok());
    node.stop(std::time::Duration::from_secs(10));
}

#[test]
fn a_clock_before_1970_is_a_clear_error_not_a_panic() {
    // Goal (issue #10): with the system clock before 1970 (libfaketime; `.ci/run` installs it),
    // `status` and `run` refuse at once with what to do and a non-zero exit; nothing panics and
    // no node is left holding the store.
    let dir = tempfile::tempdir().unwrap();
    let data = hallsync_tests::genesis_city(dir.path(), "city");
    for command in ["status", "run"] {
        let out = std::process::Command::new("faketime")
            .args(["1969-12-01 00:00:00"])
            .arg(hallsync_tests::hallsync_bin())
            .args([command, "--data", &data])
            .output()
            .expect("faketime is installed (.ci/run installs it)");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "`{command}` succeeded: {err}");
        assert!(err.contains("before 1970"), "`{command}`: {err}");
        assert!(!err.contains("panicked"), "`{command}`: {err}");
    }
    // The store is free: a normal clock opens it.
    let (ok, _, err) = hallsync_tests::run_cli(&["status", "--data", &data]);
    assert!(ok, "{err}");
}

#[test]
fn a_due_date_through_a_year_outside_the_calendar_is_refused_and_2024_is_known() {
    // Goal (issue #11, W): 2024 is in the built-in calendar (2024-09-30 + 3 working days is
    // 2024-10-10, after National Day); a count through a year the node does not hold is refused with
    // the years it holds, not counted as plain weekdays.
    let dir = tempfile::tempdir().unwrap();
    let d = hallsync_tests::genesis_city(dir.path(), "city");
    let (ok, out, err) = hallsync_tests::run_cli(&[
        "calendar",
        "due",
        "--data",
        &d,
        "--from",
        "2024-09-30",
        "--days",
        "3",
        "--json",
    ]);
    assert!(ok, "{err}");
    let due: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(due["due"], "2024-10-10", "{due}");
    let (ok, _, err) = hallsync_tests::run_cli(&[
        "calendar",
        "due",
        "--data",
        &d,
        "--from",
        "2023-12-20",
        "--days",
        "5",
    ]);
    assert!(!ok && err.contains("W1") && err.contains("2023"), "{err}");
}
