//! Runs the core's sync sessions ([`hallsync_model::sync::session`]) over the swarm: one session
//! per connected peer; this file only translates libp2p events into session events and session
//! outputs into requests, responses and stored peer state. The rounds themselves — admission,
//! timeouts, chaining, pushes, retries — are the session's, the same the simulator runs.

use std::collections::BTreeMap;
use std::time::Instant;

use hallsync_model::replica::parts::CarriedPart;
use hallsync_model::sync::session::{Event, Host, Output, Session, SessionConfig};
use hallsync_model::{Replica, SignedChange};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::{PeerId, Swarm};

use crate::engine::Engine;
use crate::network::behaviour::Behaviour;
use crate::network::budget::Frame;
use crate::run::peer_status::PeerTable;

/// The device behind a peer; a peer without an ed25519 identity maps to a key no certificate names,
/// so its session refuses it.
fn device(peer: &PeerId) -> hallsync_model::DeviceId {
    crate::network::peer::device_of(peer).unwrap_or(hallsync_model::DeviceId([0; 32]))
}

/// The engine as a session's host: what a peer sends is stored behind (see
/// [`Engine::ingest_from_peer`]).
struct EngineHost<'a> {
    engine: &'a mut Engine,
}

impl Host for EngineHost<'_> {
    fn replica(&self) -> &Replica {
        // A running node is joined (checked at start; a failed import reloads it at once), so the
        // replica is there; `with_host` checks before it builds a host.
        self.engine
            .replica
            .as_ref()
            .unwrap_or_else(|| unreachable!("a running node holds a replica"))
    }

    fn ingest(&mut self, changes: Vec<SignedChange>, parts: Vec<CarriedPart>) -> bool {
        match self.engine.ingest_from_peer(changes, parts) {
            Ok(report) => !report.applied.is_empty(),
            Err(e) => {
                tracing::error!("storing received changes failed: {e}");
                false
            }
        }
    }
}

/// Sessions with the connected peers.
pub struct SyncDriver {
    /// What is known of each peer, for operators.
    pub peers: PeerTable,
    sessions: BTreeMap<PeerId, Session>,
    outbound: BTreeMap<OutboundRequestId, PeerId>,
    config: SessionConfig,
    started: Instant,
}

/// What a handled event means for the loop.
#[derive(Default)]
pub struct Outcome {
    /// Something new was applied: tell the other peers.
    pub applied: bool,
}

impl SyncDriver {
    /// No sessions yet; rounds paced by `config`.
    pub fn new(config: SessionConfig) -> Self {
        SyncDriver {
            peers: PeerTable::default(),
            sessions: BTreeMap::new(),
            outbound: BTreeMap::new(),
            config,
            started: Instant::now(),
        }
    }

    /// Milliseconds since the driver started: the sessions' clock.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs `event` on `peer`'s session (made if missing) and carries out what it asks.
    fn drive(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        peer: PeerId,
        event: Event<'_>,
        channel: Option<ResponseChannel<Frame>>,
    ) -> Outcome {
        if engine.replica.is_none() {
            return Outcome::default();
        }
        let now = self.now_ms();
        let config = self.config;
        let session = self.sessions.entry(peer).or_insert_with(|| {
            Session::new(device(&peer), engine.peer_state(&device(&peer)), config)
        });
        let handled = session.handle(&mut EngineHost { engine }, now, event);
        let mut channel = channel;
        while let Some(output) = session.poll_output() {
            match output {
                Output::Send(bytes) => {
                    self.peers.sent(peer, bytes.len());
                    let id = swarm
                        .behaviour_mut()
                        .sync()
                        .send_request(&peer, Frame::outgoing(bytes));
                    self.outbound.insert(id, peer);
                }
                Output::Respond(bytes) => {
                    let Some(channel) = channel.take() else {
                        continue;
                    };
                    self.peers.sent(peer, bytes.len());
                    if swarm
                        .behaviour_mut()
                        .sync()
                        .send_response(channel, Frame::outgoing(bytes))
                        .is_err()
                    {
                        tracing::debug!(peer = %peer, "peer left before the sync response");
                    }
                }
                Output::SaveState => {
                    if let Err(e) = engine.save_peer_state(&device(&peer), session.peer_state()) {
                        tracing::warn!(peer = %peer, "could not store the peer's sync state: {e}");
                    }
                }
            }
        }
        self.peers.session(peer, session.stats());
        if handled.refused {
            tracing::warn!(peer = %peer, "refused a sync step from the peer, or the peer refused ours");
            self.peers.error(
                peer,
                "a sync step was refused (another network, not a member, or malformed)".into(),
            );
        }
        Outcome {
            applied: handled.applied,
        }
    }

    /// A connection to `peer` carries sync now: start its session with a round. `presented` when
    /// it was admitted on a chain it presented.
    pub fn connected(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        peer: PeerId,
        presented: bool,
    ) {
        if !swarm.behaviour().members.is_open(&peer) {
            return;
        }
        if presented {
            let config = self.config;
            self.sessions
                .entry(peer)
                .or_insert_with(|| {
                    Session::new(device(&peer), engine.peer_state(&device(&peer)), config)
                })
                .admit_presented();
        }
        self.drive(swarm, engine, peer, Event::Tick, None);
    }

    /// The sync interval: wakes every session that asked, then runs a round with each idle one.
    pub fn tick(&mut self, swarm: &mut Swarm<Behaviour>, engine: &mut Engine) {
        let now = self.now_ms();
        let peers: Vec<PeerId> = self.sessions.keys().copied().collect();
        for peer in peers {
            if self
                .sessions
                .get(&peer)
                .and_then(Session::wake_at)
                .is_some_and(|t| t <= now)
            {
                self.drive(swarm, engine, peer, Event::Timer, None);
            }
            self.drive(swarm, engine, peer, Event::Tick, None);
        }
    }

    /// Something new is held here (written here, or applied from `from`): push it to the others.
    pub fn news(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        from: Option<PeerId>,
    ) {
        let peers: Vec<PeerId> = self
            .sessions
            .keys()
            .filter(|p| Some(**p) != from)
            .copied()
            .collect();
        for peer in peers {
            self.drive(swarm, engine, peer, Event::News, None);
        }
    }

    /// A peer went away: store what is known of it and end its session.
    pub fn forget(&mut self, swarm: &mut Swarm<Behaviour>, engine: &mut Engine, peer: &PeerId) {
        if self.sessions.contains_key(peer) {
            self.drive(swarm, engine, *peer, Event::Disconnected, None);
        }
        self.sessions.remove(peer);
        self.outbound.retain(|_, p| p != peer);
    }

    /// Handles one event of the sync behaviour.
    pub fn handle(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        event: request_response::Event<Frame, Frame>,
    ) -> Outcome {
        use request_response::{Event as Rr, Message as M};
        match event {
            Rr::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => {
                self.peers.received(peer, request.bytes.len());
                self.drive(
                    swarm,
                    engine,
                    peer,
                    Event::Request(&request.bytes),
                    Some(channel),
                )
            }
            Rr::Message {
                peer,
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if self.outbound.remove(&request_id).is_none() {
                    return Outcome::default();
                }
                self.peers.received(peer, response.bytes.len());
                self.drive(swarm, engine, peer, Event::Response(&response.bytes), None)
            }
            Rr::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(peer = %peer, "sync request failed: {error}");
                self.peers
                    .error(peer, format!("sync request failed: {error}"));
                if self.outbound.remove(&request_id).is_none() {
                    return Outcome::default();
                }
                self.drive(swarm, engine, peer, Event::RequestFailed, None)
            }
            Rr::InboundFailure { peer, error, .. } => {
                tracing::debug!(peer = %peer, "inbound sync failed: {error}");
                Outcome::default()
            }
            Rr::ResponseSent { .. } => Outcome::default(),
        }
    }
}
