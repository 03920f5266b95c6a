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
