//! Revocation of a partitioned device: strong removal across real nodes.

use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_tests::{create_item as create, small_federation, CONVERGE_TIMEOUT, VILLAGE_HALL};

#[test]
fn device_revoked_while_partitioned_loses_only_what_it_wrote_after() {
    // Goal: the township revokes the village device while the village is cut off; the village keeps
    // writing; after healing every node — the village too — holds the same state, in which the
    // village's proposal from before the revocation stands and the one written after does not.
    let (fed, n) = small_federation().unwrap();
    for code in ["442000007000", "442000008000"] {
        fed.node(n.city).call(create(code)).unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    fed.node(n.village)
        .call(Command::StationPropose(StationRequest::station(
            "442000007000",
            None,
        )))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();

    fed.node(n.village)
        .call(Command::Net { online: false })
        .unwrap();
    let village_id = fed.node(n.village).call(Command::Status).unwrap()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A village operator has no authority to revoke anyone above it.
    let township_id = fed.node(n.township).call(Command::Status).unwrap()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = fed.node(n.village).call(Command::Revoke {
        device: Some(township_id),
        cert: None,
        reason: "越权 overreach".into(),
    });
    assert!(refused.is_err(), "{refused:?}");

    let revoked = fed
        .node(n.township)
        .call(Command::Revoke {
            device: Some(village_id),
            cert: None,
            reason: "设备丢失 device lost".into(),
        })
        .unwrap();
    assert_eq!(revoked["certificates_revoked"], 1, "{revoked}");
    // Still cut off, the village knows nothing of it and keeps writing.
    fed.node(n.village)
        .call(Command::StationPropose(StationRequest::station(
            "442000008000",
            None,
        )))
        .unwrap();

    fed.node(n.village)
        .call(Command::Net { online: true })
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    for node in &fed.nodes {
        let items = node
            .call(Command::items(Some(VILLAGE_HALL.into())))
            .unwrap();
        let stations: Vec<&str> = items["not_effective"]
            .as_array()
            .unwrap()
            .iter()
            .chain(items["stationed"].as_array().unwrap())
            .map(|s| s["item"].as_str().unwrap())
            .collect();
        assert_eq!(stations, ["442000007000"], "{}: {items:#}", node.name);
        if node.name == "city" {
            // Refused changes are not forwarded, so the city never even receives it.
            continue;
        }
        let quarantine = node.call(Command::quarantine()).unwrap();
        let revoked: Vec<&serde_json::Value> = quarantine["quarantined"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|q| q["reason_code"] == "revoked")
            .collect();
        // The village refuses its own late write once it learns of its revocation. Whether the
        // township and district ever see that write depends on which came first after healing:
        // the village's push of it, or the trust record that revokes the village (a revoked device
        // is then offered and offers nothing but the trust record). Either way it is not effective.
        if node.name == "village" {
            assert_eq!(revoked.len(), 1, "{}: {quarantine:#}", node.name);
        } else {
            assert!(revoked.len() <= 1, "{}: {quarantine:#}", node.name);
        }
        for entry in revoked {
            assert!(entry["doc"].as_str().unwrap().ends_with("442000008000"));
        }
    }
    let audit = fed
        .node(n.village)
        .call(Command::Audit {
            record: format!("station/{VILLAGE_HALL}/442000008000"),
        })
        .unwrap();
    assert_eq!(audit["changes"][0]["status"], "quarantined", "{audit:#}");
    assert!(audit["changes"][0]["certificates"][0]["standing"]
        .as_str()
        .unwrap()
        .starts_with("revoked"));
}

#[test]
fn a_node_killed_while_it_recomputes_a_revocation_restarts_equal_to_a_full_rebuild() {
    // Goal (issue #9): the recompute after a revocation is one transaction with the revocation
    // itself, so a node killed at any moment of it restarts either before the revocation or after
    // all of it, and what its store holds equals a full rebuild from its signed changes.
    use hallsync::harness::NodeProcess;
    use hallsync_node::control::ControlInfo;
    use hallsync_node::DataDir;
    use std::time::Duration;

    let (mut fed, n) = small_federation().unwrap();
    let codes: Vec<String> = (0..120).map(|i| format!("4420{:05}000", 100 + i)).collect();
    for code in &codes {
        fed.node(n.city).call(create(code)).unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    for code in &codes {
        fed.node(n.village)
            .call(Command::StationPropose(StationRequest::station(code, None)))
            .unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    // The city before the revocation, kept to be restarted again and again.
    fed.node_mut(n.city).stop(Duration::from_secs(10));
    let snapshot = tempfile::tempdir().unwrap();
    for file in ["config.toml", "device.key", "store.redb"] {
        std::fs::copy(fed.node(n.city).dir.join(file), snapshot.path().join(file)).unwrap();
    }
    let village_id = fed.node(n.village).call(Command::Status).unwrap()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    fed.node(n.township)
        .call(Command::Revoke {
            device: Some(village_id),
            cert: None,
            reason: "设备丢失 device lost".into(),
        })
        .unwrap();
    let bundle = fed.node(n.township).call(Command::BundleExport).unwrap()["bundle"]
        .as_str()
        .unwrap()
        .to_string();
    fed.stop_all();

    let cycles = tempfile::tempdir().unwrap();
    let mut revoked_after = Vec::new();
    for (i, delay_ms) in [0u64, 10, 40, 100, 200, 400, 800, 1500]
        .into_iter()
        .enumerate()
    {
        let dir = cycles.path().join(format!("cycle-{i}"));
        std::fs::create_dir(&dir).unwrap();
        for file in ["config.toml", "device.key", "store.redb"] {
            std::fs::copy(snapshot.path().join(file), dir.join(file)).unwrap();
        }
        let mut node = NodeProcess::new("city-copy", dir.clone(), &hallsync_tests::hallsync_bin());
        node.start(Duration::from_secs(20)).unwrap();
        let info = ControlInfo::read(&DataDir::new(&dir).control_file())
            .unwrap()
            .unwrap();
        let command = Command::BundleImport {
            bundle: bundle.clone(),
        };
        let node_dir = dir.clone();
        let import =
            std::thread::spawn(move || hallsync::client::call(&node_dir, &info, &command).is_ok());
        std::thread::sleep(Duration::from_millis(delay_ms));
        node.kill();
        let acknowledged = import.join().unwrap();
        let check = node.exec(Command::StoreCheck).unwrap();
        assert_eq!(
            check["ok"], true,
            "cycle {i} (killed after {delay_ms} ms): {check:#}"
        );
        let status = node.exec(Command::Status).unwrap();
        let revoked = status["revoked_certificates"].as_u64().unwrap_or(0) > 0;
        assert!(
            revoked || !acknowledged,
            "cycle {i}: the import was acknowledged, so the revocation must be on disk: {status:#}"
        );
        revoked_after.push(revoked);
    }
    eprintln!("revoked on restart, per kill delay: {revoked_after:?}");
    // Whatever the moment of the kill, a restarted copy that receives the bundle again ends
    // revoked and consistent.
    let dir = cycles.path().join("cycle-0");
    let node = NodeProcess::new("city-copy", dir, &hallsync_tests::hallsync_bin());
    node.exec(Command::BundleImport { bundle }).unwrap();
    assert_eq!(node.exec(Command::StoreCheck).unwrap()["ok"], true);
    // The CLI walks every page of the listing.
    let stations = node
        .cli(&[
            "items",
            "--data",
            node.dir.to_str().unwrap(),
            "--hall",
            VILLAGE_HALL,
        ])
        .unwrap();
    assert_eq!(
        stations["not_effective"].as_array().unwrap().len()
            + stations["stationed"].as_array().unwrap().len(),
        codes.len(),
        "the revocation keeps what the township had seen of the village: {revoked_after:?}"
    );
}
