//! What a station operator sees of a running node (issue #12).

use std::time::Duration;

use hallsync::harness::NodeProcess;

#[test]
fn status_prints_the_full_address_a_peer_dials() {
    // Goal (issue #12): the multiaddr a peer needs has the `…/p2p/12D3KooW…` form, and the text of
    // `status` prints it for every address the node listens on.
    let dir = tempfile::tempdir().unwrap();
    let data = hallsync_tests::genesis_city(dir.path(), "city");
    let mut node = NodeProcess::new(
        "city",
        std::path::PathBuf::from(&data),
        &hallsync_tests::hallsync_bin(),
    );
    node.start(Duration::from_secs(30)).unwrap();
    let (ok, out, err) = hallsync_tests::run_cli(&["status", "--data", &data]);
    assert!(ok, "{err}");
    let addresses: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("地址 address"))
        .map(str::trim)
        .collect();
    assert!(!addresses.is_empty(), "{out}");
    for a in addresses {
        assert!(
            a.starts_with("/ip4/127.0.0.1/") && a.contains("/p2p/12D3KooW"),
            "{a}"
        );
    }
}

#[test]
fn peer_list_says_per_peer_whether_two_nodes_are_in_sync_and_peer_add_keeps_an_address() {
    // Goal (issue #12): `peer list` shows, per peer, its hall, whether the last round found the two
    // in sync, and a digest of what both should hold that the other side prints the same; `peer
    // add` keeps an address in config and refuses one without a peer id; `peer remove` takes it out.
    use hallsync_node::engine::response::StatusReport;
    use hallsync_node::Command;
    use hallsync_tests::{small_federation, CONVERGE_TIMEOUT};
    let (fed, n) = small_federation().unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let status = |i: usize| -> StatusReport { fed.node(i).call_as(Command::Status).unwrap() };
    let (village, township) = (status(n.village), status(n.township));
    // A round after convergence moved nothing: both sides say in sync (bounded wait for one).
    let started = std::time::Instant::now();
    let of = |s: &StatusReport, other: &StatusReport| {
        s.peers
            .iter()
            .find(|p| p.device_id == other.device_id)
            .cloned()
            .unwrap()
    };
    let mut seen = of(&village, &township);
    while seen.in_sync != Some(true) && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(300));
        seen = of(&status(n.village), &township);
    }
    assert_eq!(seen.in_sync, Some(true), "{seen:?}");
    assert!(
        seen.connected && seen.halls == vec![township.hall.clone()],
        "{seen:?}"
    );
    assert!(seen.bytes_in > 0 && seen.bytes_out > 0 && seen.last_sync_ms.is_some());
    let back = of(&status(n.township), &village);
    assert_eq!(
        seen.shared_digest, back.shared_digest,
        "both print the same digest of what they share"
    );
    let data = fed.node(n.village).dir.display().to_string();
    let (ok, out, err) = hallsync_tests::run_cli(&["peer", "list", "--data", &data]);
    assert!(ok, "{err}");
    assert!(
        out.contains("已同步 in sync") && out.contains(&township.hall),
        "{out}"
    );
    // Add and remove an address; a bad one is refused with what to give.
    let (ok, _, err) =
        hallsync_tests::run_cli(&["peer", "add", "--data", &data, "/ip4/127.0.0.1/tcp/9"]);
    assert!(!ok && err.contains("/p2p/"), "{err}");
    let peer = township.listen_addrs[0].clone();
    let extra = format!(
        "/ip4/127.0.0.1/tcp/9/p2p/{}",
        peer.rsplit('/').next().unwrap()
    );
    let (ok, _, err) = hallsync_tests::run_cli(&["peer", "add", "--data", &data, &extra]);
    assert!(ok, "{err}");
    let config = std::fs::read_to_string(fed.node(n.village).dir.join("config.toml")).unwrap();
    assert!(config.contains(&extra), "{config}");
    let (ok, _, err) = hallsync_tests::run_cli(&["peer", "remove", "--data", &data, &extra]);
    assert!(ok, "{err}");
    let config = std::fs::read_to_string(fed.node(n.village).dir.join("config.toml")).unwrap();
    assert!(!config.contains(&extra), "{config}");
    let (ok, _, err) = hallsync_tests::run_cli(&["peer", "remove", "--data", &data, &extra]);
    assert!(!ok && err.contains("peer list"), "{err}");
}

#[test]
fn an_announced_address_goes_first_into_invitation_tokens() {
    // Goal (issue #12): a node behind a router or on the extranet is dialled at the address it
    // announces, not at its loopback or LAN one: `init --announce` keeps it in config, tokens carry
    // it first, and an announce with /p2p/ is refused with what to give.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("city").display().to_string();
    let init = |extra: &[&str], data: &str| hallsync_tests::init_city(data, extra);
    let bad = dir.path().join("bad").display().to_string();
    let (ok, _, err) = init(&["--announce", "/ip4/10.1.2.3/tcp/4001/p2p/x"], &bad);
    assert!(!ok && err.contains("network.announce"), "{err}");
    let (ok, _, err) = init(
        &[
            "--listen",
            "/ip4/127.0.0.1/tcp/4901",
            "--announce",
            "/ip4/10.1.2.3/tcp/4001",
        ],
        &data,
    );
    assert!(ok, "{err}");
    let invitee = hallsync_model::DeviceKey::from_seed([7; 32])
        .device_id()
        .to_string();
    let (ok, out, err) = hallsync_tests::run_cli(&[
        "invite",
        "--data",
        &data,
        "--device",
        &invitee,
        "--hall",
        "440305",
        "--level",
        "district",
        "--role",
        "admin",
        "--parent",
        "4403",
        "--hall-name",
        "南山区",
        "--json",
    ]);
    assert!(ok, "{err}");
    let token: serde_json::Value = serde_json::from_str(&out).unwrap();
    let invitation =
        hallsync_node::engine::Invitation::decode(token["token"].as_str().unwrap()).unwrap();
    assert!(
        invitation.addrs[0].starts_with("/ip4/10.1.2.3/tcp/4001/p2p/12D3KooW"),
        "{:?}",
        invitation.addrs
    );
    assert!(
        !invitation.addrs.iter().any(|a| a.starts_with("/ip4/127.")),
        "a loopback address reaches the invitee's own host: not carried beside a routable one: {:?}",
        invitation.addrs
    );
}

/// Scrapes `/metrics` at `addr` and parses it as Prometheus text.
fn scrape(addr: &str) -> prometheus_parse::Scrape {
    let body = ureq::get(&format!("http://{addr}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The sum of the samples of `name`.
fn total(scrape: &prometheus_parse::Scrape, name: &str) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn metrics_parse_as_prometheus_text_and_move_with_traffic() {
    // Goal (issue #12): with `metrics.listen` set, `/metrics` serves Prometheus text a parser
    // reads, with the counts an operator alerts on, and they move when changes arrive.
    use hallsync_node::engine::response::StatusReport;
    use hallsync_node::Command;
    use hallsync_tests::{small_federation, CONVERGE_TIMEOUT};
    let (mut fed, n) = small_federation().unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let township = fed.node_mut(n.township);
    township.stop(Duration::from_secs(20));
    let config = township.dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let on = text.replace(
        "[metrics]\nlisten = \"\"",
        "[metrics]\nlisten = \"127.0.0.1:0\"",
    );
    assert_ne!(on, text, "init writes the [metrics] section: {text}");
    std::fs::write(&config, on).unwrap();
    township.start(Duration::from_secs(30)).unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let status: StatusReport = fed.node(n.township).call_as(Command::Status).unwrap();
    let addr = status
        .metrics_addr
        .expect("status names the metrics address");
    // Rendered every sync interval: wait (bounded) for one with the peers in it.
    let started = std::time::Instant::now();
    let mut before = scrape(&addr);
    while total(&before, "hallsync_peers_connected") < 1.0
        && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(300));
        before = scrape(&addr);
    }
    for name in [
        "hallsync_peers_connected",
        "hallsync_changes_applied_total",
        "hallsync_changes_waiting",
        "hallsync_store_bytes",
        "hallsync_records",
        "hallsync_sync_received_bytes_total",
    ] {
        assert!(
            before.samples.iter().any(|s| s.metric == name),
            "{name} is served"
        );
    }
    assert!(total(&before, "hallsync_store_bytes") > 0.0);
    // The city writes a catalogue item; the township applies it, and its counters move.
    fed.node(n.city)
        .call(Command::ItemCreate(hallsync::harness::sample_item(
            &hallsync::harness::public_service_code(7),
            "测试事项",
            hallsync_model::records::item::ItemType::PublicService,
            "市民政局",
            5,
        )))
        .unwrap();
    let applied_before = total(&before, "hallsync_changes_applied_total");
    let started = std::time::Instant::now();
    let mut after = scrape(&addr);
    while total(&after, "hallsync_changes_applied_total") <= applied_before
        && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(500));
        after = scrape(&addr);
    }
    assert!(
        total(&after, "hallsync_changes_applied_total") > applied_before,
        "changes applied moved"
    );
    assert!(
        total(&after, "hallsync_sync_received_bytes_total")
            > total(&before, "hallsync_sync_received_bytes_total"),
        "bytes received moved"
    );
    assert!(total(&after, "hallsync_peers_connected") >= 1.0);
}

#[test]
fn logs_go_to_daily_files_as_json_lines_when_config_says_so() {
    // Goal (issue #12): `log.dir` adds a daily log file beside stderr and `log.format = "json"`
    // writes one JSON object a line, for log collectors; a bad format is refused by name.
    let dir = tempfile::tempdir().unwrap();
    let data = hallsync_tests::genesis_city(dir.path(), "city");
    let config = std::path::Path::new(&data).join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let bad = text.replace("format = \"text\"", "format = \"xml\"");
    std::fs::write(&config, &bad).unwrap();
    let (ok, _, err) = hallsync_tests::run_cli(&["status", "--data", &data]);
    assert!(!ok && err.contains("log.format"), "{err}");
    let on = text
        .replace("format = \"text\"", "format = \"json\"")
        .replace("dir = \"\"", "dir = \"logs\"");
    assert_ne!(on, text);
    std::fs::write(&config, on).unwrap();
    let mut node = NodeProcess::new(
        "city",
        std::path::PathBuf::from(&data),
        &hallsync_tests::hallsync_bin(),
    );
    node.start(Duration::from_secs(30)).unwrap();
    node.stop(Duration::from_secs(20));
    let logs = std::path::Path::new(&data).join("logs");
    let files: Vec<_> = std::fs::read_dir(&logs).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one file for today");
    let name = files[0].file_name().to_string_lossy().to_string();
    assert!(name.starts_with("hallsync.log."), "{name}");
    let lines = std::fs::read_to_string(files[0].path()).unwrap();
    let parsed: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        parsed.iter().any(|v| v["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("node running"))),
        "{lines}"
    );
}

#[test]
fn a_backup_taken_while_the_node_writes_restores_and_syncs_the_rest() {
    // Goal (issue #12): `backup` while the node is busy gives a file `restore` turns into a node
    // that opens, holds every change the backup had, and takes the rest from its peers; a damaged
    // backup restores nothing.
    use hallsync::harness::{public_service_code, sample_item};
    use hallsync_node::engine::response::StatusReport;
    use hallsync_node::Command;
    use hallsync_tests::{small_federation, CONVERGE_TIMEOUT};
    let (mut fed, n) = small_federation().unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let out = tempfile::tempdir().unwrap();
    let backup = out.path().join("township.hsbk");
    let township_dir = fed.node(n.township).dir.display().to_string();
    // The city writes items while the township (which receives them) is backed up.
    let city_dir = fed.node(n.city).dir.clone();
    let writer = std::thread::spawn(move || {
        let city = NodeProcess::new("city", city_dir, &hallsync_tests::hallsync_bin());
        for i in 0..20 {
            city.call(Command::ItemCreate(sample_item(
                &public_service_code(100 + i),
                "备份期间",
                hallsync_model::records::item::ItemType::PublicService,
                "市民政局",
                5,
            )))
            .unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let (ok, _, err) = hallsync_tests::run_cli(&[
        "backup",
        "--data",
        &township_dir,
        "--out",
        backup.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    writer.join().unwrap();
    // And after it: changes the backup cannot hold, which the restored node must sync.
    for i in 0..3 {
        fed.node(n.city)
            .call(Command::ItemCreate(sample_item(
                &public_service_code(200 + i),
                "备份之后",
                hallsync_model::records::item::ItemType::PublicService,
                "市民政局",
                5,
            )))
            .unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let final_township: StatusReport = fed.node(n.township).call_as(Command::Status).unwrap();
    let final_digest = final_township.membership.clone().unwrap().state_digest;
    fed.node_mut(n.township).stop(Duration::from_secs(20));

    // A damaged copy restores nothing.
    let mut bytes = std::fs::read(&backup).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0xff;
    let damaged = out.path().join("damaged.hsbk");
    std::fs::write(&damaged, bytes).unwrap();
    let bad_dir = out.path().join("bad");
    let (ok, _, err) = hallsync_tests::run_cli(&[
        "restore",
        "--data",
        bad_dir.to_str().unwrap(),
        "--from",
        damaged.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not a whole hallsync backup"), "{err}");
    assert!(!bad_dir.join("store.redb").exists());

    let restored_dir = out.path().join("restored");
    let (ok, _, err) = hallsync_tests::run_cli(&[
        "restore",
        "--data",
        restored_dir.to_str().unwrap(),
        "--from",
        backup.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let restore_again = || {
        hallsync_tests::run_cli(&[
            "restore",
            "--data",
            restored_dir.to_str().unwrap(),
            "--from",
            backup.to_str().unwrap(),
        ])
    };
    // A directory that holds a node is not restored over …
    let (ok, _, err) = restore_again();
    assert!(!ok && err.contains("already"), "{err}");
    // … but a restore killed before it wrote the key (which it writes last) is finished by running
    // it again.
    std::fs::remove_file(restored_dir.join("device.key")).unwrap();
    let (ok, _, err) = restore_again();
    assert!(ok, "{err}");
    // It opens as the same device, with what the backup had.
    let (ok, status, err) =
        hallsync_tests::run_cli(&["status", "--data", restored_dir.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let status: StatusReport = serde_json::from_str(&status).unwrap();
    assert_eq!(status.device_id, final_township.device_id);
    let held = status.membership.unwrap();
    assert!(
        held.documents < final_township.membership.as_ref().unwrap().documents,
        "the backup lacks what came after it"
    );
    // Started in the township's place, it takes the rest from its peers.
    let mut restored = NodeProcess::new(
        "restored",
        restored_dir.clone(),
        &hallsync_tests::hallsync_bin(),
    );
    restored.start(Duration::from_secs(30)).unwrap();
    let started = std::time::Instant::now();
    let digest = || {
        restored
            .call_as::<StatusReport>(Command::Status)
            .unwrap()
            .membership
            .unwrap()
            .state_digest
    };
    while digest() != final_digest && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(digest(), final_digest, "the restored node caught up");
    restored.stop(Duration::from_secs(20));
}

#[test]
fn service_install_writes_a_unit_for_the_data_directory_and_keeps_an_existing_one() {
    // Goal (issue #12): `service install` writes a systemd unit that runs this data directory's
    // node as its own user, restarts it on failure and stops it with SIGTERM; an existing unit is
    // kept unless --force.
    let dir = tempfile::tempdir().unwrap();
    let data = hallsync_tests::genesis_city(dir.path(), "city");
    let out = dir.path().join("hallsync-4403.service");
    let args = [
        "service",
        "install",
        "--data",
        &data,
        "--user",
        "hallsync",
        "--out",
        out.to_str().unwrap(),
    ];
    let (ok, stdout, err) = hallsync_tests::run_cli(&args);
    assert!(ok, "{err}");
    assert!(stdout.contains("systemctl daemon-reload"), "{stdout}");
    let unit = std::fs::read_to_string(&out).unwrap();
    let data = std::path::Path::new(&data).canonicalize().unwrap();
    for line in [
        format!(
            "ExecStart={} run --data {}",
            hallsync_tests::hallsync_bin()
                .canonicalize()
                .unwrap()
                .display(),
            data.display()
        ),
        "User=hallsync".into(),
        "Restart=on-failure".into(),
        "KillSignal=SIGTERM".into(),
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} in\n{unit}");
    }
    let (ok, _, err) = hallsync_tests::run_cli(&args);
    assert!(!ok && err.contains("--force"), "{err}");
}
