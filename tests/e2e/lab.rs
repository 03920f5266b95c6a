//! Real nodes in network namespaces (the lab, `hallsync-lab`): villages behind NAT, relays and
//! hole punching, cut links, lossy slow links. These need root, as CI runs; each lab is torn down
//! at the end of its test, whatever happens.

use std::time::{Duration, Instant};

use hallsync_lab::run::{with_lab, RunningLab};
use hallsync_node::engine::response::{ItemsPage, PendingPage, StatusReport};
use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_sim::Scenario;

/// A scenario of `districts`/`townships`/`villages`, links of `latency_ms` and `loss`, villages
/// behind NAT when `nat`, nodes syncing every `sync_ms`.
fn scenario(villages: u32, latency_ms: u64, loss: f64, nat: bool, sync_ms: u64) -> Scenario {
    let text = format!(
        "name = \"lab-test\"\nseed = 7\nduration_s = 3600\n\
         [halls]\ndistricts = 1\ntownships_per_parent = 1\nvillages_per_township = {villages}\n\
         [link]\nlatency_ms = {latency_ms}\nloss = {loss}\n\
         [lab]\nnat = \"{}\"\nsync_interval_ms = {sync_ms}\n",
        if nat { "villages" } else { "none" }
    );
    Scenario::from_toml(&text, "test").unwrap()
}

fn item(n: u32) -> hallsync_model::records::item::ItemFields {
    hallsync::harness::sample_item(
        &hallsync::harness::public_service_code(n),
        "实验事项",
        hallsync_model::records::item::ItemType::PublicService,
        "市民政局",
        5,
    )
}

/// Waits (bounded) until `node` holds item `n`; the time it took.
fn wait_item(lab: &RunningLab<'_>, node: usize, n: u32, timeout: Duration) -> Option<Duration> {
    let code = hallsync::harness::public_service_code(n);
    let started = Instant::now();
    while started.elapsed() < timeout {
        let page: anyhow::Result<ItemsPage> = lab.nodes()[node].call_as(Command::Items {
            hall: None,
            search: Some(code.clone()),
            after: None,
            limit: Some(5),
        });
        if page.is_ok_and(|p| p.items.iter().any(|i| i.fields.code.as_str() == code)) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Prints the end of every node's log, for a failure's diagnosis.
fn dump_logs(root: &std::path::Path) {
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let log = std::fs::read_to_string(entry.path().join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|l| !l.contains("sync round")).collect();
        eprintln!("==== {}", entry.path().display());
        for l in &lines[lines.len().saturating_sub(25)..] {
            eprintln!("{}", l.chars().take(400).collect::<String>());
        }
    }
}

fn index_of(lab: &RunningLab<'_>, level: hallsync_model::Level) -> Vec<usize> {
    lab.plan()
        .halls
        .iter()
        .enumerate()
        .filter(|(_, h)| h.level == level)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn a_village_behind_nat_syncs_both_ways_over_its_own_connection_within_seconds() {
    // Goal (issue #12): a village behind NAT cannot be dialled, yet changes from above reach it
    // over the connection it made, pushed at once (the sync timer is a minute here), and its own
    // proposals reach its township as fast.
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(1, 20, 0.0, true, 60_000);
    with_lab(&s, &hallsync_tests::hallsync_bin(), dir.path(), |lab| {
        let village = index_of(lab, hallsync_model::Level::Village)[0];
        let township = index_of(lab, hallsync_model::Level::Township)[0];
        lab.nodes()[0].call(Command::ItemCreate(item(1)))?;
        let took = wait_item(lab, village, 1, Duration::from_secs(20))
            .expect("the item reached the village behind NAT");
        assert!(
            took < Duration::from_secs(10),
            "pushed, not waiting for the timer: {took:?}"
        );
        lab.nodes()[village].call(Command::StationPropose(StationRequest::station(
            &hallsync::harness::public_service_code(1),
            None,
        )))?;
        let started = Instant::now();
        let mut seen = false;
        while !seen && started.elapsed() < Duration::from_secs(20) {
            let p: PendingPage = lab.nodes()[township].call_as(Command::pending())?;
            seen = !p.pending.is_empty();
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(seen, "the village's proposal reached its township");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        // And the township cannot dial the village: their connection is the village's.
        let status: StatusReport = lab.nodes()[township].call_as(Command::Status)?;
        assert!(status
            .peers
            .iter()
            .any(|p| p.connected && p.halls.contains(&lab.plan().halls[village].id)));
        Ok(())
    })
    .unwrap();
}

#[test]
fn two_villages_behind_nat_reach_each_other_through_a_relay_and_punch_a_hole_if_they_can() {
    // Goal (issue #12): two villages, each behind its own NAT, learn they cannot be dialled,
    // reserve a slot at their township (a relay), and one reaches the other through it; DCUtR then
    // tries to make the connection direct. The test reports which it became.
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(2, 10, 0.0, true, 1000);
    with_lab(&s, &hallsync_tests::hallsync_bin(), dir.path(), |lab| {
        let villages = index_of(lab, hallsync_model::Level::Village);
        let (a, b) = (villages[0], villages[1]);
        // B's relayed address appears once AutoNAT found it private and the slot is held.
        let started = Instant::now();
        let mut relayed = None;
        while relayed.is_none() && started.elapsed() < Duration::from_secs(90) {
            let st: StatusReport = lab.nodes()[b].call_as(Command::Status)?;
            relayed = st
                .listen_addrs
                .iter()
                .find(|x| x.contains("/p2p-circuit/"))
                .cloned();
            std::thread::sleep(Duration::from_millis(500));
        }
        let relayed = relayed.expect("village B reserved a relay slot at its township");
        lab.nodes()[a].call(Command::PeerAdd { addr: relayed })?;
        let b_id = lab.nodes()[b]
            .call_as::<StatusReport>(Command::Status)?
            .device_id;
        let started = Instant::now();
        let mut path = None;
        while started.elapsed() < Duration::from_secs(60) {
            let st: StatusReport = lab.nodes()[a].call_as(Command::Status)?;
            if let Some(p) = st.peers.iter().find(|p| p.connected && p.device_id == b_id) {
                path = p.path.clone();
                if path.as_deref().is_some_and(|p| p.starts_with("direct")) {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let Some(path) = path else {
            dump_logs(dir.path());
            panic!("village A did not reach village B");
        };
        eprintln!("village A reaches village B: {path}");
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_cut_district_link_heals_and_converges() {
    // Goal (issue #12): the district–city link goes down; a change at the city does not reach
    // below it meanwhile; the link comes back and everything converges.
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(1, 10, 0.0, false, 500);
    with_lab(&s, &hallsync_tests::hallsync_bin(), dir.path(), |lab| {
        let district = index_of(lab, hallsync_model::Level::District)[0];
        let village = index_of(lab, hallsync_model::Level::Village)[0];
        let link = lab.plan().uplink_of(district).unwrap();
        assert!(lab.wait_converged(Duration::from_secs(60))?.is_some());
        lab.set_link(link, false);
        lab.nodes()[0].call(Command::ItemCreate(item(2)))?;
        assert!(
            wait_item(lab, village, 2, Duration::from_secs(5)).is_none(),
            "nothing crosses a cut link"
        );
        lab.set_link(link, true);
        assert!(
            wait_item(lab, village, 2, Duration::from_secs(90)).is_some(),
            "after the heal the item arrives"
        );
        assert!(
            lab.wait_converged(Duration::from_secs(90))?.is_some(),
            "{:?}",
            lab.lagging()?
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn five_percent_loss_and_300_ms_latency_still_converge() {
    // Goal (issue #12): every link loses 5 % of packets and takes 300 ms each way; the federation
    // still converges after changes at the city.
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(2, 300, 0.05, false, 1000);
    with_lab(&s, &hallsync_tests::hallsync_bin(), dir.path(), |lab| {
        for n in 10..13 {
            lab.nodes()[0].call(Command::ItemCreate(item(n)))?;
        }
        let took = lab.wait_converged(Duration::from_secs(180))?;
        assert!(took.is_some(), "not converged: {:?}", lab.lagging()?);
        for v in index_of(lab, hallsync_model::Level::Village) {
            assert!(wait_item(lab, v, 12, Duration::from_secs(30)).is_some());
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn three_overlapping_faults_converge_in_the_lab_and_the_report_names_each() {
    // Goal (issue #12): the faults scenario (a flapping village link, a one-way cut, a township
    // killed and restarted, a clock ahead) runs with real nodes, converges, and the report says per
    // fault how long its hall took to catch up after it ended. (The simulator runs the same file:
    // `hallsync-sim` test `the_faults_scenario_converges_and_reports_each_fault`.)
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../simulation/scenarios/faults.toml"
    ))
    .unwrap();
    let mut s = Scenario::from_toml(&text, "faults").unwrap();
    // Twice as fast as the file says, to keep CI short.
    s.lab.time_scale *= 2;
    s.lab.work_s = 8;
    let dir = tempfile::tempdir().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let report =
        hallsync_lab::run::run(&s, &hallsync_tests::hallsync_bin(), dir.path(), &stop).unwrap();
    assert!(report.converged, "{:?}", report.lagging);
    let names: Vec<&str> = report.faults.iter().map(|f| f.name.as_str()).collect();
    for name in ["flap D0T0V0", "one_way D1", "crash D0T1"] {
        let f = report
            .faults
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} in {names:?}"));
        assert!(f.converged_after_s.is_some(), "{f:?}");
    }
}
