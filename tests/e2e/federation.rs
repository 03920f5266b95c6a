//! Proposal → approval → convergence across three real nodes.

use hallsync::harness::sample_item;
use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_tests::{small_federation, CONVERGE_TIMEOUT, VILLAGE_HALL};

#[test]
fn village_proposal_approved_by_township_converges_everywhere() {
    // Goal: a village operator's stationing proposal reaches its township, is approved there with a
    // signature, and all three nodes end with equal digests and the same effective records.
    let (fed, n) = small_federation().unwrap();
    fed.node(n.city)
        .call(Command::ItemCreate(sample_item(
            "440100001000",
            "居民身份证换领",
            "administrative_license",
            "公安局",
            15,
        )))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let proposed = fed
        .node(n.village)
        .call(Command::StationPropose(StationRequest::station(
            "440100001000",
            None,
        )))
        .unwrap();
    assert_eq!(proposed["durable"], true);
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();

    // Only the supervising tier sees it as theirs to decide; the proposer cannot approve it.
    assert_eq!(
        fed.node(n.city).call(Command::pending()).unwrap()["pending"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let pending = fed.node(n.township).call(Command::pending()).unwrap();
    let id = pending["pending"][0]["id"].as_str().unwrap().to_string();
    let refused = fed
        .node(n.village)
        .call(Command::Approve { id: id.clone() });
    assert!(
        refused.is_err(),
        "a village operator must not approve: {refused:?}"
    );

    fed.node(n.township).call(Command::Approve { id }).unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let views: Vec<_> = fed
        .nodes
        .iter()
        .map(|node| {
            node.call(Command::items(Some(VILLAGE_HALL.into())))
                .unwrap()
        })
        .collect();
    assert!(views.windows(2).all(|w| w[0] == w[1]), "{views:#?}");
    assert_eq!(views[0]["stationed"][0]["status"], "approved");
    assert_eq!(views[0]["stationed"][0]["item"], "440100001000");
    for node in &fed.nodes {
        assert_eq!(
            node.call(Command::Status).unwrap()["quarantined"],
            0,
            "{}",
            node.name
        );
    }
}
