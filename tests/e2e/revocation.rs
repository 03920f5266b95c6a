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
        assert_eq!(revoked.len(), 1, "{}: {quarantine:#}", node.name);
        assert!(revoked[0]["doc"]
            .as_str()
            .unwrap()
            .ends_with("442000008000"));
    }
    let audit = fed
        .node(n.township)
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
