//! The counts an operator alerts on, rendered as Prometheus text (exposition format 0.0.4) from
//! what the event loop holds: peers, rounds, bytes, changes applied / waiting / refused by reason,
//! lag per peer, store size, and how long the oldest waiting change has waited.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Instant;

use crate::engine::response::PeerStatus;

/// What the loop knows at one moment, for one rendering.
pub struct Snapshot<'a> {
    /// Every peer known.
    pub peers: &'a [PeerStatus],
    /// Changes from peers applied since start.
    pub applied_from_peers: u64,
    /// Changes this node signed since start.
    pub authored: u64,
    /// Changes waiting in quarantine.
    pub waiting: usize,
    /// Their bytes.
    pub waiting_bytes: usize,
    /// Refusals since start by reason code.
    pub refused: BTreeMap<String, u64>,
    /// Quarantine entries evicted since start.
    pub evicted: u64,
    /// Records held.
    pub records: usize,
    /// Equivocations seen.
    pub equivocations: usize,
    /// The store file's size in bytes.
    pub store_bytes: u64,
    /// Seconds the oldest waiting change has waited (0 when none waits).
    pub oldest_waiting_seconds: u64,
    /// Connections refused admission since start.
    pub admission_refusals: u64,
    /// True while online.
    pub online: bool,
}

/// Escapes a label value (backslash, quote, newline), as the format asks.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes one metric's HELP and TYPE lines and its samples.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    // Writing into a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn one(value: impl Into<f64>) -> Vec<(String, f64)> {
    vec![(String::new(), value.into())]
}

/// Prometheus text for `s` at `now_ms` (ms since the Unix epoch).
pub fn render(s: &Snapshot<'_>, now_ms: i64) -> String {
    let mut out = String::new();
    let per_peer = |f: &dyn Fn(&PeerStatus) -> Option<f64>| -> Vec<(String, f64)> {
        s.peers
            .iter()
            .filter_map(|p| {
                let hall = p.halls.first().map(String::as_str).unwrap_or("");
                f(p).map(|v| {
                    (
                        format!(
                            "{{peer=\"{}\",hall=\"{}\"}}",
                            label(&p.device_id),
                            label(hall)
                        ),
                        v,
                    )
                })
            })
            .collect()
    };
    metric(
        &mut out,
        "hallsync_online",
        "gauge",
        "1 while the node is on the network (hallsync net online).",
        &one(u8::from(s.online)),
    );
    metric(
        &mut out,
        "hallsync_peers_connected",
        "gauge",
        "Peers connected now.",
        &one(s.peers.iter().filter(|p| p.connected).count() as f64),
    );
    metric(
        &mut out,
        "hallsync_peers_known",
        "gauge",
        "Peers seen since start.",
        &one(s.peers.len() as f64),
    );
    metric(
        &mut out,
        "hallsync_peer_connected",
        "gauge",
        "1 while connected to the peer.",
        &per_peer(&|p| Some(f64::from(u8::from(p.connected)))),
    );
    metric(
        &mut out,
        "hallsync_sync_rounds_completed_total",
        "counter",
        "Sync rounds this node opened that completed, per peer.",
        &per_peer(&|p| Some(p.rounds_completed as f64)),
    );
    metric(
        &mut out,
        "hallsync_sync_rounds_failed_total",
        "counter",
        "Sync rounds that got no answer in time or were refused, per peer.",
        &per_peer(&|p| Some(p.rounds_failed as f64)),
    );
    metric(
        &mut out,
        "hallsync_sync_received_bytes_total",
        "counter",
        "Bytes of sync frames received, per peer.",
        &per_peer(&|p| Some(p.bytes_in as f64)),
    );
    metric(
        &mut out,
        "hallsync_sync_sent_bytes_total",
        "counter",
        "Bytes of sync frames sent, per peer.",
        &per_peer(&|p| Some(p.bytes_out as f64)),
    );
    metric(
        &mut out,
        "hallsync_peer_in_sync",
        "gauge",
        "1 when the last round with the peer moved nothing either way.",
        &per_peer(&|p| p.in_sync.map(|b| f64::from(u8::from(b)))),
    );
    metric(
        &mut out,
        "hallsync_peer_lag_changes",
        "gauge",
        "Changes either side lacked in the last completed round with the peer.",
        &per_peer(&|p| (p.rounds_completed > 0).then_some((p.it_lacked + p.we_lacked) as f64)),
    );
    metric(
        &mut out,
        "hallsync_peer_last_sync_age_seconds",
        "gauge",
        "Seconds since the last completed round with the peer.",
        &per_peer(&|p| p.last_sync_ms.map(|t| ((now_ms - t).max(0) / 1000) as f64)),
    );
    metric(
        &mut out,
        "hallsync_changes_applied_total",
        "counter",
        "Changes from peers applied since start.",
        &one(s.applied_from_peers as f64),
    );
    metric(
        &mut out,
        "hallsync_changes_authored_total",
        "counter",
        "Changes this node signed since start.",
        &one(s.authored as f64),
    );
    metric(
        &mut out,
        "hallsync_changes_waiting",
        "gauge",
        "Changes waiting in quarantine (for history, a certificate, an approval's content).",
        &one(s.waiting as f64),
    );
    metric(
        &mut out,
        "hallsync_changes_waiting_bytes",
        "gauge",
        "Bytes of the changes waiting in quarantine.",
        &one(s.waiting_bytes as f64),
    );
    metric(
        &mut out,
        "hallsync_changes_waiting_oldest_seconds",
        "gauge",
        "Seconds the oldest waiting change has waited on this run.",
        &one(s.oldest_waiting_seconds as f64),
    );
    metric(
        &mut out,
        "hallsync_changes_evicted_total",
        "counter",
        "Waiting changes evicted to stay within the quarantine's bounds.",
        &one(s.evicted as f64),
    );
    let refused: Vec<(String, f64)> = s
        .refused
        .iter()
        .map(|(reason, n)| (format!("{{reason=\"{}\"}}", label(reason)), *n as f64))
        .collect();
    metric(
        &mut out,
        "hallsync_changes_refused_total",
        "counter",
        "Changes refused and not kept, by reason.",
        &refused,
    );
    metric(
        &mut out,
        "hallsync_admission_refusals_total",
        "counter",
        "Connections refused admission (strangers, devices that are not members).",
        &one(s.admission_refusals as f64),
    );
    metric(
        &mut out,
        "hallsync_records",
        "gauge",
        "Records held.",
        &one(s.records as f64),
    );
    metric(
        &mut out,
        "hallsync_equivocations",
        "gauge",
        "Equivocations seen (two changes with one sequence number).",
        &one(s.equivocations as f64),
    );
    metric(
        &mut out,
        "hallsync_store_bytes",
        "gauge",
        "Size of store.redb in bytes.",
        &one(s.store_bytes as f64),
    );
    out
}

/// When each waiting change was first seen on this run, to tell the oldest one's age.
#[derive(Default)]
pub struct WaitingSince {
    since: BTreeMap<[u8; 32], Instant>,
}

impl WaitingSince {
    /// Keeps the entries of `waiting` (the quarantine's keys), notes new ones at `now`, and
    /// returns the longest wait in seconds.
    pub fn update<'a>(&mut self, waiting: impl Iterator<Item = &'a [u8; 32]>, now: Instant) -> u64 {
        let mut kept = BTreeMap::new();
        for key in waiting {
            let at = self.since.get(key).copied().unwrap_or(now);
            kept.insert(*key, at);
        }
        self.since = kept;
        self.since
            .values()
            .map(|at| now.duration_since(*at).as_secs())
            .max()
            .unwrap_or(0)
    }
}
