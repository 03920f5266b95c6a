//! What the network layer tells the engine for `status`.

use serde::Serialize;

use crate::engine::response::PeerStatus;

/// The node's network as seen at one moment; all empty when no node runs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NetView {
    /// True when a node process runs this store.
    pub running: bool,
    /// False while taken off the network with `hallsync net offline`.
    pub online: bool,
    /// Connected peers (device ids).
    pub connected_peers: Vec<String>,
    /// Addresses the node listens on.
    pub listen_addrs: Vec<String>,
    /// Connections refused admission since start (strangers, devices that are not members).
    pub admission_refusals: u64,
    /// Every peer this node knows of since it started.
    pub peers: Vec<PeerStatus>,
    /// Where `/metrics` is served, when it is on.
    pub metrics_addr: Option<String>,
    /// Whether other members can dial this node, and through which relay, in words.
    pub reach: Option<String>,
}
