//! A cross-region case between two districts that are only intermittently connected.

use hallsync::harness::{Federation, Tier};
use hallsync_node::Command;
use hallsync_tests::{hallsync_bin, CONVERGE_TIMEOUT};

fn step(fed: &Federation, node: usize, case: &str, to: &str) {
    fed.node(node)
        .call(Command::CaseStep {
            case: case.into(),
            to: to.into(),
            materials: vec![],
            note: "依法办理".into(),
            supply_by: None,
            mode: (to == "issued").then(|| "mail".to_string()),
        })
        .unwrap_or_else(|e| panic!("{to}: {e:#}"));
}

const CODE: &str = "442000012000";

/// A city with districts A (440305) and B (440306), and a citywide item `CODE` in the catalogue.
fn city_and_two_districts() -> (Federation, usize, usize, usize) {
    let mut fed = Federation::new(&hallsync_bin(), None).unwrap();
    let city = fed.add_city("city", "4403", "深圳市政务服务中心").unwrap();
    let mut district = |name: &str, hall: &str, hall_name: &str| {
        fed.add_member(name, hall, Tier::District, hall_name, "4403", "admin", city)
            .unwrap()
    };
    let da = district("district-a", "440305", "南山区");
    let db = district("district-b", "440306", "宝安区");
    fed.node(city)
        .call(hallsync_tests::create_item(CODE))
        .unwrap();
    (fed, city, da, db)
}

#[test]
fn case_accepted_in_one_district_is_decided_in_another_and_issued_back() {
    // Goal: a village of district A receives and accepts a case for a township of district B; district
    // B goes offline and online between steps; the township decides it, the village issues it; every
    // party and carrier ends with the same case, all of whose transitions took effect in order, and a
    // sibling township that is neither never receives it.
    let (mut fed, city, da, db) = city_and_two_districts();
    let ta = fed
        .add_member(
            "township-a",
            "440305001",
            Tier::Township,
            "南头街道",
            "440305",
            "admin",
            da,
        )
        .unwrap();
    let va = fed
        .add_member(
            "village-a",
            "440305001001",
            Tier::Village,
            "南头村",
            "440305001",
            "operator",
            ta,
        )
        .unwrap();
    let tb = fed
        .add_member(
            "township-b",
            "440306001",
            Tier::Township,
            "新安街道",
            "440306",
            "admin",
            db,
        )
        .unwrap();
    // A sibling of township A: not a party, not on the path between the parties.
    let sibling = fed
        .add_member(
            "township-a2",
            "440305002",
            Tier::Township,
            "南山街道",
            "440305",
            "admin",
            da,
        )
        .unwrap();
    let on_path = [city, da, ta, va, db, tb];
    let code = CODE;
    hallsync_tests::wait_sealing_keys(&fed);

    fed.node(db).call(Command::Net { online: false }).unwrap();
    fed.node(va)
        .call(Command::CaseOpen {
            item: code.into(),
            handling: "440306001".into(),
            case_no: "K2026-001".into(),
            applicant_id: "440300199001011238".into(),
            applicant_name: Some("张三".into()),
        })
        .unwrap();
    let case = "case/440305001001/440306001/K2026-001";
    step(&fed, va, case, "accepted");
    step(&fed, va, case, "transferred");
    // While district B is cut off, township B cannot have it.
    let cases_b = fed.node(tb).call(Command::cases(false)).unwrap();
    assert_eq!(cases_b["cases"].as_array().unwrap().len(), 0);
    fed.node(db).call(Command::Net { online: true }).unwrap();
    fed.wait_converged_among(&on_path, CONVERGE_TIMEOUT)
        .unwrap();

    // The intake site may not decide (K13).
    let refused = fed.node(va).call(Command::CaseStep {
        case: case.into(),
        to: "in_review".into(),
        materials: vec![],
        note: String::new(),
        supply_by: None,
        mode: None,
    });
    assert!(refused.unwrap_err().to_string().contains("K13"));
    step(&fed, tb, case, "in_review");
    step(&fed, tb, case, "decided");
    fed.node(db).call(Command::Net { online: false }).unwrap();
    fed.node(db).call(Command::Net { online: true }).unwrap();
    fed.wait_converged_among(&on_path, CONVERGE_TIMEOUT)
        .unwrap();
    step(&fed, va, case, "issued");
    step(&fed, va, case, "delivered");
    fed.wait_converged_among(&on_path, CONVERGE_TIMEOUT)
        .unwrap();
    step(&fed, tb, case, "archived");
    fed.wait_converged_among(&on_path, CONVERGE_TIMEOUT)
        .unwrap();

    let outsider = fed.node(sibling).call(Command::cases(false)).unwrap();
    assert_eq!(
        outsider["cases"].as_array().unwrap().len(),
        0,
        "a hall that is neither party nor carrier never holds the case"
    );
    let items = fed.node(sibling).call(Command::items(None)).unwrap();
    assert_eq!(
        items["items"][0]["code"], code,
        "it does hold what every hall holds"
    );
    let mut views: Vec<_> = on_path
        .iter()
        .map(|i| fed.node(*i).call(Command::cases(false)).unwrap())
        .collect();
    // The parties (village A, township B) read the applicant; the carriers hold the case sealed.
    for (i, view) in on_path.iter().zip(&mut views) {
        let case = &mut view["cases"][0];
        assert_eq!(case["sealed"], true);
        let party = *i == va || *i == tb;
        let applicant = case
            .as_object_mut()
            .and_then(|c| c.remove("applicant"))
            .unwrap_or_default();
        if party {
            assert_eq!(
                applicant["id"],
                "440300199001011238",
                "{}",
                fed.node(*i).name
            );
            assert_eq!(applicant["name"], "张三");
        } else {
            assert!(
                applicant.is_null(),
                "{} is a carrier: {applicant}",
                fed.node(*i).name
            );
        }
        // Every step's note is sealed: the parties read it, the carriers do not.
        for h in case["history"].as_array_mut().unwrap() {
            assert_eq!(h["sealed"], true);
            let note = h["note"].take();
            assert_eq!(
                note,
                if party { "依法办理" } else { "" },
                "{}",
                fed.node(*i).name
            );
        }
    }
    assert!(
        views.windows(2).all(|w| w[0] == w[1]),
        "every party and carrier sees the same case otherwise"
    );
    // The carriers' stores hold neither the id, its plain SHA-256, nor the name.
    let hash = {
        use sha2::Digest;
        sha2::Sha256::digest(b"440300199001011238")
    };
    for carrier in [da, city, db] {
        let store = std::fs::read(fed.node(carrier).dir.join("store.redb")).unwrap();
        for (what, needle) in [
            ("the id", b"440300199001011238".to_vec()),
            ("its SHA-256", hash.to_vec()),
            ("its SHA-256 in hex", hex::encode(hash).into_bytes()),
            ("the name", "张三".as_bytes().to_vec()),
            ("a note", "依法办理".as_bytes().to_vec()),
        ] {
            assert!(
                !store.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{}'s store holds {what}",
                fed.node(carrier).name
            );
        }
    }
    // Each display at a party was logged there, with who asked (D2, PIPL art 51).
    let log = fed
        .node(va)
        .call(Command::AccessLog { limit: None })
        .unwrap();
    let entries = log["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["case"] == case && e["what"] == "applicant" && e["by"] == "control API"),
        "{log:#}"
    );
    // A party finds the case by the applicant's id (through the keyed reference only parties can
    // compute); another person's id finds nothing; a carrier finds nothing even with the right id.
    let lookup = |node: usize, id: &str| {
        let answer = fed
            .node(node)
            .call(Command::Cases {
                overdue: false,
                by: None,
                applicant_id: Some(id.into()),
                state: None,
                after: None,
                limit: None,
            })
            .unwrap();
        answer["cases"].as_array().unwrap().len()
    };
    assert_eq!(lookup(tb, "440300199001011238"), 1);
    assert_eq!(
        lookup(va, " 440300199001011238 "),
        1,
        "the id is normalised"
    );
    assert_eq!(lookup(tb, "11010519491231002X"), 0);
    assert_eq!(
        lookup(city, "440300199001011238"),
        0,
        "a carrier cannot look up"
    );
    let carrier_log = fed
        .node(city)
        .call(Command::AccessLog { limit: None })
        .unwrap();
    assert_eq!(carrier_log["entries"].as_array().unwrap().len(), 0);
    let c = &views[0]["cases"][0];
    assert_eq!(c["state"], "archived", "{c:#}");
    let applied: Vec<&str> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["applied"] == true)
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        applied,
        [
            "accepted",
            "transferred",
            "in_review",
            "decided",
            "issued",
            "delivered",
            "archived"
        ]
    );
    assert!(c["due"].as_str().is_some());
    assert_ne!(
        c["applicant_ref"], "440300199001011238",
        "the applicant's id is stored only as a hash"
    );

    // D1: the personal data is erased once the case's retention has passed. Every holder carries
    // the sealed parts (the applicant and each note) beside its store.
    let sealed = sealed_parts(&fed, city);
    assert_eq!(sealed.len(), 8, "the applicant and seven notes");
    for i in on_path {
        assert_eq!(sealed_parts(&fed, i), sealed, "{}", fed.node(i).name);
    }
    let refused = fed
        .node(va)
        .call(Command::CaseErase {
            case: "case/440305001001/440306001/nope".into(),
        })
        .unwrap_err();
    assert!(refused.to_string().contains("not held"), "{refused:#}");
    // Village A, the other party, is offline while the erasure happens: it is the late replica.
    fed.node(va).call(Command::Net { online: false }).unwrap();
    // Township B keeps personal data 0 days after archiving: its retention scan erases at once.
    fed.node_mut(tb).stop(CONVERGE_TIMEOUT);
    let dir = fed.node(tb).dir.clone();
    let mut config = hallsync_config::Config::load(&dir).unwrap();
    config.cases.retention_days = 0;
    config.save(&dir).unwrap();
    fed.node_mut(tb).start(CONVERGE_TIMEOUT).unwrap();
    let others = [city, da, ta, db, tb];
    let erased = |i: usize| {
        fed.node(i).call(Command::cases(false)).unwrap()["cases"][0]["erased_at"].is_i64()
    };
    let started = std::time::Instant::now();
    while !others.iter().all(|i| erased(*i)) {
        assert!(
            started.elapsed() < CONVERGE_TIMEOUT,
            "the erasure reached every connected holder: {:?}; township B's log: {}",
            others.map(erased),
            std::fs::read_to_string(fed.node(tb).dir.join("node.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    fed.wait_converged_among(&others, CONVERGE_TIMEOUT).unwrap();
    for i in others {
        assert_eq!(
            sealed_parts(&fed, i),
            Vec::<Vec<u8>>::new(),
            "{}",
            fed.node(i).name
        );
        assert_holds_none(&fed, i, &sealed);
        let view = fed.node(i).call(Command::cases(false)).unwrap();
        let case = &view["cases"][0];
        assert_eq!(case["state"], "archived", "the non-personal record stays");
        assert!(case["applicant"].is_null() && case["history"][3]["note"] == "");
    }
    let again = fed
        .node(tb)
        .call(Command::CaseErase { case: case.into() })
        .unwrap_err();
    assert!(again.to_string().contains("already erased"), "{again:#}");
    // The late replica still holds the ciphertext and reads the applicant; once back, it drops it
    // on sync.
    assert_eq!(sealed_parts(&fed, va), sealed);
    let late = fed.node(va).call(Command::cases(false)).unwrap();
    assert_eq!(late["cases"][0]["applicant"]["name"], "张三");
    fed.node(va).call(Command::Net { online: true }).unwrap();
    fed.wait_converged_among(&on_path, CONVERGE_TIMEOUT)
        .unwrap();
    let started = std::time::Instant::now();
    while !sealed_parts(&fed, va).is_empty() {
        assert!(
            started.elapsed() < CONVERGE_TIMEOUT,
            "village A drops the parts"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_holds_none(&fed, va, &sealed);
    let at = |i: usize| fed.node(i).call(Command::cases(false)).unwrap()["cases"][0].clone();
    assert!(
        on_path.iter().all(|i| at(*i) == at(city)),
        "the erasure converged"
    );
}

/// The sealed parts a node holds beside its store, sorted.
fn sealed_parts(fed: &Federation, node: usize) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = files_under(&fed.node(node).dir.join("parts"))
        .iter()
        .filter(|p| p.extension().is_none())
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    parts.sort();
    parts
}

/// Fails when any file of `node`'s directory holds any of `needles` (its store, its parts, its logs).
fn assert_holds_none(fed: &Federation, node: usize, needles: &[Vec<u8>]) {
    for file in files_under(&fed.node(node).dir) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for needle in needles {
            // The first 64 bytes of a part: its ephemeral key and first wrap.
            let needle = &needle[..needle.len().min(64)];
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} still holds sealed bytes",
                file.display()
            );
        }
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A TCP relay on 127.0.0.1 that records every byte it forwards, both ways: what an observer on
/// the wire between two halls sees. It stops accepting after `life`, and each forwarding thread
/// ends with its connection (read timeouts bound a stalled one).
struct Tap {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Tap {
    fn to(target: u16, life: std::time::Duration) -> Tap {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = seen.clone();
        std::thread::spawn(move || {
            let until = std::time::Instant::now() + life;
            while std::time::Instant::now() < until {
                let Ok((inbound, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    continue;
                };
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let _ = inbound.set_nonblocking(false);
                for (mut from, mut to) in [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound, inbound),
                ] {
                    let recorded = recorded.clone();
                    std::thread::spawn(move || {
                        let _ = from.set_read_timeout(Some(life));
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            let mut seen = recorded.lock().unwrap();
                            // At most 64 MiB kept: more than any of these exchanges.
                            if seen.len() < 64 << 20 {
                                seen.extend_from_slice(&buf[..n]);
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Tap { port, seen }
    }

    fn bytes(&self) -> Vec<u8> {
        self.seen.lock().unwrap().clone()
    }
}

#[test]
fn a_network_observer_between_two_halls_reads_nothing_of_a_case() {
    // Goal (issue #14, THREAT-MODEL "a network observer"): district A reaches the city only through a
    // relay that records every byte; a case opened at district A for district B crosses it. The
    // recording holds neither the applicant's id, name, nor a note, nor even the case number, the
    // item code or the sealed part's bytes (the transport is encrypted as well), while district B,
    // behind the city, reads the whole case.
    let (mut fed, city, da, db) = city_and_two_districts();
    let code = CODE;
    hallsync_tests::wait_sealing_keys(&fed);
    // District A listens nowhere and dials the city through the tap.
    let status = fed.node(city).call(Command::Status).unwrap();
    let city_addr = status["listen_addrs"][0].as_str().unwrap().to_string();
    let city_port: u16 = city_addr.split('/').nth(4).unwrap().parse().unwrap();
    let tap = Tap::to(city_port, 3 * CONVERGE_TIMEOUT);
    fed.node_mut(da).stop(CONVERGE_TIMEOUT);
    let dir = fed.node(da).dir.clone();
    let mut config = hallsync_config::Config::load(&dir).unwrap();
    config.network.listen = Vec::new();
    config.network.peers = vec![city_addr.replace(
        &format!("/tcp/{city_port}/"),
        &format!("/tcp/{}/", tap.port),
    )];
    config.save(&dir).unwrap();
    fed.node_mut(da).start(CONVERGE_TIMEOUT).unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();

    let case = "case/440305/440306/OBS-1";
    fed.node(da)
        .call(Command::CaseOpen {
            item: code.into(),
            handling: "440306".into(),
            case_no: "OBS-1".into(),
            applicant_id: "440300199001011238".into(),
            applicant_name: Some("李四".into()),
        })
        .unwrap();
    fed.node(da)
        .call(Command::CaseStep {
            case: case.into(),
            to: "accepted".into(),
            materials: vec![],
            note: "观察者读不到".into(),
            supply_by: None,
            mode: None,
        })
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let at_b = fed.node(db).call(Command::cases(false)).unwrap();
    let read = &at_b["cases"][0];
    assert_eq!(read["applicant"]["name"], "李四", "{at_b:#}");
    assert_eq!(read["history"][0]["note"], "观察者读不到");
    // District A's only connection is the tapped one to the city: the case crossed the tap.
    let peers = fed.node(da).call(Command::Status).unwrap()["connected_peers"].clone();
    let city_device = fed.node(city).call(Command::Status).unwrap()["device_id"].clone();
    assert_eq!(peers, serde_json::json!([city_device]));
    let seen = tap.bytes();
    // What goes in clear is the handshake's protocol names: the search finds what is there.
    assert!(
        seen.windows(6).any(|w| w == b"/noise"),
        "the tap holds a libp2p connection"
    );
    assert!(
        seen.len() > 4096,
        "the tap carried the exchange ({} bytes)",
        seen.len()
    );
    let part_heads: Vec<Vec<u8>> = sealed_parts(&fed, da)
        .into_iter()
        .map(|p| p[..p.len().min(64)].to_vec())
        .collect();
    assert_eq!(part_heads.len(), 2);
    let mut needles: Vec<(&str, Vec<u8>)> = vec![
        ("the id", b"440300199001011238".to_vec()),
        ("the name", "李四".as_bytes().to_vec()),
        ("the note", "观察者读不到".as_bytes().to_vec()),
        ("the case number", b"OBS-1".to_vec()),
        ("the item code", code.as_bytes().to_vec()),
    ];
    needles.extend(part_heads.into_iter().map(|p| ("a sealed part", p)));
    for (what, needle) in needles {
        assert!(
            !seen.windows(needle.len()).any(|w| w == needle.as_slice()),
            "the observer read {what}"
        );
    }
}
