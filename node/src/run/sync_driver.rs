//! Runs sync rounds over the swarm: moves the sans-IO protocol's steps and feeds what arrives to
//! the engine. One round at a time per peer; the peer's sync state is kept in memory while it is
//! connected and stored when a round ends or the peer leaves.

use std::collections::BTreeMap;

use hallsync_model::sync::protocol::STEPS_MAX;
use hallsync_model::{Message, PeerState, Step};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::{PeerId, Swarm};

use crate::engine::Engine;
use crate::network::behaviour::Behaviour;
use crate::network::budget::Frame;

/// The device behind a peer; a peer without an ed25519 identity maps to a key no certificate names,
/// so it is offered no scoped record.
fn device(peer: &PeerId) -> hallsync_model::DeviceId {
    crate::network::peer::device_of(peer).unwrap_or(hallsync_model::DeviceId([0; 32]))
}

/// A round this node opened.
struct Round {
    /// Steps sent so far.
    steps: usize,
    /// Some step said a bound cut it short: run another round after this one.
    more: bool,
    /// New changes arrived meanwhile: run another round after this one.
    again: bool,
}

/// Sync rounds in flight.
#[derive(Default)]
pub struct SyncDriver {
    outbound: BTreeMap<OutboundRequestId, PeerId>,
    rounds: BTreeMap<PeerId, Round>,
    states: BTreeMap<PeerId, PeerState>,
}

/// What a handled event means for the loop.
#[derive(Default)]
pub struct Outcome {
    /// Something new was applied: tell the other peers.
    pub applied: bool,
}

impl SyncDriver {
    fn state(&mut self, engine: &Engine, peer: PeerId) -> &mut PeerState {
        self.states
            .entry(peer)
            .or_insert_with(|| engine.peer_state(&device(&peer)))
    }

    fn save(&mut self, engine: &mut Engine, peer: &PeerId) {
        if let Some(state) = self.states.get(peer) {
            if let Err(e) = engine.save_peer_state(&device(peer), state) {
                tracing::warn!(peer = %peer, "could not store the peer's sync state: {e}");
            }
        }
    }

    /// Starts a round with `peer` unless one is running.
    pub fn start(&mut self, swarm: &mut Swarm<Behaviour>, engine: &Engine, peer: PeerId) {
        if !swarm.behaviour().members.is_open(&peer) {
            // Not admitted (yet): no connection to it carries sync.
            return;
        }
        if let Some(round) = self.rounds.get_mut(&peer) {
            // Ask for another round when this one ends: new changes arrived meanwhile.
            round.again = true;
            return;
        }
        let limits = engine.wire_limits();
        let mut state = std::mem::take(self.state(engine, peer));
        let step = match engine.replica() {
            Ok(replica) => replica.sync_open(&device(&peer), &mut state, &limits),
            Err(_) => return,
        };
        self.states.insert(peer, state);
        self.send(swarm, peer, step);
        self.rounds.insert(
            peer,
            Round {
                steps: 1,
                more: false,
                again: false,
            },
        );
    }

    fn send(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId, step: Step) {
        let id = swarm
            .behaviour_mut()
            .sync()
            .send_request(&peer, Frame::outgoing(Message::Step(step).to_bytes()));
        self.outbound.insert(id, peer);
    }

    fn finish(&mut self, swarm: &mut Swarm<Behaviour>, engine: &mut Engine, peer: PeerId) {
        self.save(engine, &peer);
        if let Some(round) = self.rounds.remove(&peer) {
            if round.again || round.more {
                self.start(swarm, engine, peer);
            }
        }
    }

    /// A peer went away: store what is known of it and forget its rounds.
    pub fn forget(&mut self, engine: &mut Engine, peer: &PeerId) {
        self.save(engine, peer);
        self.states.remove(peer);
        self.rounds.remove(peer);
        self.outbound.retain(|_, p| p != peer);
    }

    /// Handles one event of the sync behaviour.
    pub fn handle(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        event: request_response::Event<Frame, Frame>,
    ) -> Outcome {
        use request_response::{Event, Message as Rr};
        match event {
            Event::Message {
                peer,
                message: Rr::Request {
                    request, channel, ..
                },
                ..
            } => self.answer(swarm, engine, peer, &request.bytes, channel),
            Event::Message {
                peer,
                message:
                    Rr::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if self.outbound.remove(&request_id).is_none() {
                    return Outcome::default();
                }
                self.on_response(swarm, engine, peer, &response.bytes)
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(peer = %peer, "sync request failed: {error}");
                self.outbound.remove(&request_id);
                self.rounds.remove(&peer);
                Outcome::default()
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(peer = %peer, "inbound sync failed: {error}");
                Outcome::default()
            }
            Event::ResponseSent { .. } => Outcome::default(),
        }
    }

    /// Ingests a step's changes and computes the answer to it.
    fn take_step(
        &mut self,
        engine: &mut Engine,
        peer: PeerId,
        step: &Step,
        outcome: &mut Outcome,
    ) -> Message {
        let limits = engine.wire_limits();
        match engine.ingest_from_peer(step.changes.clone()) {
            Ok(report) => outcome.applied |= !report.applied.is_empty(),
            Err(e) => tracing::error!("storing received changes failed: {e}"),
        }
        let mut state = std::mem::take(self.state(engine, peer));
        let answer = match engine.replica() {
            Ok(replica) => replica.sync_answer(step, &device(&peer), &mut state, &limits),
            Err(e) => Message::Refused {
                reason: e.to_string(),
            },
        };
        self.states.insert(peer, state);
        answer
    }

    fn answer(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        peer: PeerId,
        bytes: &[u8],
        channel: ResponseChannel<Frame>,
    ) -> Outcome {
        let limits = engine.wire_limits();
        let mut outcome = Outcome::default();
        let response = match Message::from_bytes(bytes, &limits) {
            Err(e) => {
                tracing::warn!(peer = %peer, "refused a malformed sync step: {e}");
                Message::Refused {
                    reason: e.to_string(),
                }
            }
            Ok(Message::Step(step)) => self.take_step(engine, peer, &step, &mut outcome),
            Ok(Message::Refused { reason }) => {
                tracing::warn!(peer = %peer, "peer refused to sync: {reason}");
                Message::Refused {
                    reason: "a refusal is not a request".into(),
                }
            }
        };
        if swarm
            .behaviour_mut()
            .sync()
            .send_response(channel, Frame::outgoing(response.to_bytes()))
            .is_err()
        {
            tracing::debug!(peer = %peer, "peer left before the sync response");
        }
        outcome
    }

    fn on_response(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        peer: PeerId,
        bytes: &[u8],
    ) -> Outcome {
        let limits = engine.wire_limits();
        let mut outcome = Outcome::default();
        let step = match Message::from_bytes(bytes, &limits) {
            Ok(Message::Step(step)) => step,
            Ok(Message::Refused { reason }) => {
                tracing::warn!(peer = %peer, "peer refused to sync: {reason}");
                self.rounds.remove(&peer);
                return outcome;
            }
            Err(e) => {
                tracing::warn!(peer = %peer, "malformed sync step: {e}");
                self.rounds.remove(&peer);
                return outcome;
            }
        };
        let more = step.more;
        let answer = self.take_step(engine, peer, &step, &mut outcome);
        let Some(round) = self.rounds.get_mut(&peer) else {
            return outcome;
        };
        round.more |= more;
        match answer {
            Message::Step(next) if !next.is_empty() && round.steps < STEPS_MAX => {
                round.steps += 1;
                round.more |= next.more;
                self.send(swarm, peer, next);
            }
            Message::Step(next) => {
                round.more |= next.more;
                self.finish(swarm, engine, peer);
            }
            Message::Refused { reason } => {
                tracing::warn!(peer = %peer, "ended the round: {reason}");
                self.finish(swarm, engine, peer);
            }
        }
        outcome
    }
}
