//! The swarm: TCP + Noise + Yamux and QUIC, and relayed connections (circuit relay v2); connection
//! limits; mDNS discovery on the local network; the admission protocol for everyone; and, behind
//! the membership gate, sync request-response, identify, ping, AutoNAT, the relay (client, and
//! server where configured) and DCUtR hole punching — so only admitted devices may probe, reserve a
//! relay slot or punch a hole.
// The derive below generates `BehaviourEvent` and `MembersEvent`, enums with one variant per field,
// without docs.
#![allow(missing_docs)]

use std::time::Duration;

use hallsync_config::Config;
use hallsync_model::sync::admission::ADMISSION_BYTES_MAX;
use hallsync_model::DeviceKey;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    autonat, connection_limits, dcutr, identify, mdns, noise, ping, relay, tcp, yamux, Swarm,
    SwarmBuilder,
};

use crate::error::NodeError;
use crate::network::codec::{FrameCodec, ADMISSION_PROTOCOL, SYNC_PROTOCOL};
use crate::network::gate::Gate;
use crate::network::peer::keypair;

/// How long one sync request may take before it counts as failed.
pub const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The node's libp2p behaviour: it only carries bytes.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Bounds connections in total, pending and per peer, before any handshake work is wasted.
    pub limits: connection_limits::Behaviour,
    /// Membership proofs: the only protocol on a connection to a device not admitted yet.
    pub admission: request_response::Behaviour<FrameCodec>,
    /// Nodes on the local network (`network.mdns`); the loop dials only members.
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    /// Everything else, on admitted connections only.
    pub members: Gate<Members>,
}

/// What admitted devices speak.
#[derive(NetworkBehaviour)]
pub struct Members {
    /// Sync messages, as frames.
    pub sync: request_response::Behaviour<FrameCodec>,
    /// Learns peers' listen addresses, so a node can dial back the peers that dialled it.
    pub identify: identify::Behaviour,
    /// Keeps connections alive and measures them.
    pub ping: ping::Behaviour,
    /// Asks members whether this node can be dialled, and answers their asking.
    pub autonat: autonat::Behaviour,
    /// Reserves a slot at a relay and takes relayed connections.
    pub relay_client: relay::client::Behaviour,
    /// Relays for members behind NAT (`network.relay_serve`).
    pub relay: Toggle<relay::Behaviour>,
    /// Turns relayed connections into direct ones where the NATs allow (hole punching).
    pub dcutr: dcutr::Behaviour,
}

impl Behaviour {
    /// The sync protocol, behind the gate.
    pub fn sync(&mut self) -> &mut request_response::Behaviour<FrameCodec> {
        &mut self.members.inner_mut().sync
    }
}

/// Builds the swarm for `key` with the limits of `config`.
///
/// # Errors
/// [`NodeError::Network`] when a transport cannot be set up.
pub fn build_swarm(key: &DeviceKey, config: &Config) -> Result<Swarm<Behaviour>, NodeError> {
    let keypair = keypair(key)?;
    let net = &config.network;
    let lim = &config.limits;
    // Values were range-checked when the config was read; they fit usize on every platform.
    let sync_codec = FrameCodec::new(
        lim.message_bytes_max as usize,
        lim.inbound_bytes_max as usize,
    );
    // One admission message per stranger connection, at most 64 KiB each.
    let admission_codec = FrameCodec::new(
        ADMISSION_BYTES_MAX,
        ADMISSION_BYTES_MAX * (net.strangers_max as usize + net.connections_max as usize),
    );
    let admission_timeout = Duration::from_millis(net.admission_timeout_ms);
    let idle = Duration::from_millis(net.idle_timeout_ms);
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(net.connections_max))
        .with_max_pending_incoming(Some(net.connections_pending_max))
        .with_max_established_per_peer(Some(net.connections_per_peer_max));
    let strangers_max = net.strangers_max as usize;
    let streams = lim.streams_per_connection_max as usize;
    let relay_config = relay::Config {
        max_reservations: net.relay_reservations_max as usize,
        max_circuits: net.relay_reservations_max as usize,
        max_circuit_duration: Duration::from_secs(net.relay_circuit_seconds_max),
        max_circuit_bytes: net.relay_circuit_bytes_max,
        ..relay::Config::default()
    };
    let relay_serve = net.relay_serve;
    let mdns_on = net.mdns;
    let autonat_config = autonat::Config {
        // Government extranet and hall LAN addresses are private: probe them too.
        only_global_ips: false,
        boot_delay: Duration::from_secs(5),
        retry_interval: Duration::from_secs(30),
        ..autonat::Config::default()
    };
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NodeError::Network(e.to_string()))?
        .with_quic()
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| NodeError::Network(e.to_string()))?
        .with_behaviour(|key, relay_client| Behaviour {
            limits: connection_limits::Behaviour::new(limits),
            mdns: Toggle::from(
                mdns_on
                    .then(|| {
                        mdns::tokio::Behaviour::new(
                            mdns::Config {
                                query_interval: Duration::from_secs(20),
                                ..mdns::Config::default()
                            },
                            key.public().to_peer_id(),
                        )
                    })
                    .and_then(|made| match made {
                        Ok(m) => Some(m),
                        Err(e) => {
                            // A host without multicast still runs; it finds no one locally.
                            tracing::warn!("mDNS is off: {e}");
                            None
                        }
                    }),
            ),
            admission: request_response::Behaviour::with_codec(
                admission_codec,
                [(ADMISSION_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(admission_timeout)
                    .with_max_concurrent_streams(1),
            ),
            members: Gate::new(
                Members {
                    sync: request_response::Behaviour::with_codec(
                        sync_codec,
                        [(SYNC_PROTOCOL, ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(SYNC_REQUEST_TIMEOUT)
                            .with_max_concurrent_streams(streams),
                    ),
                    identify: identify::Behaviour::new(
                        identify::Config::new("/hallsync/id/1".into(), key.public())
                            .with_agent_version(format!("hallsync/{}", env!("CARGO_PKG_VERSION"))),
                    ),
                    ping: ping::Behaviour::new(ping::Config::new()),
                    autonat: autonat::Behaviour::new(key.public().to_peer_id(), autonat_config),
                    relay_client,
                    relay: Toggle::from(
                        relay_serve.then(|| {
                            relay::Behaviour::new(key.public().to_peer_id(), relay_config)
                        }),
                    ),
                    dcutr: dcutr::Behaviour::new(key.public().to_peer_id()),
                },
                strangers_max,
            ),
        })
        .map_err(|e| NodeError::Network(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}
