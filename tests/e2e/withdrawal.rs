//! Withdrawal of a stationed item across real nodes (ST 8; S4, S5).

use hallsync::harness::sample_item;
use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_tests::{small_federation, CONVERGE_TIMEOUT, VILLAGE_HALL};

fn approve_pending(fed: &hallsync::harness::Federation, township: usize) {
    let pending = fed.node(township).call(Command::pending()).unwrap();
    let id = pending["pending"][0]["id"].as_str().unwrap().to_string();
    fed.node(township).call(Command::Approve { id }).unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
}

#[test]
fn withdrawal_is_proposed_with_reason_approved_and_published_everywhere() {
    // Goal: a village withdraws a stationed item: refused without a legal basis (S4), approved by its
    // township once complete, then published by both sides; every node shows the due date, and the
    // withdrawal is not overdue once published (S5).
    let (fed, n) = small_federation().unwrap();
    let code = "442000011000";
    fed.node(n.city)
        .call(Command::ItemCreate(sample_item(
            code,
            "老年证办理",
            hallsync_model::records::item::ItemType::PublicService,
            "民政局",
            5,
        )))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    fed.node(n.village)
        .call(Command::StationPropose(StationRequest::station(code, None)))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    approve_pending(&fed, n.township);

    let mut request = StationRequest::station(code, None);
    request.action = Some("withdraw".into());
    request.reason = Some("事项调整至区级办理".into());
    let refused = fed
        .node(n.village)
        .call(Command::StationPropose(request.clone()));
    assert!(refused.unwrap_err().to_string().contains("S4"));
    request.basis = Some("区政府〔2026〕12号".into());
    request.reason_kind = Some("cancelled".into());
    fed.node(n.village)
        .call(Command::StationPropose(request))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    approve_pending(&fed, n.township);

    for (node, by) in [(n.township, "management"), (n.village, "department")] {
        fed.node(node)
            .call(Command::StationPublish {
                item: code.into(),
                hall: Some(VILLAGE_HALL.into()),
                by: by.into(),
                channels: "政务服务网".into(),
            })
            .unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    for node in &fed.nodes {
        let items = node
            .call(Command::items(Some(VILLAGE_HALL.into())))
            .unwrap();
        let st = &items["stationed"][0];
        assert_eq!(st["status"], "withdrawn", "{}: {items:#}", node.name);
        assert!(st["withdrawal"]["publish_due"]
            .as_str()
            .unwrap()
            .starts_with("20"));
        assert_eq!(st["withdrawal"]["overdue"], false);
        assert_eq!(st["withdrawal"]["published_by_management"], true);
    }
}
