//! The store on disk: a store written by an earlier version opens in this one (issue #9); a node
//! started while a command holds the store waits for it (issue #10).

use hallsync_tests::run_cli;

fn json(args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = run_cli(args);
    assert!(ok, "{args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn a_store_written_by_hallsync_0_1_0_opens_with_the_same_records_and_is_migrated_once() {
    // Goal: upgrading hallsync never loses or changes what a node holds. The fixture is the
    // township node of `hallsync demo --keep` written by 0.1.0 (store schema 1: an envelope log),
    // with what that version reported of it in expected.json.
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/store-v1");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("expected.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("township");
    std::fs::create_dir(&data).unwrap();
    for file in ["config.toml", "device.key", "store.redb"] {
        std::fs::copy(fixtures.join("township").join(file), data.join(file)).unwrap();
    }
    let d = data.to_str().unwrap();
    for round in ["migrates", "opens the migrated store"] {
        let status = json(&["status", "--data", d, "--json"]);
        assert_eq!(status["state_digest"], expected["state_digest"], "{round}");
        assert_eq!(status["documents"], expected["documents"], "{round}");
        assert_eq!(status["network_id"], expected["network_id"], "{round}");
        assert_eq!(status["stored_records"], expected["documents"], "{round}");
        assert_eq!(status["unreadable_rows"], 0, "{round}");
        let items = json(&["items", "--data", d, "--json"]);
        let mut codes: Vec<String> = items["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap().to_string())
            .collect();
        codes.sort();
        assert_eq!(serde_json::json!(codes), expected["item_codes"], "{round}");
    }
}

#[test]
fn run_waits_for_a_command_that_holds_the_store_then_starts() {
    // Goal (issue #10): `hallsync run` started while another command has the store open waits for
    // it (saying so) instead of exiting, and starts once the store is free.
    let dir = tempfile::tempdir().unwrap();
    let data = hallsync_tests::genesis_city(dir.path(), "city");
    let store = hallsync_node::DataDir::new(&data).store_file();
    let held = hallsync_node::store::RedbStore::open(&store).unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        drop(held);
    });
    let mut node = hallsync::harness::NodeProcess::new(
        "city",
        std::path::PathBuf::from(&data),
        &hallsync_tests::hallsync_bin(),
    );
    node.start(std::time::Duration::from_secs(30))
        .expect("the node starts once the store is free");
    releaser.join().unwrap();
    let log = std::fs::read_to_string(std::path::Path::new(&data).join("node.log")).unwrap();
    assert!(log.contains("another command holds the store"), "{log}");
    node.stop(std::time::Duration::from_secs(10));
}

#[test]
fn a_damaged_store_file_is_a_clear_error_never_a_panic() {
    // Goal (issue #10): bit flips and truncations anywhere in `store.redb` — redb panics on some
    // of them — make `status` and `items` either answer or fail with a message and a non-zero
    // exit; none panics. Seeded, so a failure replays.
    let dir = tempfile::tempdir().unwrap();
    let good = hallsync_tests::genesis_city(dir.path(), "good");
    for code in ["442000001000", "442000002000", "442000003000"] {
        hallsync::client::execute(
            std::path::Path::new(&good),
            hallsync_tests::create_item(code),
        )
        .unwrap();
    }
    let store = std::fs::read(std::path::Path::new(&good).join("store.redb")).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let (mut refused, mut answered) = (0, 0);
    for case in 0..48 {
        let mut bytes = store.clone();
        if case % 4 == 0 {
            bytes.truncate((next() % store.len() as u64) as usize);
        } else {
            for _ in 0..[1, 3, 16, 64][case % 4] {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] ^= 1 << (next() % 8);
            }
        }
        let damaged = dir.path().join(format!("case{case}"));
        std::fs::create_dir(&damaged).unwrap();
        for file in ["config.toml", "device.key"] {
            std::fs::copy(std::path::Path::new(&good).join(file), damaged.join(file)).unwrap();
        }
        std::fs::write(damaged.join("store.redb"), &bytes).unwrap();
        let d = damaged.to_str().unwrap();
        for command in ["status", "items"] {
            let (ok, _, err) = run_cli(&[command, "--data", d]);
            assert!(
                !err.contains("panicked"),
                "case {case} `{command}` panicked: {err}"
            );
            if ok {
                answered += 1;
            } else {
                refused += 1;
                assert!(err.contains("error"), "case {case} `{command}`: {err}");
            }
        }
    }
    assert!(refused > 0, "no damage was detected in 48 cases");
    eprintln!("damaged stores: {refused} refused with an error, {answered} answered");
}
