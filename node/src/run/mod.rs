//! The event loop of a running node.
//!
//! One task owns the engine and the swarm and selects over: swarm events, control commands, the sync
//! timer, and shutdown. Nothing else touches the store, so there are no locks.

mod admission;
mod metrics;
mod peer_book;
mod peer_status;
mod reach;
mod sync_driver;

use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, Swarm};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::control::{CommandRequest, ControlInfo, ControlServer};
use crate::engine::{Command, Engine, NetView};
use crate::error::NodeError;
use crate::network::behaviour::{build_swarm, Behaviour, BehaviourEvent, MembersEvent};
use crate::network::peer::peer_label;
use crate::paths::DataDir;
use admission::Admissions;
use hallsync_model::sync::session::SessionConfig;
use peer_book::PeerBook;
use sync_driver::SyncDriver;

pub use peer_book::peer_of;

const META_PEERS: &str = "peers";
const META_LISTEN: &str = "listen";

/// `addr` ending with `/p2p/me` once.
fn with_own_id(addr: &Multiaddr, me: libp2p::PeerId) -> Multiaddr {
    if peer_book::peer_of_last(addr) == Some(me) {
        addr.clone()
    } else {
        addr.clone().with(Protocol::P2p(me))
    }
}

/// True for an address on the loopback interface (127.0.0.0/8, ::1).
fn is_loopback(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_loopback(),
        Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}

/// Most nodes found on the local network kept while the trust record does not name them.
const LAN_PENDING_MAX: usize = 64;

/// Commands waiting for the loop; the control server waits when it is full.
const COMMAND_QUEUE_MAX: usize = 64;

struct Node {
    engine: Engine,
    swarm: Swarm<Behaviour>,
    sync: SyncDriver,
    admissions: Admissions,
    book: PeerBook,
    online: bool,
    listen_addrs: Vec<String>,
    stop: bool,
    /// Why the node stopped on its own, if it did: `run` returns it.
    fatal: Option<NodeError>,
    /// Where the metrics text goes, when `metrics.listen` is set.
    metrics: Option<(tokio::sync::watch::Sender<String>, metrics::WaitingSince)>,
    /// Where the metrics endpoint listens.
    metrics_addr: Option<String>,
    /// Reachability behind NAT: relay reservations.
    reach: reach::Reach,
    /// Nodes found on the local network that the trust record did not name yet (bounded): dialled
    /// once it does.
    lan: std::collections::BTreeMap<libp2p::PeerId, Multiaddr>,
}

/// How long `run` waits for another command that holds the store (an export, a check) to finish.
const STORE_WAIT: Duration = Duration::from_secs(60);

/// Opens the node, waiting up to [`STORE_WAIT`] while another command holds the store: a node
/// started by a script right after such a command should start, not exit.
///
/// # Errors
/// As [`Engine::open`]; [`NodeError::StoreLocked`] once the wait is over.
async fn open_waiting(dir: &DataDir) -> Result<Engine, NodeError> {
    let started = Instant::now();
    let mut said = false;
    loop {
        match Engine::open(dir) {
            Err(NodeError::StoreLocked { .. }) if started.elapsed() < STORE_WAIT => {
                if !said {
                    tracing::warn!(
                        "another command holds the store; waiting up to {} s for it (等待存储)",
                        STORE_WAIT.as_secs()
                    );
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

/// Runs the node in `dir` until `shutdown` completes or a `shutdown` command arrives.
///
/// # Errors
/// Start-up failures: not joined, store locked, bad addresses, ports in use.
pub async fn run(dir: DataDir, shutdown: impl Future<Output = ()>) -> Result<(), NodeError> {
    tokio::pin!(shutdown);
    let engine = tokio::select! {
        engine = open_waiting(&dir) => engine?,
        // Stopped while waiting for the store: nothing was started.
        () = &mut shutdown => return Ok(()),
    };
    engine.replica()?;
    let config = engine.config().clone();
    let mut swarm = build_swarm(engine.key(), &config)?;
    listen(&mut swarm, &engine, &config.network.listen)?;
    for text in &config.network.announce {
        let addr: Multiaddr = text
            .parse()
            .map_err(|e| NodeError::Network(format!("network.announce `{text}`: {e}")))?;
        // Identify tells peers these besides the listen addresses.
        swarm.add_external_address(addr);
    }
    let now = Instant::now();
    let mut book = PeerBook::new(
        Duration::from_millis(config.network.reconnect_backoff_min_ms),
        Duration::from_millis(config.network.reconnect_backoff_max_ms),
    );
    let saved: Vec<String> = engine
        .store
        .get_meta(META_PEERS)?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    for (addr, configured) in config
        .network
        .peers
        .iter()
        .map(|a| (a, true))
        .chain(saved.iter().map(|a| (a, false)))
    {
        match addr.parse::<Multiaddr>() {
            Ok(a) if configured => {
                book.add_configured(a, now);
            }
            Ok(a) => {
                book.add(a, now);
            }
            Err(e) => tracing::warn!("ignoring peer address `{addr}`: {e}"),
        }
    }
    let (tx, mut commands) = mpsc::channel::<CommandRequest>(COMMAND_QUEUE_MAX);
    let token = ControlInfo::new_token()?;
    let control = ControlServer::start(
        &config.control.listen,
        &config.console,
        token.clone(),
        engine.key().clone(),
        tx,
    )
    .await?;
    let info = ControlInfo {
        addr: control.addr.to_string(),
        token,
        pid: std::process::id(),
    };
    info.write(&dir.control_file())?;
    let (metrics, metrics_server) = if config.metrics.listen.is_empty() {
        (None, None)
    } else {
        let (tx, rx) = tokio::sync::watch::channel(String::new());
        let server =
            crate::control::metrics::MetricsServer::start(&config.metrics.listen, rx).await?;
        tracing::info!("metrics at http://{}/metrics", server.addr);
        (Some((tx, metrics::WaitingSince::default())), Some(server))
    };
    tracing::info!(
        device = %engine.key().device_id(),
        control = %control.addr,
        "node running; stop with Ctrl-C"
    );
    let engine_limits = engine.wire_limits();
    let mut node = Node {
        engine,
        swarm,
        sync: SyncDriver::new(SessionConfig {
            limits: engine_limits,
            round_timeout_ms: crate::network::behaviour::SYNC_REQUEST_TIMEOUT.as_millis() as u64,
            chained_rounds_max: 8,
            push_delay_ms: 0,
            retry_ms: config.network.sync_interval_ms / 2,
        }),
        admissions: Admissions::new(Duration::from_millis(config.network.admission_timeout_ms)),
        book,
        online: true,
        listen_addrs: Vec::new(),
        stop: false,
        fatal: None,
        metrics,
        metrics_addr: metrics_server.as_ref().map(|s| s.addr.to_string()),
        reach: reach::Reach::new(
            &config.network.reachable,
            config.network.relay_serve || !config.network.announce.is_empty(),
        ),
        lan: std::collections::BTreeMap::new(),
    };
    node.publish_metrics();
    node.refresh_admission();
    let mut tick = tokio::time::interval(Duration::from_millis(config.network.sync_interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !node.stop {
        tokio::select! {
            event = node.swarm.select_next_some() => node.on_swarm(event),
            Some((command, reply)) = commands.recv() => {
                if let (Command::StoreCheck, Some(replica)) = (&command, node.engine.replica.as_ref()) {
                    // Minutes on a large store: checked on a snapshot, off the event loop.
                    let snapshot = replica.clone();
                    std::thread::spawn(move || {
                        let _ = reply.send(Ok(crate::engine::store_check(&snapshot)));
                    });
                    continue;
                }
                let answer = node.on_command(command).map_err(|e| e.to_string());
                node.refresh_admission();
                let _ = reply.send(answer);
            }
            _ = tick.tick() => node.on_tick(),
            _ = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down");
    let _ = std::fs::remove_file(dir.control_file());
    let _ = control.stop.send(());
    if let Some(server) = metrics_server {
        let _ = server.stop.send(());
    }
    let gate = &node.swarm.behaviour().members;
    let addrs = serde_json::to_vec(&node.book.addrs(&|p| gate.is_admitted(p))).unwrap_or_default();
    let _ = node.engine.store.put_meta(META_PEERS, &addrs);
    match node.fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Listens on the configured addresses. An address with port 0 first tries the port this node had
/// last time, so peers that saved its address reach it again after a restart.
fn listen(
    swarm: &mut Swarm<Behaviour>,
    engine: &Engine,
    configured: &[String],
) -> Result<(), NodeError> {
    let previous: Vec<Multiaddr> = engine
        .store
        .get_meta(META_LISTEN)?
        .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    for text in configured {
        let addr: Multiaddr = text
            .parse()
            .map_err(|e| NodeError::Network(format!("network.listen `{text}`: {e}")))?;
        let port_zero = |a: &Multiaddr| {
            a.iter()
                .any(|p| matches!(p, Protocol::Tcp(0) | Protocol::Udp(0)))
        };
        // The same host and the same stack (tcp, or udp/quic-v1), whatever the port.
        let tags = |a: &Multiaddr| a.iter().map(|p| p.tag()).collect::<Vec<_>>();
        let ephemeral = port_zero(&addr);
        let reuse = previous.iter().find(|old| {
            ephemeral
                && old.iter().next() == addr.iter().next()
                && tags(old) == tags(&addr)
                && !port_zero(old)
        });
        if let Some(old) = reuse {
            if swarm.listen_on(old.clone()).is_ok() {
                continue;
            }
        }
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NodeError::Network(format!("cannot listen on {addr}: {e}")))?;
    }
    Ok(())
}

impl Node {
    fn net_view(&self) -> NetView {
        NetView {
            running: true,
            online: self.online,
            connected_peers: self.swarm.connected_peers().map(peer_label).collect(),
            listen_addrs: self.listen_addrs.clone(),
            admission_refusals: self.admissions.refused,
            peers: self.peer_statuses(),
            metrics_addr: self.metrics_addr.clone(),
            reach: Some(match (self.reach.is_private(), self.reach.relay()) {
                (false, _) => "直接可达 dialled directly (or not known to be behind NAT)".into(),
                (true, Some(relay)) => format!("经中继可达 behind NAT, reachable through relay {}", peer_label(&relay)),
                (true, None) => "不可直接访问 behind NAT, no relay slot yet (reserved at the supervising hall's node once connected)".into(),
            }),
        }
    }

    /// Every peer known, with its halls from the trust record and, while connected, the digest of
    /// what both should hold.
    fn peer_statuses(&self) -> Vec<crate::engine::response::PeerStatus> {
        let replica = self.engine.replica().ok();
        self.sync
            .peers
            .iter()
            .map(|(peer, r)| {
                let device = crate::network::peer::device_of(peer);
                let halls = match (replica, device) {
                    (Some(replica), Some(d)) => {
                        let mut halls: Vec<String> = replica
                            .trust()
                            .valid_certs_of(&d)
                            .map(|c| c.body.hall.to_string())
                            .collect();
                        halls.dedup();
                        halls
                    }
                    _ => Vec::new(),
                };
                let shared_digest = match (replica, device) {
                    (Some(replica), Some(d)) if r.connected => Some(replica.shared_digest(&d)),
                    _ => None,
                };
                let path = r.remote.as_ref().map(|a| match reach::relay_of(a) {
                    Some(relay) => format!("relayed via {} ({a})", peer_label(&relay)),
                    None => format!("direct {a}"),
                });
                crate::engine::response::PeerStatus {
                    device_id: peer_label(peer),
                    peer_id: peer.to_string(),
                    halls,
                    connected: r.connected,
                    path,
                    last_seen_ms: r.last_seen_ms,
                    last_sync_ms: r.last_sync_ms,
                    in_sync: (r.stats.rounds_completed > 0).then_some(r.stats.in_sync),
                    catching_up: r.stats.catching_up,
                    changes_received: r.stats.changes_received,
                    it_lacked: r.stats.last_round_sent,
                    we_lacked: r.stats.last_round_received,
                    rounds_completed: r.stats.rounds_completed,
                    rounds_failed: r.stats.rounds_failed,
                    bytes_in: r.bytes_in,
                    bytes_out: r.bytes_out,
                    shared_digest,
                    last_error: r.last_error.clone(),
                }
            })
            .collect()
    }

    /// Re-applies the admitted devices to the gate when the trust record changed, and closes the
    /// connections of devices no longer admitted (a presented chain that a revocation broke).
    fn refresh_admission(&mut self) {
        let Ok(replica) = self.engine.replica() else {
            return;
        };
        let Some(admitted) = self.admissions.admitted(replica.trust()) else {
            return;
        };
        self.follow_rotations();
        self.dial_lan_members();
        for peer in self.swarm.behaviour_mut().members.admit(admitted) {
            tracing::warn!(peer = %peer_label(&peer), "disconnecting a device whose membership no longer stands");
            let _ = self.swarm.disconnect_peer_id(peer);
            self.sync.forget(&mut self.swarm, &mut self.engine, &peer);
        }
    }

    /// Dials peers that rotated their key (`rotate-key`) at their new peer id, as the trust record
    /// names it, and keeps the config's addresses following them.
    fn follow_rotations(&mut self) {
        let Ok(replica) = self.engine.replica() else {
            return;
        };
        let trust = replica.trust();
        let successor = |peer: &libp2p::PeerId| {
            let device = crate::network::peer::device_of(peer)?;
            let next = trust.successor_of_device(&device)?;
            crate::network::peer::peer_of_device(&next)
        };
        let moved = self.book.follow_rotations(&successor, Instant::now());
        if moved.is_empty() {
            return;
        }
        for (old, new) in &moved {
            tracing::info!(
                "a peer rotated its key: dialling {new} instead of {old} (对端已更换密钥)"
            );
        }
        let peers = &mut self.engine.config.network.peers;
        for (old, new) in moved {
            for a in peers.iter_mut().filter(|a| **a == old) {
                a.clone_from(&new);
            }
        }
        if let Err(e) = self.engine.config.save(self.engine.dir.root()) {
            tracing::warn!("cannot save the rotated peer addresses in config.toml: {e}");
        }
    }

    /// Dials a member found on the local network.
    fn dial_lan(&mut self, peer: libp2p::PeerId, addr: Multiaddr) {
        let addr = addr.with(Protocol::P2p(peer));
        if self.book.add(addr.clone(), Instant::now()) {
            tracing::info!("found a member on the local network: {addr} (局域网发现)");
        }
    }

    /// Dials the nodes found on the local network that the trust record now names.
    fn dial_lan_members(&mut self) {
        let Ok(replica) = self.engine.replica() else {
            return;
        };
        let known: Vec<libp2p::PeerId> = self
            .lan
            .keys()
            .filter(|p| {
                crate::network::peer::device_of(p).is_some_and(|d| replica.trust().is_known(&d))
            })
            .copied()
            .collect();
        for peer in known {
            if let Some(addr) = self.lan.remove(&peer) {
                self.dial_lan(peer, addr);
            }
        }
    }

    /// A connected member of the supervising hall, reached directly: where to reserve a relay slot.
    fn relay_candidate(&self) -> Option<(libp2p::PeerId, Multiaddr)> {
        let parent = self.engine.config.node.parent.as_deref()?;
        let trust = self.engine.replica().ok()?.trust();
        self.sync.peers.iter().find_map(|(peer, r)| {
            let remote = r.remote.as_ref().filter(|a| reach::relay_of(a).is_none())?;
            let device = crate::network::peer::device_of(peer)?;
            let of_parent = trust
                .valid_certs_of(&device)
                .any(|c| c.body.hall.as_str() == parent);
            (r.connected && of_parent && self.swarm.behaviour().members.is_open(peer))
                .then(|| (*peer, remote.clone()))
        })
    }

    /// Reserves a relay slot when this node cannot be dialled and none is held.
    fn maybe_reserve(&mut self) {
        if !self.online {
            return;
        }
        let candidate = self.relay_candidate();
        let relay = candidate.as_ref().map(|(p, _)| *p);
        let Some(addr) = self.reach.due(candidate, Instant::now()) else {
            return;
        };
        match (self.swarm.listen_on(addr.clone()), relay) {
            (Ok(listener), Some(relay)) => self.reach.reserving(listener, relay),
            (Err(e), _) => tracing::warn!("cannot reserve a relay slot at {addr}: {e}"),
            (Ok(_), None) => {}
        }
    }

    /// Something new is held here (from `from`, if a peer sent it): the sessions push it.
    fn news(&mut self, from: Option<libp2p::PeerId>) {
        if self.online {
            self.sync.news(&mut self.swarm, &mut self.engine, from);
        }
    }

    /// Renders the metrics for the endpoint to serve, when it is on.
    fn publish_metrics(&mut self) {
        if self.metrics.is_none() {
            return;
        }
        let peers = self.peer_statuses();
        let Ok(replica) = self.engine.replica() else {
            return;
        };
        let Some((tx, waiting_since)) = self.metrics.as_mut() else {
            return;
        };
        let oldest = waiting_since.update(replica.quarantine().keys(), Instant::now());
        let refusals = replica.refusals();
        let snapshot = metrics::Snapshot {
            peers: &peers,
            applied_from_peers: self.engine.applied_from_peers,
            authored: self.engine.authored,
            waiting: replica.quarantine().len(),
            waiting_bytes: replica.quarantine_bytes(),
            refused: refusals
                .counts
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
            evicted: replica.quarantine_evicted(),
            records: replica.record_count(),
            equivocations: replica.equivocations().count(),
            store_bytes: std::fs::metadata(self.engine.dir.store_file()).map_or(0, |m| m.len()),
            oldest_waiting_seconds: oldest,
            admission_refusals: self.admissions.refused,
            online: self.online,
        };
        tx.send_replace(metrics::render(&snapshot, crate::engine::now_ms()));
    }

    fn on_tick(&mut self) {
        self.publish_metrics();
        if let Err(e) = crate::engine::check_clock() {
            // The control API cannot answer with such a clock: stop rather than hold the store
            // unreachable.
            tracing::error!("{e}; stopping the node");
            self.stop = true;
            self.fatal = Some(e);
            return;
        }
        match self.engine.announce_seal_key() {
            Ok(true) => tracing::info!("announced this device's sealing key"),
            Ok(false) => {}
            Err(e) => tracing::debug!("cannot announce this device's sealing key yet: {e}"),
        }
        match self.engine.erase_due_cases() {
            Ok(erased) if !erased.is_empty() => {
                self.sync.news(&mut self.swarm, &mut self.engine, None)
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("the retention scan of cases failed: {e}"),
        }
        if !self.online {
            return;
        }
        let now = Instant::now();
        self.admissions.on_tick(&mut self.swarm, now);
        self.maybe_reserve();
        let swarm = &self.swarm;
        let due = self.book.due(now, &|p| swarm.is_connected(p));
        for addr in due {
            if let Err(e) = self.swarm.dial(addr.clone()) {
                tracing::debug!("dial {addr}: {e}");
            }
        }
        self.sync.tick(&mut self.swarm, &mut self.engine);
    }

    fn on_command(&mut self, command: Command) -> Result<Value, NodeError> {
        match command {
            Command::Net { online } => {
                self.online = online;
                if !online {
                    let peers: Vec<_> = self.swarm.connected_peers().copied().collect();
                    for peer in peers {
                        let _ = self.swarm.disconnect_peer_id(peer);
                        self.sync.forget(&mut self.swarm, &mut self.engine, &peer);
                    }
                } else {
                    self.on_tick();
                }
                tracing::info!(online, "network switched");
                Ok(json!({ "online": online }))
            }
            Command::Shutdown => {
                self.stop = true;
                Ok(json!({ "stopping": true }))
            }
            Command::PeerAdd { addr } => {
                let answer = self.engine.peer_add(&addr)?;
                let parsed = crate::engine::peers::checked_peer_addr(&addr)?;
                self.book.add_configured(parsed, Instant::now());
                if self.online {
                    self.on_tick();
                }
                Ok(answer)
            }
            Command::PeerRemove { target } => {
                let answer = self.engine.peer_remove(&target)?;
                let gone = self.book.remove(&target);
                for peer in gone {
                    let _ = self.swarm.disconnect_peer_id(peer);
                    self.sync.forget(&mut self.swarm, &mut self.engine, &peer);
                }
                Ok(answer)
            }
            other => {
                let changes = !matches!(
                    other,
                    Command::Status
                        | Command::CalendarShow { .. }
                        | Command::CalendarDue { .. }
                        | Command::Items { .. }
                        | Command::Pending { .. }
                        | Command::Quarantine { .. }
                        | Command::BundleExport
                        | Command::Records { .. }
                        | Command::StaffList { .. }
                        | Command::DepartmentList { .. }
                        | Command::Cases { .. }
                        | Command::StoreCheck
                        | Command::Backup { .. }
                );
                let net = self.net_view();
                let result = self.engine.execute(other, &net)?;
                if changes {
                    self.news(None);
                }
                Ok(result)
            }
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr {
                address,
                listener_id,
            } if reach::relay_of(&address).is_some() => {
                // A relay slot: peers reach this node through it; it is not saved for reuse. The
                // relay client's address names this node at its end already.
                let full = with_own_id(&address, *self.swarm.local_peer_id());
                self.reach.listening(listener_id, &full);
                self.listen_addrs.push(full.to_string());
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = with_own_id(&address, *self.swarm.local_peer_id());
                self.listen_addrs.retain(|a| *a != full.to_string());
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                let why = match reason {
                    Ok(()) => "closed".to_string(),
                    Err(e) => e.to_string(),
                };
                self.reach.closed(listener_id, &why);
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                self.reach.closed(listener_id, &error.to_string());
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                let bare: Vec<String> = vec![address.to_string()];
                let full = address.with(Protocol::P2p(*self.swarm.local_peer_id()));
                tracing::info!("listening on {full}");
                self.listen_addrs.push(full.to_string());
                let mut saved: Vec<String> = self
                    .engine
                    .store
                    .get_meta(META_LISTEN)
                    .ok()
                    .flatten()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or_default();
                saved.retain(|a| !bare.contains(a));
                saved.extend(bare);
                saved.truncate(16);
                let bytes = serde_json::to_vec(&saved).unwrap_or_default();
                if let Err(e) = self.engine.store.put_meta(META_LISTEN, &bytes) {
                    tracing::warn!("cannot save the listen address: {e}");
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                if !self.online {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                tracing::info!(peer = %peer_label(&peer_id), "connected");
                self.book.connected(&peer_id, Instant::now());
                self.sync
                    .peers
                    .connected(peer_id, endpoint.get_remote_address().clone());
                let hello = match self.engine.replica() {
                    Ok(replica) if endpoint.is_dialer() => {
                        Some(hallsync_model::trust::membership::presentation(
                            replica.trust(),
                            &self.engine.key().device_id(),
                        ))
                    }
                    _ => None,
                };
                self.admissions.on_connected(
                    &mut self.swarm,
                    peer_id,
                    connection_id,
                    hello,
                    Instant::now(),
                );
                let presented = crate::network::peer::device_of(&peer_id)
                    .is_some_and(|d| self.admissions.is_presented(&d));
                self.sync
                    .connected(&mut self.swarm, &mut self.engine, peer_id, presented);
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error: libp2p::swarm::DialError::WrongPeerId { obtained, address },
                ..
            } => {
                // The address answers under another key: the peer may have rotated its key while
                // this node could not hear of it. Dial it as the key it presents; admission then
                // checks that one's certificate chain (its successor certificate comes with it),
                // and an address that does not prove membership is forgotten like any learned one.
                self.sync.peers.dial_failed(
                    peer,
                    &format!(
                        "the address answers as another device ({}); trying that one",
                        peer_label(&obtained)
                    ),
                    Instant::now(),
                );
                self.book.failed(&peer);
                let retry = address
                    .iter()
                    .filter(|p| !matches!(p, Protocol::P2p(_)))
                    .chain(std::iter::once(Protocol::P2p(obtained)))
                    .collect::<Multiaddr>();
                self.book.add(retry, Instant::now());
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } => {
                self.sync
                    .peers
                    .dial_failed(peer, &error.to_string(), Instant::now());
                self.book.failed(&peer);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.admissions.on_closed(&connection_id);
                if num_established == 0 {
                    tracing::info!(peer = %peer_label(&peer_id), "disconnected");
                    self.sync.peers.disconnected(&peer_id);
                    self.sync
                        .forget(&mut self.swarm, &mut self.engine, &peer_id);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Admission(event)) => {
                let Ok(replica) = self.engine.replica() else {
                    return;
                };
                let own = self.engine.key().device_id();
                let outcome = self
                    .admissions
                    .handle(&mut self.swarm, replica.trust(), &own, event);
                if !outcome.learned.is_empty() {
                    if let Err(e) = self.engine.learn_certificates(outcome.learned) {
                        tracing::warn!("cannot keep the certificates a peer presented: {e}");
                    }
                }
                if outcome.changed {
                    self.refresh_admission();
                }
                if let Some(peer) = outcome.redial {
                    self.book.connected(&peer, Instant::now());
                }
                if let Some(peer) = outcome.refused_by {
                    self.book.forget(&peer);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::Sync(event))) => {
                let from = match &event {
                    libp2p::request_response::Event::Message { peer, .. }
                    | libp2p::request_response::Event::OutboundFailure { peer, .. }
                    | libp2p::request_response::Event::InboundFailure { peer, .. }
                    | libp2p::request_response::Event::ResponseSent { peer, .. } => *peer,
                };
                let outcome = self.sync.handle(&mut self.swarm, &mut self.engine, event);
                if outcome.applied {
                    self.refresh_admission();
                    self.news(Some(from));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::Identify(
                libp2p::identify::Event::Received { peer_id, info, .. },
            ))) => {
                let now = Instant::now();
                // A peer's loopback addresses are this host's own unless it is reached on
                // loopback (nodes on one machine).
                let on_loopback = self
                    .sync
                    .peers
                    .iter()
                    .find(|(p, _)| **p == peer_id)
                    .and_then(|(_, r)| r.remote.as_ref())
                    .is_some_and(is_loopback);
                for addr in info
                    .listen_addrs
                    .into_iter()
                    .filter(|a| on_loopback || !is_loopback(a))
                {
                    // A relayed address already ends with the peer's id.
                    let addr = if peer_book::peer_of_last(&addr) == Some(peer_id) {
                        addr
                    } else {
                        addr.with(Protocol::P2p(peer_id))
                    };
                    if self.book.add(addr.clone(), now) {
                        tracing::debug!("learned peer address {addr}");
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::Autonat(
                libp2p::autonat::Event::StatusChanged { new, .. },
            ))) => {
                use libp2p::autonat::NatStatus;
                tracing::debug!("AutoNAT: {new:?}");
                self.reach.nat_status(match new {
                    NatStatus::Public(_) => Some(true),
                    NatStatus::Private => Some(false),
                    NatStatus::Unknown => None,
                });
                self.maybe_reserve();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::Dcutr(event))) => {
                match event.result {
                    Ok(_) => tracing::info!(
                        peer = %peer_label(&event.remote_peer_id),
                        "hole punched: a direct connection replaces the relayed one (打洞成功)"
                    ),
                    Err(e) => {
                        tracing::info!(
                            peer = %peer_label(&event.remote_peer_id),
                            "hole punching failed; staying on the relay (打洞失败，继续中继): {e}"
                        );
                        self.sync
                            .peers
                            .error(event.remote_peer_id, format!("hole punching failed: {e}"));
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::RelayClient(event))) => {
                tracing::debug!("relay client: {event:?}");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Members(MembersEvent::Relay(event))) => {
                tracing::debug!("relay: {event:?}");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(libp2p::mdns::Event::Discovered(found))) => {
                // Only members are dialled: a stranger on the LAN learns nothing from this node.
                let me = *self.swarm.local_peer_id();
                for (peer, addr) in found {
                    if peer == me {
                        continue;
                    }
                    let member = crate::network::peer::device_of(&peer).is_some_and(|d| {
                        self.engine.replica().is_ok_and(|r| r.trust().is_known(&d))
                    });
                    if member {
                        self.dial_lan(peer, addr);
                    } else if self.lan.len() < LAN_PENDING_MAX {
                        // Perhaps a member whose certificate has not arrived yet.
                        self.lan.insert(peer, addr);
                    }
                }
            }
            _ => {}
        }
    }
}
