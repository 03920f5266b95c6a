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
    let init = |extra: &[&str], data: &str| {
        let mut args = vec![
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
        ];
        args.extend_from_slice(extra);
        hallsync_tests::run_cli(&args)
    };
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
        invitation
            .addrs
            .iter()
            .any(|a| a.starts_with("/ip4/127.0.0.1/tcp/4901/p2p/")),
        "{:?}",
        invitation.addrs
    );
}
