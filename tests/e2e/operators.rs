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
