//! What this node knows of each peer, for operators: `peer list`, `status` and the metrics.
//!
//! Kept in memory by the event loop from the connection events, the sessions' statistics and the
//! bytes each sync frame carried; bounded, so a stream of strangers cannot grow it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hallsync_model::sync::session::SessionStats;
use libp2p::{Multiaddr, PeerId};

use crate::engine::now_ms;
use crate::network::peer::peer_label;

/// Most peers remembered; past it the one longest unseen (and not connected) is forgotten.
pub const PEERS_TRACKED_MAX: usize = 256;

/// How often a failing peer's dial error is logged at WARN; between, at DEBUG.
pub const DIAL_WARN_EVERY: Duration = Duration::from_secs(600);

/// One peer as this node knows it.
#[derive(Clone, Debug, Default)]
pub struct PeerRecord {
    /// Connected now.
    pub connected: bool,
    /// The address of the connection, when connected.
    pub remote: Option<Multiaddr>,
    /// When anything was last heard from it, ms since the Unix epoch.
    pub last_seen_ms: Option<i64>,
    /// When its last sync round completed, ms since the Unix epoch.
    pub last_sync_ms: Option<i64>,
    /// The session's statistics as of its last event.
    pub stats: SessionStats,
    /// Bytes of sync frames received from it.
    pub bytes_in: u64,
    /// Bytes of sync frames sent to it.
    pub bytes_out: u64,
    /// The last thing that went wrong with it, in words.
    pub last_error: Option<String>,
    /// When a dial failure was last logged at WARN.
    warned_at: Option<Instant>,
}

/// The peers this node knows, by peer id.
#[derive(Default)]
pub struct PeerTable {
    peers: BTreeMap<PeerId, PeerRecord>,
}

impl PeerTable {
    fn entry(&mut self, peer: PeerId) -> &mut PeerRecord {
        if !self.peers.contains_key(&peer) && self.peers.len() >= PEERS_TRACKED_MAX {
            let oldest = self
                .peers
                .iter()
                .filter(|(_, r)| !r.connected)
                .min_by_key(|(_, r)| r.last_seen_ms)
                .map(|(p, _)| *p);
            if let Some(oldest) = oldest {
                self.peers.remove(&oldest);
            }
        }
        self.peers.entry(peer).or_default()
    }

    /// A connection to `peer` was established over `remote`.
    pub fn connected(&mut self, peer: PeerId, remote: Multiaddr) {
        let r = self.entry(peer);
        r.connected = true;
        r.remote = Some(remote);
        r.last_seen_ms = Some(now_ms());
    }

    /// The last connection to `peer` closed.
    pub fn disconnected(&mut self, peer: &PeerId) {
        if let Some(r) = self.peers.get_mut(peer) {
            r.connected = false;
            r.remote = None;
        }
    }

    /// A sync frame of `bytes` came from `peer`.
    pub fn received(&mut self, peer: PeerId, bytes: usize) {
        let r = self.entry(peer);
        r.bytes_in += bytes as u64;
        r.last_seen_ms = Some(now_ms());
    }

    /// A sync frame of `bytes` went to `peer`.
    pub fn sent(&mut self, peer: PeerId, bytes: usize) {
        self.entry(peer).bytes_out += bytes as u64;
    }

    /// The session with `peer` reports `stats`; a newly completed round is stamped with the time.
    pub fn session(&mut self, peer: PeerId, stats: SessionStats) {
        let r = self.entry(peer);
        if stats.rounds_completed > r.stats.rounds_completed {
            r.last_sync_ms = Some(now_ms());
            if stats.catching_up {
                // The progress line of a first sync or a long catch-up: one a round.
                tracing::info!(
                    peer = %peer_label(&peer),
                    received = stats.last_round_received,
                    received_total = stats.changes_received,
                    sent = stats.last_round_sent,
                    "catching up, more to come (追赶同步中)"
                );
            } else if r.stats.rounds_completed == 0
                || stats.last_round_received > 0
                || r.stats.catching_up
            {
                tracing::info!(
                    peer = %peer_label(&peer),
                    sent = stats.last_round_sent,
                    received = stats.last_round_received,
                    received_total = stats.changes_received,
                    in_sync = stats.in_sync,
                    "sync round done (同步完成)"
                );
            }
        }
        if stats.rounds_failed > r.stats.rounds_failed {
            r.last_error = Some("a sync round got no answer in time, or was refused".into());
        }
        r.stats = stats;
    }

    /// Something went wrong with `peer` (`error` in words).
    pub fn error(&mut self, peer: PeerId, error: String) {
        self.entry(peer).last_error = Some(error);
    }

    /// A dial of `peer` failed: logged at WARN once per [`DIAL_WARN_EVERY`] per peer, at DEBUG
    /// between, so an operator sees every failing peer without a flood.
    pub fn dial_failed(&mut self, peer: PeerId, error: &str, now: Instant) {
        let r = self.entry(peer);
        r.last_error = Some(format!("dial failed: {error}"));
        let due = r
            .warned_at
            .is_none_or(|at| now.duration_since(at) >= DIAL_WARN_EVERY);
        if due {
            r.warned_at = Some(now);
            tracing::warn!(peer = %peer_label(&peer), "dial failed (连接失败): {error}");
        } else {
            tracing::debug!(peer = %peer_label(&peer), "dial failed: {error}");
        }
    }

    /// Every peer known, in peer-id order.
    pub fn iter(&self) -> impl Iterator<Item = (&PeerId, &PeerRecord)> {
        self.peers.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_bounded_and_keeps_connected_peers() {
        // Goal: a stream of peers cannot grow the table past its bound; connected ones stay.
        let mut t = PeerTable::default();
        let first = PeerId::random();
        t.connected(first, "/ip4/127.0.0.1/tcp/1".parse().unwrap());
        for _ in 0..PEERS_TRACKED_MAX * 2 {
            t.error(PeerId::random(), "x".into());
        }
        assert_eq!(t.iter().count(), PEERS_TRACKED_MAX);
        assert!(t.iter().any(|(p, r)| *p == first && r.connected));
    }

    #[test]
    fn a_failing_peer_is_warned_of_once_per_period() {
        let mut t = PeerTable::default();
        let peer = PeerId::random();
        let now = Instant::now();
        t.dial_failed(peer, "refused", now);
        let first = t.iter().next().unwrap().1.warned_at;
        t.dial_failed(peer, "refused", now + Duration::from_secs(1));
        assert_eq!(t.iter().next().unwrap().1.warned_at, first);
        t.dial_failed(peer, "refused", now + DIAL_WARN_EVERY);
        assert_ne!(t.iter().next().unwrap().1.warned_at, first);
    }
}
