//! Peers to keep connected to, with exponential backoff between dial attempts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// Most addresses remembered; stops a peer from filling memory with advertised addresses.
pub const PEER_ADDRS_MAX: usize = 256;

struct Entry {
    addr: Multiaddr,
    next_attempt: Instant,
    backoff: Duration,
}

/// The addresses to dial and when.
pub struct PeerBook {
    entries: BTreeMap<String, Entry>,
    backoff_min: Duration,
    backoff_max: Duration,
}

/// The peer id at the end of an address (`/p2p/...`).
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
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
            }
        }
    }

    /// Every address, for saving.
    pub fn addrs(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }
}
