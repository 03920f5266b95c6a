//! Being reachable behind NAT: when AutoNAT says this node cannot be dialled (or config says so,
//! `network.reachable = "no"`), it reserves a relay slot at its supervising hall's node, so that
//! other members can reach it through that relay; DCUtR then turns relayed connections into direct
//! ones where the NATs allow.
//!
//! This file holds the decisions (when to reserve, at whom, how often to try); the event loop
//! carries them out.

use std::time::{Duration, Instant};

use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// Least time between two reservation attempts.
pub const RESERVE_RETRY: Duration = Duration::from_secs(30);

/// Where the node stands on being reachable.
pub struct Reach {
    /// Config: `auto`, `yes` or `no`.
    mode: String,
    /// This node cannot be dialled (AutoNAT said so, or config).
    private: bool,
    /// The reservation under way or held: its listener and the relay.
    reservation: Option<(ListenerId, PeerId)>,
    /// The relay slot is confirmed (the circuit address is listened on).
    confirmed: bool,
    last_attempt: Option<Instant>,
}

impl Reach {
    /// As `network.reachable` says. `reachable_by_config` when the node announces an address or
    /// serves as a relay: `auto` then means `yes` (a relay behind NAT would hand out relayed
    /// addresses, and an announced address is there to be dialled).
    pub fn new(mode: &str, reachable_by_config: bool) -> Self {
        let mode = if mode == "auto" && reachable_by_config {
            "yes"
        } else {
            mode
        };
        Reach {
            mode: mode.to_string(),
            private: mode == "no",
            reservation: None,
            confirmed: false,
            last_attempt: None,
        }
    }

    /// AutoNAT's verdict: `Some(true)` public, `Some(false)` private, `None` unknown. Config's
    /// `yes` or `no` wins over it.
    pub fn nat_status(&mut self, public: Option<bool>) {
        if self.mode != "auto" {
            return;
        }
        match public {
            Some(true) => {
                if self.private {
                    tracing::info!("other members can dial this node directly (可直接访问)");
                }
                self.private = false;
            }
            Some(false) => {
                if !self.private {
                    tracing::info!(
                        "other members cannot dial this node (behind NAT): reserving a relay slot at the supervising hall (需要中继)"
                    );
                }
                self.private = true;
            }
            None => {}
        }
    }

    /// The address to listen on for a relay slot, when one is due now: the circuit address through
    /// `relay` (a connected member at `remote`). `None` when none is needed, one is held or under
    /// way, or the last attempt was too recent.
    pub fn due(&mut self, relay: Option<(PeerId, Multiaddr)>, now: Instant) -> Option<Multiaddr> {
        if !self.private || self.reservation.is_some() {
            return None;
        }
        if self
            .last_attempt
            .is_some_and(|t| now.duration_since(t) < RESERVE_RETRY)
        {
            return None;
        }
        let (peer, remote) = relay?;
        self.last_attempt = Some(now);
        let base: Multiaddr = remote
            .iter()
            .filter(|p| !matches!(p, Protocol::P2p(_)))
            .collect();
        Some(base.with(Protocol::P2p(peer)).with(Protocol::P2pCircuit))
    }

    /// The loop started listening on a circuit through `relay` as `listener`.
    pub fn reserving(&mut self, listener: ListenerId, relay: PeerId) {
        self.reservation = Some((listener, relay));
    }

    /// `listener` listens on a circuit address: the slot is held.
    pub fn listening(&mut self, listener: ListenerId, addr: &Multiaddr) {
        if self.reservation.is_some_and(|(l, _)| l == listener) && !self.confirmed {
            self.confirmed = true;
            tracing::info!("reachable through the relay: {addr} (经中继可达)");
        }
    }

    /// `listener` closed: a reservation it held is gone, and another is tried later.
    pub fn closed(&mut self, listener: ListenerId, why: &str) {
        if let Some((l, relay)) = self.reservation {
            if l == listener {
                tracing::warn!(relay = %relay, "relay slot lost or refused: {why}; trying again");
                self.reservation = None;
                self.confirmed = false;
            }
        }
    }

    /// The relay the slot is held at, if held.
    pub fn relay(&self) -> Option<PeerId> {
        self.reservation
            .filter(|_| self.confirmed)
            .map(|(_, relay)| relay)
    }

    /// True while this node counts itself undiallable.
    pub fn is_private(&self) -> bool {
        self.private
    }
}

/// The relay a relayed address goes through (the peer before `/p2p-circuit`), if it is one.
pub fn relay_of(addr: &Multiaddr) -> Option<PeerId> {
    let mut last = None;
    for p in addr.iter() {
        match p {
            Protocol::P2p(peer) => last = Some(peer),
            Protocol::P2pCircuit => return last,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(seed: u8) -> PeerId {
        let key = hallsync_model::DeviceKey::from_seed([seed; 32]);
        crate::network::peer::keypair(&key)
            .unwrap()
            .public()
            .to_peer_id()
    }

    #[test]
    fn a_private_node_reserves_once_at_a_time_and_retries_after_a_loss() {
        let mut r = Reach::new("auto", false);
        let now = Instant::now();
        let relay = (peer(1), "/ip4/10.0.0.1/tcp/4001".parse().unwrap());
        assert!(
            r.due(Some(relay.clone()), now).is_none(),
            "public until told"
        );
        r.nat_status(Some(false));
        let addr = r.due(Some(relay.clone()), now).unwrap();
        assert_eq!(relay_of(&addr), Some(peer(1)));
        assert!(addr.to_string().ends_with("/p2p-circuit"));
        let listener = ListenerId::next();
        r.reserving(listener, peer(1));
        assert!(r.due(Some(relay.clone()), now + RESERVE_RETRY).is_none());
        r.listening(listener, &addr);
        assert_eq!(r.relay(), Some(peer(1)));
        r.closed(listener, "relay restarted");
        assert!(r
            .due(Some(relay.clone()), now + Duration::from_secs(1))
            .is_none());
        assert!(r.due(Some(relay), now + RESERVE_RETRY).is_some());
    }

    #[test]
    fn config_no_reserves_without_asking_and_yes_never() {
        let now = Instant::now();
        let relay = (peer(1), "/ip4/10.0.0.1/tcp/4001".parse().unwrap());
        let mut no = Reach::new("no", true);
        no.nat_status(Some(true));
        assert!(no.due(Some(relay.clone()), now).is_some());
        let mut yes = Reach::new("yes", false);
        yes.nat_status(Some(false));
        assert!(yes.due(Some(relay.clone()), now).is_none());
        let mut relay_node = Reach::new("auto", true);
        relay_node.nat_status(Some(false));
        assert!(
            relay_node.due(Some(relay), now).is_none(),
            "a relay or an announced node never reserves on AutoNAT's word"
        );
    }
}
