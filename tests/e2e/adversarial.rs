//! Hostile changes are quarantined on every node while honest changes still converge.

use hallsync::harness::sample_item;
use hallsync_model::{Approval, Decision, DocId, HallId, ItemCode, ScalarValue};
use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_tests::{
    forge_change, genesis_of, replica_of, small_federation, stolen_key, write_bundle,
    CONVERGE_TIMEOUT, VILLAGE_HALL,
};

#[test]
fn forged_signature_and_self_approval_are_quarantined_everywhere() {
    // Goal: a compromised village device approves its own proposal, and a forger signs an item change
    // in the city administrator's name; every node refuses both with the right reason, the proposal
    // stays pending, and the honest changes made afterwards still converge.
    let (fed, n) = small_federation().unwrap();
    fed.node(n.city)
        .call(Command::ItemCreate(sample_item(
            "440700005000",
            "户籍迁移",
            hallsync_model::records::item::ItemType::AdministrativeConfirmation,
            "公安局",
            10,
        )))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    fed.node(n.village)
        .call(Command::StationPropose(StationRequest::station(
            "440700005000",
            None,
        )))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();

    let genesis = genesis_of(fed.node(n.city)).unwrap();
    let replica = replica_of(fed.node(n.village), genesis.clone()).unwrap();
    let village_key = stolen_key(&fed.node(n.village).dir).unwrap();
    let doc = DocId::station(
        &HallId::new(VILLAGE_HALL).unwrap(),
        &ItemCode::new("440700005000").unwrap(),
    );
    let heads = replica
        .record(&doc)
        .unwrap()
        .heads()
        .iter()
        .map(|h| h.to_string())
        .collect();
    let approval = Approval {
        decision: Decision::Approve,
        heads,
        reason: None,
        at_ms: 0,
    };
    let self_approval = forge_change(
        &replica,
        &village_key,
        900,
        &doc,
        &[(
            approval.key(&village_key.device_id()).as_str(),
            ScalarValue::Str(approval.to_value().into()),
        )],
    )
    .unwrap();

    // A change signed by the village key but claiming the city administrator as its author.
    let item_doc = DocId::item(&ItemCode::new("440700005000").unwrap());
    let mut forged = forge_change(
        &replica,
        &village_key,
        901,
        &item_doc,
        &[("name", ScalarValue::Str("伪造".into()))],
    )
    .unwrap();
    forged.author = genesis.key;

    let bundle = fed.root.join("hostile.bundle");
    write_bundle(&bundle, &[self_approval, forged]).unwrap();
    for node in &fed.nodes {
        let dir = node.dir.to_string_lossy().to_string();
        let out = node
            .cli(&["bundle", "import", "--data", &dir, bundle.to_str().unwrap()])
            .unwrap();
        assert_eq!(out["applied"], 0, "{}: {out}", node.name);
        // The self-approval is a certified device's and kept as evidence; the forgery is refused
        // and not kept (issue #10: whoever forges can forge more).
        assert_eq!(out["quarantined"], 1, "{}: {out}", node.name);
        assert_eq!(out["refused"], 1, "{}: {out}", node.name);
    }

    // Honest work continues and converges around the quarantined changes.
    fed.node(n.city)
        .call(Command::ItemCreate(sample_item(
            "440700006000",
            "婚姻登记",
            hallsync_model::records::item::ItemType::AdministrativeConfirmation,
            "民政局",
            1,
        )))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    for node in &fed.nodes {
        let q = node.call(Command::quarantine()).unwrap();
        let mut codes: Vec<&str> = q["quarantined"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reason_code"].as_str().unwrap())
            .collect();
        codes.sort();
        assert_eq!(codes, ["self_approval"], "{}: {q:#}", node.name);
        let refused: Vec<&str> = q["refused"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["reason_code"].as_str().unwrap())
            .collect();
        assert_eq!(refused, ["bad_signature"], "{}: {q:#}", node.name);
        let items = node
            .call(Command::items(Some(VILLAGE_HALL.into())))
            .unwrap();
        assert_eq!(
            items["not_effective"][0]["status"], "pending",
            "{}: {items:#}",
            node.name
        );
        let names: Vec<&str> = items["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert!(
            !names.contains(&"伪造"),
            "{}: forged name applied",
            node.name
        );
    }
}
