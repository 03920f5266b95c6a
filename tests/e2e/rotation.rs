//! Key rotation on a real node: a new identity, the same rights, nothing lost.

use std::time::Duration;

use hallsync::harness::sample_item;
use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_tests::{small_federation, CONVERGE_TIMEOUT, VILLAGE_HALL};

#[test]
fn rotated_village_keeps_its_rights_and_its_past() {
    // Goal: the village stops, rotates its key with the CLI, restarts under a new device id, and its
    // proposals from before and after the rotation both reach the township and can be approved.
    let (mut fed, n) = small_federation().unwrap();
    for code in ["442000009000", "442000010000"] {
        fed.node(n.city)
            .call(Command::ItemCreate(sample_item(
                code,
                "社保关系转移",
                hallsync_model::records::item::ItemType::PublicService,
                "人社局",
                10,
            )))
            .unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    fed.node(n.village)
        .call(Command::StationPropose(StationRequest::station(
            "442000009000",
            None,
        )))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let village = fed.node(n.village);
    let before = village.call(Command::Status).unwrap()["device_id"]
        .as_str()
        .unwrap()
        .to_string();

    let seal_before = announced_seal_key(fed.node(n.village));

    fed.node_mut(n.village).stop(Duration::from_secs(10));
    let dir = fed.node(n.village).dir.to_string_lossy().to_string();
    let rotated = fed
        .node(n.village)
        .cli(&["rotate-key", "--data", &dir])
        .unwrap();
    assert_eq!(rotated["old_device_id"], before.as_str());
    let after = rotated["device_id"].as_str().unwrap().to_string();
    assert_ne!(after, before);
    assert!(fed.node(n.village).dir.join("device.key.retired").exists());

    fed.node_mut(n.village).start(CONVERGE_TIMEOUT).unwrap();
    // The new device announces a sealing key of its own (the old one is kept to open old cases).
    let seal_after = announced_seal_key(fed.node(n.village));
    assert_ne!(
        seal_after, seal_before,
        "a rotation brings a new sealing key"
    );
    fed.node(n.village)
        .call(Command::StationPropose(StationRequest::station(
            "442000010000",
            None,
        )))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let pending = fed.node(n.township).call(Command::pending()).unwrap();
    let list = pending["pending"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{pending:#}");
    for p in &list {
        let by = if p["item"] == "442000009000" {
            &before
        } else {
            &after
        };
        assert_eq!(p["proposers"][0], by.as_str(), "{p:#}");
        let id = p["id"].as_str().unwrap().to_string();
        fed.node(n.township).call(Command::Approve { id }).unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let items = fed
        .node(n.city)
        .call(Command::items(Some(VILLAGE_HALL.into())))
        .unwrap();
    let approved: Vec<&str> = items["stationed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(approved, ["approved", "approved"], "{items:#}");
    for node in &fed.nodes {
        assert_eq!(
            node.call(Command::Status).unwrap()["quarantined"],
            0,
            "{}",
            node.name
        );
    }
}

#[test]
fn a_village_that_cannot_be_dialled_reconnects_to_its_rotated_township() {
    // Goal (issue #12): a village behind NAT (here: listening nowhere) only dials out. Its township
    // rotates its key while the village cannot hear of it; the village's dial then meets another
    // key at the township's address, follows it, learns the successor certificate on admission,
    // reconnects with nobody editing config (its config follows), and changes flow again.
    let (mut fed, n) = small_federation().unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let village_dir = fed.node(n.village).dir.clone();
    fed.node_mut(n.village).stop(Duration::from_secs(10));
    let config = village_dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let nat: String = text
        .lines()
        .map(|l| {
            if l.starts_with("listen = [") {
                "listen = []".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(nat, text);
    std::fs::write(&config, nat).unwrap();
    fed.node_mut(n.village).start(CONVERGE_TIMEOUT).unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();

    fed.node_mut(n.township).stop(Duration::from_secs(10));
    let dir = fed.node(n.township).dir.to_string_lossy().to_string();
    let rotated = fed
        .node(n.township)
        .cli(&["rotate-key", "--data", &dir])
        .unwrap();
    let new_peer = rotated["device_id"].as_str().unwrap().to_string();
    fed.node_mut(n.township).start(CONVERGE_TIMEOUT).unwrap();
    fed.node(n.city)
        .call(Command::ItemCreate(sample_item(
            "442000011000",
            "新事项",
            hallsync_model::records::item::ItemType::PublicService,
            "人社局",
            10,
        )))
        .unwrap();
    fed.wait_converged(Duration::from_secs(60)).unwrap();
    let status: hallsync_node::engine::response::StatusReport =
        fed.node(n.village).call_as(Command::Status).unwrap();
    assert!(
        status
            .peers
            .iter()
            .any(|p| p.connected && p.device_id == new_peer),
        "{:?}",
        status.peers
    );
    let after = std::fs::read_to_string(&config).unwrap();
    let township_peer = hallsync_node::network::peer::peer_of_device(&new_peer.parse().unwrap())
        .unwrap()
        .to_string();
    assert!(
        after.contains(&township_peer),
        "the config follows: {after}"
    );
}

#[test]
fn a_party_that_rotates_mid_case_still_reads_the_whole_case() {
    // Goal (issue #14): a village opens a case for its township and notes the acceptance; it rotates
    // its key (a new device, a new sealing key; the old one kept); the next notes, the village's and
    // the township's, are sealed to the new key; the village reads the applicant and every note, old
    // and new, and so does the township.
    let (mut fed, n) = small_federation().unwrap();
    let code = "442000031000";
    fed.node(n.city)
        .call(hallsync_tests::create_item(code))
        .unwrap();
    hallsync_tests::wait_sealing_keys(&fed);
    let township_hall = "441900101";
    fed.node(n.village)
        .call(Command::CaseOpen {
            item: code.into(),
            handling: township_hall.into(),
            case_no: "R2026-7".into(),
            applicant_id: "440300199001011238".into(),
            applicant_name: Some("李四".into()),
        })
        .unwrap();
    let case = format!("case/{VILLAGE_HALL}/{township_hall}/R2026-7");
    let step = |fed: &hallsync::harness::Federation, node: usize, to: &str, note: &str| {
        fed.node(node)
            .call(Command::CaseStep {
                case: case.clone(),
                to: to.into(),
                materials: vec![],
                note: note.into(),
                supply_by: None,
                mode: None,
            })
            .unwrap_or_else(|e| panic!("{to}: {e:#}"));
    };
    step(&fed, n.village, "accepted", "材料齐全");
    fed.wait_converged_among(&[n.township, n.village], CONVERGE_TIMEOUT)
        .unwrap();
    let before = announced_seal_key(fed.node(n.village));

    fed.node_mut(n.village).stop(Duration::from_secs(10));
    let dir = fed.node(n.village).dir.to_string_lossy().to_string();
    fed.node(n.village)
        .cli(&["rotate-key", "--data", &dir])
        .unwrap();
    fed.node_mut(n.village).start(CONVERGE_TIMEOUT).unwrap();
    let after = announced_seal_key(fed.node(n.village));
    assert_ne!(before, after);
    fed.wait_converged_among(&[n.township, n.village], CONVERGE_TIMEOUT)
        .unwrap();
    step(&fed, n.village, "transferred", "已流转");
    fed.wait_converged_among(&[n.township, n.village], CONVERGE_TIMEOUT)
        .unwrap();
    step(&fed, n.township, "in_review", "复核中");
    fed.wait_converged_among(&[n.township, n.village], CONVERGE_TIMEOUT)
        .unwrap();
    for party in [n.village, n.township] {
        let cases = fed.node(party).call(Command::cases(false)).unwrap();
        let c = &cases["cases"][0];
        assert_eq!(
            c["applicant"]["name"],
            "李四",
            "{}: {c:#}",
            fed.node(party).name
        );
        let notes: Vec<&str> = c["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["note"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            notes,
            ["材料齐全", "已流转", "复核中"],
            "{}: {c:#}",
            fed.node(party).name
        );
    }
}

/// The id of the sealing key `node`'s device has announced, once it has (within 20 s).
fn announced_seal_key(node: &hallsync::harness::NodeProcess) -> String {
    let mut seen = serde_json::Value::Null;
    hallsync::harness::wait_until(
        "the sealing key to be announced",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || {
            seen = node.call(Command::Status)?["seal_key"].clone();
            Ok(seen.is_string())
        },
    )
    .unwrap();
    seen.as_str().unwrap_or_default().to_string()
}
