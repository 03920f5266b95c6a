//! The swarm: TCP + Noise + Yamux; connection limits; the admission protocol for everyone; and,
//! behind the membership gate, sync request-response, identify and ping.
// The derive below generates `BehaviourEvent` and `MembersEvent`, enums with one variant per field,
// without docs.
#![allow(missing_docs)]

use std::time::Duration;

use hallsync_config::Config;
use hallsync_model::sync::admission::ADMISSION_BYTES_MAX;
use hallsync_model::DeviceKey;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{connection_limits, identify, noise, ping, tcp, yamux, Swarm, SwarmBuilder};

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
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NodeError::Network(e.to_string()))?
        .with_behaviour(|key| Behaviour {
            limits: connection_limits::Behaviour::new(limits),
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
                },
                strangers_max,
            ),
        })
        .map_err(|e| NodeError::Network(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}
