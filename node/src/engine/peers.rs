//! `peer add` and `peer remove`: the addresses a node dials, kept in its config so they outlive a
//! restart. A running node also changes what it dials at once (the event loop does that part).

use serde_json::{json, Value};

use super::Engine;
use crate::error::NodeError;

/// Most addresses `network.peers` may hold: each is dialled for ever, so the list stays short.
pub const CONFIGURED_PEERS_MAX: usize = 64;

/// The peer id at the end of `addr` (`/p2p/12D3KooW…`), checked.
///
/// # Errors
/// [`NodeError::NotAllowed`] for an address that does not parse or names no peer.
pub fn checked_peer_addr(addr: &str) -> Result<libp2p::Multiaddr, NodeError> {
    let parsed: libp2p::Multiaddr = addr.trim().parse().map_err(|e| {
        NodeError::NotAllowed(format!(
            "`{addr}` is not an address ({e}): give it as the other node's `status` prints it, /ip4/…/tcp/…/p2p/12D3KooW…"
        ))
    })?;
    if crate::run::peer_of(&parsed).is_none() {
        return Err(NodeError::NotAllowed(format!(
            "`{addr}` names no peer: add the /p2p/12D3KooW… part the other node's `status` prints"
        )));
    }
    Ok(parsed)
}

impl Engine {
    /// Adds `addr` to `network.peers` and saves the config.
    ///
    /// # Errors
    /// A bad address, a full list, or the config cannot be written.
    pub fn peer_add(&mut self, addr: &str) -> Result<Value, NodeError> {
        let parsed = checked_peer_addr(addr)?.to_string();
        let peers = &mut self.config.network.peers;
        let added = !peers.contains(&parsed);
        if added {
            if peers.len() >= CONFIGURED_PEERS_MAX {
                return Err(NodeError::NotAllowed(format!(
                    "network.peers holds {CONFIGURED_PEERS_MAX} addresses already; remove one first (`hallsync peer remove`)"
                )));
            }
            peers.push(parsed.clone());
            self.config.save(self.dir.root())?;
        }
        Ok(json!({ "addr": parsed, "added": added }))
    }

    /// Removes `target` (an address, or every address of a peer id) from `network.peers` and
    /// saves the config.
    ///
    /// # Errors
    /// Nothing matched, or the config cannot be written.
    pub fn peer_remove(&mut self, target: &str) -> Result<Value, NodeError> {
        let target = target.trim();
        let peers = &mut self.config.network.peers;
        let before = peers.len();
        peers.retain(|a| a != target && !a.ends_with(&format!("/p2p/{target}")));
        let removed = before - peers.len();
        if removed == 0 {
            return Err(NodeError::NotFound(format!(
                "no address in network.peers is or ends with `{target}`; `hallsync peer list` shows them"
            )));
        }
        self.config.save(self.dir.root())?;
        Ok(json!({ "removed": removed }))
    }
}
