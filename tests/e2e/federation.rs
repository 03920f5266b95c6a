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
            hallsync_model::records::item::ItemType::AdministrativeLicense,
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

#[test]
fn a_device_joined_since_is_admitted_on_its_chain_by_a_node_that_has_not_heard_of_it() {
    // Goal (issue #10): a township invited by its district while the district is cut off dials the
    // city, which has never received the township's certificate. The township proves membership
    // with the chain from its invitation; the city admits it, the two reconnect with sync on, and the
    // township receives the city's catalogue. Nothing is refused.
    use hallsync::harness::{Federation, Tier};
    use std::time::{Duration, Instant};
    let mut fed = Federation::new(&hallsync_tests::hallsync_bin(), None).unwrap();
    let city = fed.add_city("city", "4403", "市中心").unwrap();
    let district = fed
        .add_member(
            "district",
            "440305",
            Tier::District,
            "南山区",
            "4403",
            "admin",
            city,
        )
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    fed.node(district)
        .call(Command::Net { online: false })
        .unwrap();
    let township = fed
        .add_member(
            "township",
            "440305001",
            Tier::Township,
            "南头街道",
            "440305",
            "admin",
            district,
        )
        .unwrap();
    let city_addr = fed.node(city).call(Command::Status).unwrap()["listen_addrs"][0]
        .as_str()
        .unwrap()
        .to_string();
    fed.node_mut(township).stop(Duration::from_secs(10));
    let dir = fed.node(township).dir.clone();
    let mut config = hallsync_config::Config::load(&dir).unwrap();
    config.network.peers.push(city_addr);
    config.save(&dir).unwrap();
    fed.node_mut(township)
        .start(Duration::from_secs(30))
        .unwrap();
    fed.node(city)
        .call(Command::ItemCreate(sample_item(
            "442000003000",
            "社保卡申领",
            hallsync_model::records::item::ItemType::PublicService,
            "人社局",
            5,
        )))
        .unwrap();
    let started = Instant::now();
    let held = loop {
        let items = fed.node(township).call(Command::items(None)).unwrap();
        let has = items["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["code"] == "442000003000");
        if has || started.elapsed() > CONVERGE_TIMEOUT {
            break has;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let log =
        |i: usize| std::fs::read_to_string(fed.node(i).dir.join("node.log")).unwrap_or_default();
    assert!(
        held,
        "the township never received the city's item\n--- township\n{}\n--- city\n{}",
        log(township),
        log(city)
    );
    let status = fed.node(city).call(Command::Status).unwrap();
    assert_eq!(status["admission_refusals"], 0, "{status:#}");
}
