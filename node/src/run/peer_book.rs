//! Peers to keep connected to, with exponential backoff between dial attempts.
//!
//! Addresses come from config (kept whatever happens), from the last run (saved only for admitted
//! devices), and from identify (spoken only by admitted devices). An address that is not in config
//! is forgotten after [`DIAL_FAILURES_MAX`] failed dials in a row, or at once when its peer refuses
//! this node: a stranger's address cannot be dialled forever, across restarts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// Most addresses remembered; stops a peer from filling memory with advertised addresses.
pub const PEER_ADDRS_MAX: usize = 256;

/// Failed dials in a row after which a learned address is forgotten (at the longest backoff,
/// about four minutes of trying).
pub const DIAL_FAILURES_MAX: u32 = 8;

struct Entry {
    addr: Multiaddr,
    next_attempt: Instant,
    backoff: Duration,
    /// From config: never forgotten.
    configured: bool,
    /// Failed dials since the last connection.
    failures: u32,
}

/// The addresses to dial and when.
pub struct PeerBook {
    entries: BTreeMap<String, Entry>,
    backoff_min: Duration,
    backoff_max: Duration,
}

/// The peer id the address ends with, if its last part is `/p2p/…`.
pub fn peer_of_last(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(id)) => Some(id),
        _ => None,
    }
}

/// The peer an address reaches: its last `/p2p/…` (a relayed address names the relay first).
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter()
        .filter_map(|p| match p {
            Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .last()
}

impl PeerBook {
    /// An empty book with the config's backoff bounds.
    pub fn new(backoff_min: Duration, backoff_max: Duration) -> Self {
        PeerBook {
            entries: BTreeMap::new(),
            backoff_min,
            backoff_max,
        }
    }

    /// Adds an address from config: it is dialled whatever happens.
    pub fn add_configured(&mut self, addr: Multiaddr, now: Instant) -> bool {
        let key = addr.to_string();
        let added = self.add(addr, now);
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.configured = true;
        }
        added
    }

    /// Adds an address (with `/p2p/`); returns true if it is new.
    pub fn add(&mut self, addr: Multiaddr, now: Instant) -> bool {
        if peer_of(&addr).is_none() || self.entries.len() >= PEER_ADDRS_MAX {
            return false;
        }
        let key = addr.to_string();
        if self.entries.contains_key(&key) {
            return false;
        }
        self.entries.insert(
            key,
            Entry {
                addr,
                next_attempt: now,
                backoff: self.backoff_min,
                configured: false,
                failures: 0,
            },
        );
        true
    }

    /// Addresses due for a dial, skipping peers in `connected`; each gets its backoff doubled.
    pub fn due(&mut self, now: Instant, connected: &dyn Fn(&PeerId) -> bool) -> Vec<Multiaddr> {
        let mut out = Vec::new();
        for entry in self.entries.values_mut() {
            let Some(peer) = peer_of(&entry.addr) else {
                continue;
            };
            if connected(&peer) || now < entry.next_attempt {
                continue;
            }
            out.push(entry.addr.clone());
            entry.next_attempt = now + entry.backoff;
            entry.backoff = (entry.backoff * 2).min(self.backoff_max);
        }
        out
    }

    /// A connection to `peer` came up: its next loss is redialled quickly again.
    pub fn connected(&mut self, peer: &PeerId, now: Instant) {
        for entry in self.entries.values_mut() {
            if peer_of(&entry.addr).as_ref() == Some(peer) {
                entry.backoff = self.backoff_min;
                entry.next_attempt = now;
                entry.failures = 0;
            }
        }
    }

    /// A dial to `peer` failed: its learned addresses are forgotten after too many in a row.
    pub fn failed(&mut self, peer: &PeerId) {
        self.entries.retain(|_, entry| {
            if peer_of(&entry.addr).as_ref() != Some(peer) {
                return true;
            }
            entry.failures += 1;
            entry.configured || entry.failures < DIAL_FAILURES_MAX
        });
    }

    /// Removes `target` — an address, or every address of a peer id — configured or not (`peer
    /// remove`); returns the peers whose addresses went.
    pub fn remove(&mut self, target: &str) -> Vec<PeerId> {
        let mut gone = Vec::new();
        self.entries.retain(|key, entry| {
            let peer = peer_of(&entry.addr);
            let hit = key == target || peer.is_some_and(|p| p.to_string() == target);
            if hit {
                gone.extend(peer);
            }
            !hit
        });
        gone.sort();
        gone.dedup();
        gone
    }

    /// Moves every address of a peer that rotated its key to the peer that took over
    /// (`successor` says who, if anyone), keeping whether it came from config; returns each
    /// configured address changed, as (old, new), for the config to follow.
    pub fn follow_rotations(
        &mut self,
        successor: &dyn Fn(&PeerId) -> Option<PeerId>,
        now: Instant,
    ) -> Vec<(String, String)> {
        let mut moved = Vec::new();
        let keys: Vec<String> = self.entries.keys().cloned().collect();
        for key in keys {
            let Some(new) = self
                .entries
                .get(&key)
                .and_then(|e| peer_of(&e.addr))
                .and_then(|p| successor(&p))
            else {
                continue;
            };
            let Some(mut entry) = self.entries.remove(&key) else {
                continue;
            };
            let addr: Multiaddr = entry
                .addr
                .iter()
                .filter(|p| !matches!(p, Protocol::P2p(_)))
                .chain(std::iter::once(Protocol::P2p(new)))
                .collect();
            if entry.configured {
                moved.push((key, addr.to_string()));
            }
            entry.addr = addr.clone();
            entry.failures = 0;
            entry.next_attempt = now;
            entry.backoff = self.backoff_min;
            self.entries.insert(addr.to_string(), entry);
        }
        moved
    }

    /// `peer` is not a member (it refused this node or was refused): its learned addresses go.
    pub fn forget(&mut self, peer: &PeerId) {
        self.entries
            .retain(|_, entry| entry.configured || peer_of(&entry.addr).as_ref() != Some(peer));
    }

    /// The learned addresses of peers `keep` accepts, for saving (config addresses are read from
    /// config again).
    pub fn addrs(&self, keep: &dyn Fn(&PeerId) -> bool) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.configured && peer_of(&e.addr).is_some_and(|p| keep(&p)))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(seed: u8) -> Multiaddr {
        let key = hallsync_model::DeviceKey::from_seed([seed; 32]);
        let peer = PeerId::from_public_key(&crate::network::peer::keypair(&key).unwrap().public());
        format!("/ip4/127.0.0.1/tcp/4{seed:03}/p2p/{peer}")
            .parse()
            .unwrap()
    }

    #[test]
    fn learned_addresses_are_forgotten_after_failures_or_a_refusal_and_configured_ones_never() {
        let now = Instant::now();
        let mut book = PeerBook::new(Duration::from_millis(10), Duration::from_millis(100));
        let (learned, configured, refusing) = (addr(1), addr(2), addr(3));
        book.add(learned.clone(), now);
        book.add_configured(configured.clone(), now);
        book.add(refusing.clone(), now);
        for _ in 0..DIAL_FAILURES_MAX - 1 {
            book.failed(&peer_of(&learned).unwrap());
            book.failed(&peer_of(&configured).unwrap());
        }
        assert_eq!(book.entries.len(), 3, "not yet");
        book.failed(&peer_of(&learned).unwrap());
        book.failed(&peer_of(&configured).unwrap());
        book.forget(&peer_of(&refusing).unwrap());
        book.forget(&peer_of(&configured).unwrap());
        let left: Vec<&String> = book.entries.keys().collect();
        assert_eq!(left, [&configured.to_string()]);
        // Saved: learned addresses of admitted peers only, never config's.
        book.add(learned.clone(), now);
        assert_eq!(book.addrs(&|_| true), [learned.to_string()]);
        assert!(book.addrs(&|_| false).is_empty());
    }
}
