//! The membership gate: the protocols that carry the network's data run only on connections to
//! admitted devices.
//!
//! libp2p picks a connection's handler when the connection is established. The gate gives a
//! connection to an admitted device the wrapped behaviour's handler (sync, identify, ping) and any
//! other connection a handler that speaks nothing, so a stranger's attempt to open a sync stream is
//! refused by protocol negotiation before a byte of it is read or a buffer is allocated. Strangers
//! reach only the admission protocol, outside the gate. Connections are counted: at most
//! `strangers_max` un-admitted connections are open at once, and the next is denied.
//!
//! The wrapped behaviour sees only the connections it has handlers on: the swarm's connection
//! events are filtered and their counts rewritten, and a notification for "any connection" of a peer
//! goes to one of its admitted connections.

use std::collections::{BTreeMap, BTreeSet};
use std::task::{Context, Poll};

use either::Either;
use hallsync_model::DeviceId;
use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::behaviour::{AddressChange, ConnectionClosed, ConnectionEstablished};
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, NotifyHandler, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

use crate::network::peer::device_of;

/// Wraps `B` so that it runs only on connections to admitted devices.
pub struct Gate<B> {
    inner: B,
    admitted: BTreeSet<DeviceId>,
    /// Connections with the inner handler, by peer.
    open: BTreeMap<PeerId, BTreeSet<ConnectionId>>,
    /// Connections with the empty handler (strangers, or members not yet known here).
    shut: BTreeMap<ConnectionId, PeerId>,
    strangers_max: usize,
}

impl<B> Gate<B> {
    /// A gate admitting nobody yet, allowing `strangers_max` un-admitted connections at once.
    pub fn new(inner: B, strangers_max: usize) -> Self {
        Gate {
            inner,
            admitted: BTreeSet::new(),
            open: BTreeMap::new(),
            shut: BTreeMap::new(),
            strangers_max,
        }
    }

    /// The wrapped behaviour.
    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    /// Replaces the admitted devices; returns the peers with open connections that are no longer
    /// admitted (revoked), for the caller to disconnect.
    pub fn admit(&mut self, admitted: BTreeSet<DeviceId>) -> Vec<PeerId> {
        self.admitted = admitted;
        self.open
            .keys()
            .filter(|p| !self.is_admitted(p))
            .copied()
            .collect()
    }

    /// True when `peer` is an admitted device.
    pub fn is_admitted(&self, peer: &PeerId) -> bool {
        device_of(peer).is_some_and(|d| self.admitted.contains(&d))
    }

    /// True when some connection to `peer` carries the gated protocols.
    pub fn is_open(&self, peer: &PeerId) -> bool {
        self.open.contains_key(peer)
    }

    /// True when `connection` was given the empty handler.
    pub fn is_shut(&self, connection: &ConnectionId) -> bool {
        self.shut.contains_key(connection)
    }

    /// Decides a new connection: the inner handler for an admitted peer, the empty one for a
    /// stranger while there is room, a denial beyond that.
    fn decide(
        &mut self,
        connection: ConnectionId,
        peer: PeerId,
        make: impl FnOnce(&mut B) -> Result<THandler<B>, ConnectionDenied>,
    ) -> Result<Either<THandler<B>, dummy::ConnectionHandler>, ConnectionDenied>
    where
        B: NetworkBehaviour,
    {
        if self.is_admitted(&peer) {
            let handler = make(&mut self.inner)?;
            self.open.entry(peer).or_default().insert(connection);
            return Ok(Either::Left(handler));
        }
        if self.shut.len() >= self.strangers_max {
            return Err(ConnectionDenied::new(TooManyStrangers(self.strangers_max)));
        }
        self.shut.insert(connection, peer);
        Ok(Either::Right(dummy::ConnectionHandler))
    }
}

/// Why a connection was denied: the un-admitted connections are at their bound.
#[derive(Debug, thiserror::Error)]
#[error("{0} connections from devices not admitted yet are open (network.strangers_max)")]
pub struct TooManyStrangers(usize);

impl<B: NetworkBehaviour> NetworkBehaviour for Gate<B> {
    type ConnectionHandler = Either<THandler<B>, dummy::ConnectionHandler>;
    type ToSwarm = B::ToSwarm;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.decide(connection_id, peer, |inner| {
            inner.handle_established_inbound_connection(
                connection_id,
                peer,
                local_addr,
                remote_addr,
            )
        })
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(
            connection_id,
            maybe_peer,
            addresses,
            effective_role,
        )
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.decide(connection_id, peer, |inner| {
            inner.handle_established_outbound_connection(
                connection_id,
                peer,
                addr,
                role_override,
                port_use,
            )
        })
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                if self.shut.contains_key(&e.connection_id) {
                    return;
                }
                let others = self
                    .open
                    .get(&e.peer_id)
                    .map_or(0, |c| c.len().saturating_sub(1));
                self.inner.on_swarm_event(FromSwarm::ConnectionEstablished(
                    ConnectionEstablished {
                        other_established: others,
                        ..e
                    },
                ));
            }
            FromSwarm::ConnectionClosed(e) => {
                if self.shut.remove(&e.connection_id).is_some() {
                    return;
                }
                let remaining = match self.open.get_mut(&e.peer_id) {
                    Some(set) => {
                        set.remove(&e.connection_id);
                        set.len()
                    }
                    None => 0,
                };
                if remaining == 0 {
                    self.open.remove(&e.peer_id);
                }
                self.inner
                    .on_swarm_event(FromSwarm::ConnectionClosed(ConnectionClosed {
                        remaining_established: remaining,
                        ..e
                    }));
            }
            FromSwarm::AddressChange(AddressChange { connection_id, .. })
                if self.shut.contains_key(&connection_id) => {}
            other => self.inner.on_swarm_event(other),
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            Either::Left(event) => {
                self.inner
                    .on_connection_handler_event(peer_id, connection_id, event);
            }
            Either::Right(never) => match never {},
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        loop {
            let event = match self.inner.poll(cx) {
                Poll::Ready(event) => event,
                Poll::Pending => return Poll::Pending,
            };
            let event = match event {
                // "Any connection" could be a shut one, whose handler cannot take the event.
                ToSwarm::NotifyHandler {
                    peer_id,
                    handler: NotifyHandler::Any,
                    event,
                } => {
                    let Some(connection) = self
                        .open
                        .get(&peer_id)
                        .and_then(|set| set.iter().next().copied())
                    else {
                        // No admitted connection: the event has nowhere to go (the inner behaviour
                        // learns of the closed connection from the swarm).
                        continue;
                    };
                    ToSwarm::NotifyHandler {
                        peer_id,
                        handler: NotifyHandler::One(connection),
                        event,
                    }
                }
                other => other,
            };
            return Poll::Ready(event.map_in(Either::Left));
        }
    }
}
