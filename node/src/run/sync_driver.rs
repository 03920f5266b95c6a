//! Runs sync rounds over the swarm: moves the sans-IO protocol's messages and feeds what arrives to
//! the engine. One round at a time per peer.

use std::collections::BTreeMap;

use hallsync_model::{Request, Response};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::{PeerId, Swarm};

use crate::engine::Engine;
use crate::network::behaviour::Behaviour;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Summarised,
    Bucketed,
    Offered,
    Pushed,
}

/// The device behind a peer; a peer without an ed25519 identity maps to a key no certificate names,
/// so it is offered no scoped record.
fn device(peer: &PeerId) -> hallsync_model::DeviceId {
    crate::network::peer::device_of(peer).unwrap_or(hallsync_model::DeviceId([0; 32]))
}

/// Sync rounds in flight.
#[derive(Default)]
pub struct SyncDriver {
    outbound: BTreeMap<OutboundRequestId, (PeerId, Stage)>,
    busy: BTreeMap<PeerId, bool>,
}

/// What a handled event means for the loop.
#[derive(Default)]
pub struct Outcome {
    /// Something new was applied: tell the other peers.
    pub applied: bool,
}

impl SyncDriver {
    /// Starts a round with `peer` unless one is running.
    pub fn start(&mut self, swarm: &mut Swarm<Behaviour>, engine: &Engine, peer: PeerId) {
        if self.busy.get(&peer).copied().unwrap_or(false) {
            // Ask for another round when this one ends: new changes arrived meanwhile.
            self.busy.insert(peer, true);
            return;
        }
        let Ok(replica) = engine.replica() else {
            return;
        };
        let id = swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, replica.offer_summary(&device(&peer)).to_bytes());
        self.outbound.insert(id, (peer, Stage::Summarised));
        self.busy.insert(peer, false);
    }

    fn finish(&mut self, swarm: &mut Swarm<Behaviour>, engine: &Engine, peer: PeerId, again: bool) {
        let wanted = self.busy.remove(&peer).unwrap_or(false);
        if again || wanted {
            self.start(swarm, engine, peer);
        }
    }

    /// A peer went away: forget its rounds.
    pub fn forget(&mut self, peer: &PeerId) {
        self.busy.remove(peer);
        self.outbound.retain(|_, (p, _)| p != peer);
    }

    /// Handles one event of the sync behaviour.
    pub fn handle(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        event: request_response::Event<Vec<u8>, Vec<u8>>,
    ) -> Outcome {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.answer(swarm, engine, peer, &request, channel),
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some((_, stage)) = self.outbound.remove(&request_id) else {
                    return Outcome::default();
                };
                self.on_response(swarm, engine, peer, stage, &response)
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(peer = %peer, "sync request failed: {error}");
                self.outbound.remove(&request_id);
                self.busy.remove(&peer);
                Outcome::default()
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(peer = %peer, "inbound sync failed: {error}");
                Outcome::default()
            }
            Event::ResponseSent { .. } => Outcome::default(),
        }
    }

    fn answer(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        engine: &mut Engine,
        peer: PeerId,
        bytes: &[u8],
        channel: ResponseChannel<Vec<u8>>,
    ) -> Outcome {
        let limits = engine.wire_limits();
        let mut outcome = Outcome::default();
        let response = match Request::from_bytes(bytes, &limits) {
            Err(e) => {
                tracing::warn!(peer = %peer, "refused a malformed sync request: {e}");
                Response::Refused {
                    reason: e.to_string(),
                }
            }
            Ok(request @ Request::Offer { .. }) => match engine.replica() {
                Ok(replica) => replica.answer_offer(&request, &device(&peer), &limits),
                Err(e) => Response::Refused {
                    reason: e.to_string(),
                },
            },
            Ok(request @ Request::Buckets { .. }) => match engine.replica() {
                Ok(replica) => replica.answer_buckets(&request, &device(&peer)),
                Err(e) => Response::Refused {
                    reason: e.to_string(),
                },
            },
            Ok(Request::Push { changes, heads }) => {
                match engine.ingest(changes) {
                    Ok(report) => outcome.applied = !report.applied.is_empty(),
                    Err(e) => tracing::error!("storing received changes failed: {e}"),
                }
                let request = Request::Push {
                    changes: Vec::new(),
                    heads,
                };
                match engine.replica() {
                    Ok(replica) => replica.answer_push(&request, &device(&peer), &limits),
                    Err(e) => Response::Refused {
                        reason: e.to_string(),
                    },
                }
            }
        };
        if swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response.to_bytes())
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
        stage: Stage,
        bytes: &[u8],
    ) -> Outcome {
        let limits = engine.wire_limits();
        let mut outcome = Outcome::default();
        let response = match Response::from_bytes(bytes, &limits) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(peer = %peer, "malformed sync response: {e}");
                self.finish(swarm, engine, peer, false);
                return outcome;
            }
        };
        match (stage, response) {
            (Stage::Summarised, Response::InSync) => self.finish(swarm, engine, peer, false),
            (Stage::Summarised, Response::NeedList) => {
                let Ok(replica) = engine.replica() else {
                    return outcome;
                };
                let next = replica.after_need_list(&device(&peer));
                let stage = if matches!(next, Request::Buckets { .. }) {
                    Stage::Bucketed
                } else {
                    Stage::Offered
                };
                let id = swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer, next.to_bytes());
                self.outbound.insert(id, (peer, stage));
            }
            (Stage::Bucketed, Response::DifferingBuckets { buckets }) => {
                let Ok(replica) = engine.replica() else {
                    return outcome;
                };
                let offer = replica.offer_buckets(&device(&peer), &buckets);
                let id = swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer, offer.to_bytes());
                self.outbound.insert(id, (peer, Stage::Offered));
            }
            (
                Stage::Offered,
                Response::OfferReply {
                    want,
                    changes,
                    more,
                },
            ) => {
                match engine.ingest(changes) {
                    Ok(report) => outcome.applied = !report.applied.is_empty(),
                    Err(e) => tracing::error!("storing received changes failed: {e}"),
                }
                let Ok(replica) = engine.replica() else {
                    return outcome;
                };
                let (push, cut) = replica.push_for(&want, &device(&peer), &limits);
                let id = swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer, push.to_bytes());
                self.outbound.insert(id, (peer, Stage::Pushed));
                if more || cut {
                    self.busy.insert(peer, true);
                }
            }
            (Stage::Pushed, Response::PushReply { changes, more }) => {
                match engine.ingest(changes) {
                    Ok(report) => outcome.applied = !report.applied.is_empty(),
                    Err(e) => tracing::error!("storing received changes failed: {e}"),
                }
                self.finish(swarm, engine, peer, more);
            }
            (_, Response::Refused { reason }) => {
                tracing::warn!(peer = %peer, "peer refused to sync: {reason}");
                self.busy.remove(&peer);
            }
            (stage, _) => {
                tracing::warn!(peer = %peer, ?stage, "unexpected sync response");
                self.busy.remove(&peer);
            }
        }
        outcome
    }
}
