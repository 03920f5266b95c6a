//! A node killed during changes catches up after restart, and loses nothing it acknowledged.

use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_tests::{create_item as create, small_federation, CONVERGE_TIMEOUT};

#[test]
fn killed_node_catches_up_after_restart_and_keeps_its_acknowledged_changes() {
    // Goal: kill -9 a node right after it acknowledged a change and while others keep writing; on
    // restart it still has its own change, receives the rest, and everyone converges.
    let (mut fed, n) = small_federation().unwrap();
    fed.node(n.city).call(create("442000002000")).unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();

    fed.node(n.village)
        .call(Command::StationPropose(StationRequest::station(
            "442000002000",
            None,
        )))
        .unwrap();
    // Killed at once: the proposal was acknowledged, so it must be on disk.
    fed.node_mut(n.village).kill();
    for i in 0..5 {
        fed.node(n.city)
            .call(create(&format!("44200003{i}000")))
            .unwrap();
    }
    // While it is down, its store opens directly and already holds the acknowledged proposal.
    let offline = fed.node(n.village).exec(Command::items(None)).unwrap();
    assert_eq!(
        offline["not_effective"][0]["item"], "442000002000",
        "{offline:#}"
    );

    fed.node_mut(n.village).start(CONVERGE_TIMEOUT).unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let items = fed.node(n.village).call(Command::items(None)).unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 6, "{items:#}");
    let pending = fed.node(n.township).call(Command::pending()).unwrap();
    assert_eq!(
        pending["pending"][0]["item"], "442000002000",
        "the proposal reached the township"
    );
}

#[test]
fn restarted_hub_is_found_again_by_the_nodes_that_dial_it() {
    // Goal: the township is the village's only link to the city. Killed and restarted, it comes back on
    // the port it had (ports chosen by the OS are reused), so the village and city reconnect on their
    // own and a change made while it was down still reaches the village.
    let (mut fed, n) = small_federation().unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let before = fed.node(n.township).call(Command::Status).unwrap()["listen_addrs"].clone();
    fed.node_mut(n.township).kill();
    fed.node(n.city).call(create("442000004000")).unwrap();
    fed.node_mut(n.township).start(CONVERGE_TIMEOUT).unwrap();
    let after = fed.node(n.township).call(Command::Status).unwrap()["listen_addrs"].clone();
    assert_eq!(before, after, "the restarted node listens where it did");
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let items = fed.node(n.village).call(Command::items(None)).unwrap();
    assert_eq!(items["items"][0]["code"], "442000004000");
}
