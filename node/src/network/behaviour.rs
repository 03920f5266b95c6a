//! The swarm: TCP + Noise + Yamux, with sync request-response, identify and ping.
// The derive below generates `BehaviourEvent`, an enum with one variant per field, without docs.
#![allow(missing_docs)]

use std::time::Duration;

use hallsync_config::Config;
use hallsync_model::DeviceKey;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{identify, noise, ping, tcp, yamux, Swarm, SwarmBuilder};

use crate::error::NodeError;
use crate::network::codec::{SyncCodec, SYNC_PROTOCOL};
use crate::network::peer::keypair;

/// How long one sync request may take before it counts as failed.
pub const SYNC_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The node's libp2p behaviour: it only carries bytes.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Sync messages, as frames.
    pub sync: request_response::Behaviour<SyncCodec>,
    /// Learns peers' listen addresses, so a node can dial back the peers that dialled it.
    pub identify: identify::Behaviour,
    /// Keeps connections alive and measures them.
    pub ping: ping::Behaviour,
}

/// Builds the swarm for `key` with the limits of `config`.
///
/// # Errors
/// [`NodeError::Network`] when a transport cannot be set up.
pub fn build_swarm(key: &DeviceKey, config: &Config) -> Result<Swarm<Behaviour>, NodeError> {
    let keypair = keypair(key)?;
    let codec = SyncCodec {
        message_bytes_max: config.limits.message_bytes_max as usize,
    };
    let idle = Duration::from_millis(config.network.idle_timeout_ms);
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NodeError::Network(e.to_string()))?
        .with_behaviour(|key| Behaviour {
            sync: request_response::Behaviour::with_codec(
                codec,
                [(SYNC_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(SYNC_REQUEST_TIMEOUT),
            ),
            identify: identify::Behaviour::new(identify::Config::new(
                "/hallsync/id/1".into(),
                key.public(),
            )),
            ping: ping::Behaviour::new(ping::Config::new()),
        })
        .map_err(|e| NodeError::Network(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}
