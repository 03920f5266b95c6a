//! A stranger on the network (issue #10): the node's own libp2p stack under fresh keys with no
//! certificate. It gets one refusal per connection and nothing else, and costs the node nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hallsync_config::{Config, NodeSection};
use hallsync_model::sync::admission::Admission;
use hallsync_model::sync::protocol::network_tag;
use hallsync_model::{DeviceKey, Message, Step};
use hallsync_node::control::ControlInfo;
use hallsync_node::network::behaviour::{build_swarm, BehaviourEvent, MembersEvent};
use hallsync_node::network::budget::Frame;
use hallsync_node::network::peer::device_of;
use hallsync_node::{Command, DataDir};
use hallsync_tests::{create_item, small_federation, CONVERGE_TIMEOUT};
use libp2p::request_response::{self, Message as Rr, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::Multiaddr;

/// What the strangers saw.
#[derive(Debug, Default)]
struct Seen {
    /// Admission refusals received.
    refusals: usize,
    /// Anything else received: welcomes, sync steps, identify — each a leak.
    leaks: Vec<String>,
    /// Requests that failed (protocol refused, stream reset, connection closed).
    failures: usize,
    /// Bytes of the requests the node has dealt with (refused or failed), the strangers' offer.
    offered: usize,
    /// Connections made.
    connections: usize,
}

const STRANGERS: usize = 3;
const OFFER_BYTES: usize = 50 * 1024 * 1024;
const ATTACK_TIME: Duration = Duration::from_secs(40);

/// Three strangers, one connection each, redialled when the node closes it: each says hello with
/// no certificate, sends junk admission frames and sync steps that echo the network tag, in many
/// streams, until 50 MB have been offered or the time is up.
async fn attack(addr: Multiaddr, network: [u8; 8]) -> Seen {
    let mut seen = Seen::default();
    let node = addr
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .expect("the node's address names its peer id");
    let config = Config::new(NodeSection {
        hall: "999999".into(),
        level: "village".into(),
        name: "陌生人 stranger".into(),
        parent: None,
    });
    let mut swarms = Vec::new();
    for i in 0..STRANGERS {
        let key = DeviceKey::from_seed([0x5a ^ i as u8; 32]);
        let mut swarm = build_swarm(&key, &config).expect("stranger swarm");
        // The stranger lets its own side of every protocol run, so it can try them all.
        swarm
            .behaviour_mut()
            .members
            .admit(BTreeSet::from([device_of(&node).expect("ed25519 peer")]));
        swarm.dial(addr.clone()).expect("dial");
        swarms.push(swarm);
    }
    // A step that echoes the network tag and says "I hold nothing": what used to get the trust
    // record and the catalogue.
    let echo = Message::Step(Step {
        network,
        ranges: Vec::new(),
        have: Vec::new(),
        want: Vec::new(),
        changes: Vec::new(),
        held: Vec::new(),
        fetch: Vec::new(),
        more: false,
        parts: Vec::new(),
        need: Vec::new(),
    })
    .to_bytes();
    let junk = vec![0xa5u8; 1024 * 1024];
    let started = Instant::now();
    let mut sizes: BTreeMap<OutboundRequestId, usize> = BTreeMap::new();
    while (seen.offered < OFFER_BYTES || seen.refusals < STRANGERS)
        && started.elapsed() < ATTACK_TIME
    {
        let events =
            futures::future::select_all(swarms.iter_mut().map(|s| Box::pin(s.select_next_some())));
        let (event, i, _) = match tokio::time::timeout(Duration::from_millis(500), events).await {
            Ok(x) => x,
            Err(_) => {
                for swarm in &mut swarms {
                    if !swarm.is_connected(&node) {
                        let _ = swarm.dial(addr.clone());
                    }
                }
                continue;
            }
        };
        let swarm = &mut swarms[i];
        match event {
            SwarmEvent::ConnectionEstablished { .. } => {
                seen.connections += 1;
                let hello = Admission::Hello { chain: Vec::new() }.to_bytes();
                let b = swarm.behaviour_mut();
                sizes.insert(
                    b.admission
                        .send_request(&node, Frame::outgoing(hello.clone())),
                    hello.len(),
                );
                sizes.insert(
                    b.admission
                        .send_request(&node, Frame::outgoing(vec![0xff; 60 * 1024])),
                    60 * 1024,
                );
                sizes.insert(
                    b.sync().send_request(&node, Frame::outgoing(echo.clone())),
                    echo.len(),
                );
                for _ in 0..16 {
                    sizes.insert(
                        b.sync().send_request(&node, Frame::outgoing(junk.clone())),
                        junk.len(),
                    );
                }
            }
            SwarmEvent::ConnectionClosed { .. } => {
                let _ = swarm.dial(addr.clone());
            }
            SwarmEvent::Behaviour(BehaviourEvent::Admission(
                request_response::Event::Message {
                    message:
                        Rr::Response {
                            response,
                            request_id,
                        },
                    ..
                },
            )) => {
                seen.offered += sizes.remove(&request_id).unwrap_or(0);
                match Admission::from_bytes(&response.bytes) {
                    Ok(Admission::Refused { .. }) => seen.refusals += 1,
                    other => seen.leaks.push(format!("admission answer {other:?}")),
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::Sync(
                request_response::Event::Message { message, .. },
            ))) => seen.leaks.push(format!("sync message {message:?}")),
            SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::Identify(
                libp2p::identify::Event::Received { info, .. },
            ))) => seen.leaks.push(format!("identify {info:?}")),
            SwarmEvent::Behaviour(BehaviourEvent::Admission(
                request_response::Event::OutboundFailure { request_id, .. },
            ))
            | SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::Sync(
                request_response::Event::OutboundFailure { request_id, .. },
            ))) => {
                seen.failures += 1;
                seen.offered += sizes.remove(&request_id).unwrap_or(0);
            }
            _ => {}
        }
    }
    seen
}

/// Resident memory of a process, in bytes (Linux).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

/// What a stranger may raise the node's resident memory by: THREAT-MODEL.md "A stranger on the
/// network" (`strangers_max` connections × one 64 KiB admission frame, plus their buffers).
const STRANGER_RSS_CEILING: u64 = 64 * 1024 * 1024;

#[test]
fn a_stranger_gets_one_refusal_and_nothing_else_and_costs_the_node_nothing() {
    // Goal (issue #10): strangers with the node's own libp2p stack and no certificate connect
    // three at a time, say hello, echo the network tag, and offer 50 MB in many streams. They get
    // refusals only — no welcome, no sync step, no identify; the township's memory stays under the
    // ceiling, its store does not grow, it reports no equivocation, and it keeps syncing with its
    // certified peers meanwhile.
    let (fed, n) = small_federation().unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let node = fed.node(n.township);
    let status = node.call(Command::Status).unwrap();
    let addr: Multiaddr = status["listen_addrs"][0].as_str().unwrap().parse().unwrap();
    let network = network_tag(status["network_id"].as_str().unwrap());
    let dir = DataDir::new(node.dir.clone());
    let pid = ControlInfo::read(&dir.control_file()).unwrap().unwrap().pid;
    let store = dir.store_file();
    let store_before = std::fs::metadata(&store).unwrap().len();
    let rss_before = rss(pid);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seen = runtime.block_on(attack(addr, network));
    let rss_after = rss(pid);
    eprintln!("stranger attack: {seen:?}; rss {rss_before} -> {rss_after}");
    let store_after = std::fs::metadata(&store).unwrap().len();

    assert!(
        seen.leaks.is_empty(),
        "a stranger received: {:?}",
        seen.leaks
    );
    assert!(seen.refusals >= STRANGERS, "{seen:?}");
    assert!(seen.failures > 0, "{seen:?}");
    assert!(
        seen.offered >= OFFER_BYTES,
        "the attack offered too little: {seen:?}"
    );
    assert!(
        rss_after < rss_before + STRANGER_RSS_CEILING,
        "resident memory went from {rss_before} to {rss_after} bytes"
    );
    assert_eq!(store_before, store_after, "the store grew under a stranger");
    let status = node.call(Command::Status).unwrap();
    assert_eq!(status["equivocations"], 0, "{status:#}");
    assert!(
        status["admission_refusals"].as_u64().unwrap() >= STRANGERS as u64,
        "{status:#}"
    );

    // The certified peers never stopped syncing.
    fed.node(n.city).call(create_item("442000009000")).unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
}
