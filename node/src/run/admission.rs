//! Admission: who may sync with this node, decided before anything of the network is said.
//!
//! The gate ([`crate::network::gate`]) gives the sync, identify and ping protocols only to
//! connections with admitted devices: those with an active certificate in this node's trust record,
//! and those that proved membership with a chain of certificates this node checked
//! ([`hallsync_model::trust::membership::admit`]) because their certificate has not reached it yet.
//! Every connection this node dials starts with `Hello`; a listener answers `Welcome` or the one
//! refusal. A connection that was set up before its peer was admitted carries no sync, so it is
//! closed once the admission exchange ends, and the dialler reconnects at once. A connection that
//! has proved nothing within `network.admission_timeout_ms` is closed. When the trust record
//! changes, the admitted set is recomputed. A revoked device stays admitted so it can learn of its
//! revocation: the scope rule ([`hallsync_model::sync::scope::in_scope`]) gives it the trust record
//! and nothing else, and what it writes is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use hallsync_model::sync::admission::Admission;
use hallsync_model::trust::membership::{self, PRESENTED_CERTS_MAX};
use hallsync_model::{Certificate, DeviceId, TrustState};
use libp2p::request_response::{self, Message as Rr};
use libp2p::swarm::ConnectionId;
use libp2p::{PeerId, Swarm};

use crate::network::behaviour::Behaviour;
use crate::network::budget::Frame;
use crate::network::peer::{device_of, peer_label};

/// Most devices admitted on a presented chain at once; each entry is a few certificates.
const PRESENTED_DEVICES_MAX: usize = 1_024;

/// What an admission event means for the loop.
#[derive(Debug, Default)]
pub struct AdmissionOutcome {
    /// A peer was admitted on a connection that carries no sync: redial it now.
    pub redial: Option<PeerId>,
    /// The admitted set changed: the loop re-applies it to the gate.
    pub changed: bool,
    /// A peer this node dialled refused it, or answered with no membership: forget its address.
    pub refused_by: Option<PeerId>,
    /// Certificates a peer presented that admitted it: the loop adds them to the trust state.
    pub learned: Vec<Certificate>,
}

/// Admission state of a running node.
pub struct Admissions {
    /// Devices admitted on a chain they presented, with the chain (re-checked when trust changes).
    presented: BTreeMap<DeviceId, Vec<Certificate>>,
    /// Connections with no sync yet, and when they must have proved membership.
    deadlines: BTreeMap<ConnectionId, (PeerId, Instant)>,
    timeout: Duration,
    /// The trust record's size when the admitted set was last computed: it only grows, and any
    /// change to who stands changes it.
    trust_mark: Option<(usize, usize)>,
    /// Admission refusals given and received, for `status`.
    pub refused: u64,
    /// Certificates of admissions since the last event handled, for the loop to learn.
    learned: Vec<Certificate>,
}

impl Admissions {
    /// No one admitted on a presented chain yet.
    pub fn new(timeout: Duration) -> Self {
        Admissions {
            presented: BTreeMap::new(),
            deadlines: BTreeMap::new(),
            timeout,
            trust_mark: None,
            refused: 0,
            learned: Vec::new(),
        }
    }

    /// The devices to admit now: every device with an active certificate, and those whose presented
    /// chain still stands; `None` when the trust record has not changed since the last call.
    pub fn admitted(&mut self, trust: &TrustState) -> Option<BTreeSet<DeviceId>> {
        let mark = (trust.known().len(), trust.revocations().len());
        if self.trust_mark == Some(mark) {
            return None;
        }
        self.trust_mark = Some(mark);
        Some(self.compute(trust))
    }

    fn compute(&mut self, trust: &TrustState) -> BTreeSet<DeviceId> {
        // Revoked devices stay admitted: the scope rule gives them the trust record that revokes
        // them and nothing else, so they learn of it and stop.
        let mut set: BTreeSet<DeviceId> = trust
            .valid()
            .values()
            .chain(trust.revoked().values().map(|(c, _)| c))
            .map(|c| c.body.holder)
            .collect();
        self.presented.retain(|device, chain| {
            !set.contains(device) && membership::admit(trust, device, chain).is_ok()
        });
        set.extend(self.presented.keys().copied());
        set
    }

    /// True when `device` was admitted on a chain it presented (its certificate has not reached
    /// this node's trust record).
    pub fn is_presented(&self, device: &DeviceId) -> bool {
        self.presented.contains_key(device)
    }

    /// A connection came up: a connection without sync gets a deadline, and the side that
    /// dialled (`dialled`, with its presentation) says hello.
    pub fn on_connected(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        connection: ConnectionId,
        dialled: Option<Vec<Certificate>>,
        now: Instant,
    ) {
        if swarm.behaviour().members.is_shut(&connection) {
            self.deadlines
                .insert(connection, (peer, now + self.timeout));
        }
        if let Some(chain) = dialled {
            let hello = Admission::Hello { chain };
            swarm
                .behaviour_mut()
                .admission
                .send_request(&peer, Frame::outgoing(hello.to_bytes()));
        }
    }

    /// A connection closed.
    pub fn on_closed(&mut self, connection: &ConnectionId) {
        self.deadlines.remove(connection);
    }

    /// Closes connections that proved nothing in time.
    pub fn on_tick(&mut self, swarm: &mut Swarm<Behaviour>, now: Instant) {
        let late: Vec<ConnectionId> = self
            .deadlines
            .iter()
            .filter(|(_, (_, by))| *by <= now)
            .map(|(c, _)| *c)
            .collect();
        for connection in late {
            if let Some((peer, _)) = self.deadlines.remove(&connection) {
                tracing::info!(peer = %peer_label(&peer), "closed a connection that did not prove membership in time");
                swarm.close_connection(connection);
            }
        }
    }

    /// Checks a presented chain and remembers the device when it is admitted on it.
    fn check(&mut self, trust: &TrustState, peer: &PeerId, chain: &[Certificate]) -> bool {
        let Some(device) = device_of(peer) else {
            return false;
        };
        if membership::is_member(trust, &device) {
            return true;
        }
        if chain.len() > PRESENTED_CERTS_MAX || self.presented.len() >= PRESENTED_DEVICES_MAX {
            return false;
        }
        match membership::admit(trust, &device, chain) {
            Ok(()) => {
                self.presented.insert(device, chain.to_vec());
                self.learned.extend(chain.iter().cloned());
                // The admitted set must be recomputed to include it.
                self.trust_mark = None;
                true
            }
            Err(e) => {
                tracing::info!(peer = %peer_label(peer), "refused admission: {e}");
                false
            }
        }
    }

    /// Handles one event of the admission protocol.
    pub fn handle(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        trust: &TrustState,
        own: &DeviceId,
        event: request_response::Event<Frame, Frame>,
    ) -> AdmissionOutcome {
        use request_response::Event;
        let mut outcome = AdmissionOutcome::default();
        match event {
            Event::Message {
                peer,
                message: Rr::Request {
                    request, channel, ..
                },
                ..
            } => {
                let admitted = match Admission::from_bytes(&request.bytes) {
                    Ok(Admission::Hello { chain }) => self.check(trust, &peer, &chain),
                    _ => false,
                };
                drop(request);
                let answer = if admitted {
                    outcome.changed = self.trust_mark.is_none();
                    Admission::Welcome {
                        chain: membership::presentation(trust, own),
                    }
                } else {
                    self.refused += 1;
                    Admission::refused()
                };
                // The connection is closed when the response has gone (ResponseSent) if it carries
                // no sync; a peer that left meanwhile needs nothing.
                let _ = swarm
                    .behaviour_mut()
                    .admission
                    .send_response(channel, Frame::outgoing(answer.to_bytes()));
            }
            Event::Message {
                peer,
                connection_id,
                message: Rr::Response { response, .. },
            } => match Admission::from_bytes(&response.bytes) {
                Ok(Admission::Welcome { chain }) => {
                    if self.check(trust, &peer, &chain) {
                        outcome.changed = self.trust_mark.is_none();
                        self.deadlines.remove(&connection_id);
                        if swarm.behaviour().members.is_shut(&connection_id) {
                            // Admitted now, but this connection was set up without sync.
                            swarm.close_connection(connection_id);
                            outcome.redial = Some(peer);
                        }
                    } else {
                        self.refused += 1;
                        outcome.refused_by = Some(peer);
                        swarm.close_connection(connection_id);
                    }
                }
                Ok(Admission::Refused { reason }) => {
                    tracing::warn!(peer = %peer_label(&peer), "the peer refused this node: {reason}");
                    self.refused += 1;
                    outcome.refused_by = Some(peer);
                    swarm.close_connection(connection_id);
                }
                Ok(Admission::Hello { .. }) | Err(_) => {
                    tracing::info!(peer = %peer_label(&peer), "malformed admission answer");
                    self.refused += 1;
                    outcome.refused_by = Some(peer);
                    swarm.close_connection(connection_id);
                }
            },
            Event::ResponseSent {
                peer,
                connection_id,
                ..
            } => {
                if swarm.behaviour().members.is_shut(&connection_id) {
                    self.deadlines.remove(&connection_id);
                    tracing::debug!(peer = %peer_label(&peer), "closing a connection after admission");
                    swarm.close_connection(connection_id);
                }
            }
            Event::OutboundFailure { peer, error, .. } => {
                tracing::debug!(peer = %peer_label(&peer), "admission request failed: {error}");
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(peer = %peer_label(&peer), "inbound admission failed: {error}");
            }
        }
        outcome.learned = std::mem::take(&mut self.learned);
        outcome
    }
}
