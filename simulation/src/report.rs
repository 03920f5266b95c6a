//! The run report (JSON): what a simulation tester reads. Same scenario and seed, byte-identical
//! report; wall-clock figures are printed apart, since they are not a function of the seed.

use std::collections::BTreeMap;

use hallsync_model::Level;
use serde::Serialize;

use crate::scenario::Scenario;
use crate::world::Node;

/// Counters gathered during a run.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages sent (including lost ones).
    pub messages: u64,
    /// Bytes of all messages.
    pub bytes_sent: u64,
    /// Bytes of the signed changes that had to move: each newly applied at its receiver, counted
    /// once per receiver, as encoded on the wire.
    pub payload_bytes: u64,
    /// Bytes of all signed changes carried, including ones the receiver already held.
    pub carried_bytes: u64,
    /// Completed request/response exchanges.
    pub round_trips: u64,
    /// Changes made by simulated people.
    pub changes_authored: u64,
    /// Malformed messages refused.
    pub refused_garbage: u64,
    /// Proposals the workload made that an entry rule refused (as the node would): none for a legal
    /// workload.
    pub entry_refused: u64,
    /// Case openings skipped because no village yet stationed an item the accepting village holds.
    pub cases_skipped: u64,
    /// Bytes of sealed personal parts the case workload wrote (applicants and notes, issue #14).
    pub sealed_bytes: u64,
    /// Cases whose personal data the workload erased (D1).
    pub cases_erased: u64,
    /// Valid changes replayed to random nodes.
    pub replayed: u64,
    /// Equivocations (pairs of versions) injected.
    pub equivocations: u64,
    /// Changes written by revoked villages after their revocation.
    pub revoked_writes: u64,
    /// Time of the last authored change.
    pub last_change_ms: u64,
    /// First time every node held the same state after the last change.
    pub converged_at_ms: Option<u64>,
    /// What convergence is timed from: the last change, or the end of a cut if later.
    pub settled_from_ms: u64,
    delays: BTreeMap<&'static str, Vec<u64>>,
    /// Bytes sent per simulated hour.
    pub bytes_per_hour: Vec<u64>,
    /// Bytes sent per kind of link, named by its two levels.
    pub bytes_by_link: BTreeMap<String, u64>,
}

impl Stats {
    /// Records the delay from authoring to application at a node of `level`.
    pub fn delay(&mut self, level: Level, ms: u64) {
        self.delays.entry(level.as_str()).or_default().push(ms);
    }
}

/// Delay percentiles for one level, in simulated seconds.
#[derive(Debug, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_s: f64,
    /// 90th percentile.
    pub p90_s: f64,
    /// 99th percentile.
    pub p99_s: f64,
    /// Samples.
    pub samples: usize,
}

/// What a run says of one `[[fault]]`.
#[derive(Clone, Debug, Serialize)]
pub struct FaultReport {
    /// Kind and hall.
    pub name: String,
    /// When it began, in seconds.
    pub start_s: u64,
    /// When it ended, in seconds.
    pub end_s: u64,
    /// Seconds from its end until its hall agreed with its parent and children on what they
    /// share (looked for every simulated minute); `None` if not by the end of the run.
    pub converged_after_s: Option<f64>,
    /// Invariants found broken when it ended: must be empty.
    pub invariant_violations: Vec<String>,
}

impl FaultReport {
    /// A fault's report before the run.
    pub fn of(f: &crate::scenario::Fault) -> FaultReport {
        FaultReport {
            name: f.name(),
            start_s: f.start_s,
            end_s: f.end_s,
            converged_after_s: None,
            invariant_violations: Vec::new(),
        }
    }
}

/// The report. Fields are documented in docs/SIMULATION.md.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Nodes simulated.
    pub nodes: usize,
    /// Simulated seconds.
    pub duration_s: u64,
    /// Every node holds everything in its replication scope, as every other node that holds it.
    pub converged: bool,
    /// Simulated seconds from the last change (or the end of a cut, if later) to convergence, to
    /// the minute for the first hour.
    pub convergence_s: Option<f64>,
    /// Per level, the delay from a change to its arrival at each node.
    pub delay: BTreeMap<&'static str, Percentiles>,
    /// Changes people made.
    pub changes_authored: u64,
    /// Messages sent.
    pub messages: u64,
    /// Request/response exchanges completed.
    pub round_trips: u64,
    /// Bytes of all messages.
    pub bytes_sent: u64,
    /// Bytes of the signed changes that had to move (newly applied at their receiver).
    pub payload_bytes: u64,
    /// Bytes of all signed changes carried, including ones the receiver already held.
    pub carried_bytes: u64,
    /// bytes_sent / payload_bytes.
    pub overhead_ratio: f64,
    /// Changes by forgers, revoked devices (after their revocation) or equivocators that became
    /// effective anywhere: must be 0.
    pub accepted_invalid: u64,
    /// Garbage messages refused by the decoders.
    pub refused_garbage: u64,
    /// Workload proposals an entry rule refused, as the node would (0 for a legal workload).
    pub entry_refused: u64,
    /// Case openings skipped: no village stationed an item the accepting village holds yet.
    pub cases_skipped: u64,
    /// What sealing the cases' personal parts added: the bytes of the sealed parts written (each
    /// carried to every party and carrier like the rest of its change).
    #[serde(default)]
    pub sealed_bytes: u64,
    /// Cases whose personal data was erased after retention (D1): after convergence no node holds
    /// a part of one (an invariant), and every node holds every part of the others.
    #[serde(default)]
    pub cases_erased: u64,
    /// Valid changes replayed to random nodes (they must change nothing beyond a normal delivery).
    pub replayed: u64,
    /// Pairs of versions signed by an equivocating village key.
    pub equivocations: u64,
    /// Changes revoked villages wrote after their revocation.
    pub revoked_writes: u64,
    /// Broken invariants: must be empty.
    pub invariant_violations: Vec<String>,
    /// When not converged: up to five records and the halls where they lag.
    pub lagging: Vec<String>,
    /// Per `[[fault]]`: when it ended and how long its hall took to catch up after.
    pub faults: Vec<FaultReport>,
    /// Time series for the charts (`--plot`); not part of the JSON report.
    #[serde(skip)]
    pub series: Series,
}

/// What the charts draw.
#[derive(Debug, Default)]
pub struct Series {
    /// Per level, every delay from a change to its arrival, in milliseconds, sorted.
    pub delays_ms: BTreeMap<&'static str, Vec<u64>>,
    /// Bytes sent per simulated hour.
    pub bytes_per_hour: Vec<u64>,
    /// Bytes sent per kind of link.
    pub bytes_by_link: BTreeMap<String, u64>,
}

/// True when every node holds every record in its replication scope, at the same heads as every other
/// node whose scope includes it (a village does not hold another township's stationings, so it is
/// never compared on them).
pub fn converged(nodes: &[Node]) -> bool {
    unconverged(nodes, 1).is_empty()
}

/// Up to `max` records that are not converged, each with the halls that lack it or differ.
pub fn unconverged(nodes: &[Node], max: usize) -> Vec<String> {
    use hallsync_model::sync::scope::holders;
    let Some(trust) = nodes.first().map(|n| n.replica.trust()) else {
        return Vec::new();
    };
    // Per record, the most complete heads held anywhere: the ones with the most changes behind them.
    let mut all: BTreeMap<&hallsync_model::DocId, (usize, Vec<hallsync_model::ChangeHash>)> =
        BTreeMap::new();
    for n in nodes {
        for (doc, state) in n.replica.records_where(|_| true) {
            let behind = state.deps().len();
            let entry = all.entry(doc).or_insert((0, Vec::new()));
            if behind > entry.0 || entry.1.is_empty() {
                *entry = (behind, state.heads());
            }
        }
    }
    // Which nodes may hold the records of each hall: a record's holders are halls, not devices.
    let mut at_hall: BTreeMap<&hallsync_model::HallId, Vec<usize>> = BTreeMap::new();
    let devices: Vec<hallsync_model::DeviceId> = nodes.iter().map(|n| n.key.device_id()).collect();
    for (i, device) in devices.iter().enumerate() {
        for cert in trust.active_certs_of(device) {
            at_hall.entry(&cert.body.hall).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (doc, (_, best)) in all {
        let mut should: Vec<usize> = match holders(trust, doc) {
            // Shared records go to members; a revoked device holds only the trust record.
            None => (0..nodes.len())
                .filter(|i| hallsync_model::sync::scope::in_scope(trust, doc, &devices[*i]))
                .collect(),
            Some(halls) => halls
                .into_iter()
                .filter_map(|h| at_hall.get(h))
                .flatten()
                .copied()
                .collect(),
        };
        should.sort_unstable();
        should.dedup();
        let lagging: Vec<String> = should
            .into_iter()
            .map(|i| &nodes[i])
            .filter(|n| n.replica.record(doc).map(|s| s.heads()).as_ref() != Some(&best))
            .map(|n| n.hall.to_string())
            .collect();
        if !lagging.is_empty() {
            out.push(format!("{doc}: behind at {}", lagging.join(", ")));
            if out.len() >= max {
                break;
            }
        }
    }
    out
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

impl Report {
    /// Builds the report at the end of a run.
    ///
    /// `tainted` are the records an adversary wrote invalid changes into: a change there that builds
    /// on an invalid one (an approval of an equivocated proposal, a stolen device's next proposal)
    /// waits for its dependency forever by design, and is not an invariant violation.
    pub fn new(
        scenario: &Scenario,
        nodes: &[Node],
        stats: Stats,
        accepted_invalid: u64,
        tainted: &std::collections::BTreeSet<hallsync_model::DocId>,
    ) -> Report {
        let lagging = unconverged(nodes, 5);
        let converged = lagging.is_empty();
        let mut invariant_violations = Vec::new();
        for n in nodes {
            let stuck = n
                .replica
                .quarantine()
                .values()
                .filter(|q| q.reason.code() == "missing_dependency")
                .filter(|q| !tainted.contains(&q.envelope.doc))
                .count();
            if converged && stuck > 0 {
                invariant_violations.push(format!(
                    "{}: {stuck} change(s) still wait for dependencies after convergence",
                    n.hall
                ));
            }
            if converged {
                invariant_violations.extend(part_violations(n));
            }
        }
        if accepted_invalid > 0 {
            invariant_violations.push(format!(
                "{accepted_invalid} forged change(s) became effective"
            ));
        }
        let mut stats = stats;
        for samples in stats.delays.values_mut() {
            samples.sort_unstable();
        }
        let delay = stats
            .delays
            .iter()
            .map(|(level, s)| {
                (
                    *level,
                    Percentiles {
                        p50_s: pct(s, 0.5),
                        p90_s: pct(s, 0.9),
                        p99_s: pct(s, 0.99),
                        samples: s.len(),
                    },
                )
            })
            .collect();
        Report {
            scenario: scenario.name.clone(),
            nodes: nodes.len(),
            duration_s: scenario.duration_s,
            converged,
            // From the last change anyone made to the first check at which every node held it.
            convergence_s: stats
                .converged_at_ms
                .filter(|_| converged)
                .map(|c| c.saturating_sub(stats.settled_from_ms) as f64 / 1000.0),
            delay,
            changes_authored: stats.changes_authored,
            messages: stats.messages,
            round_trips: stats.round_trips,
            bytes_sent: stats.bytes_sent,
            payload_bytes: stats.payload_bytes,
            carried_bytes: stats.carried_bytes,
            overhead_ratio: if stats.payload_bytes == 0 {
                0.0
            } else {
                stats.bytes_sent as f64 / stats.payload_bytes as f64
            },
            accepted_invalid,
            refused_garbage: stats.refused_garbage,
            entry_refused: stats.entry_refused,
            cases_skipped: stats.cases_skipped,
            sealed_bytes: stats.sealed_bytes,
            cases_erased: stats.cases_erased,
            replayed: stats.replayed,
            equivocations: stats.equivocations,
            revoked_writes: stats.revoked_writes,
            invariant_violations,
            lagging,
            faults: Vec::new(),
            series: Series {
                delays_ms: std::mem::take(&mut stats.delays),
                bytes_per_hour: std::mem::take(&mut stats.bytes_per_hour),
                bytes_by_link: std::mem::take(&mut stats.bytes_by_link),
            },
        }
    }
}

/// After convergence, a holder of a case holds every sealed part it names, unless the case was
/// erased, when it holds none (issue #14, D1). Reads each record without keeping it open.
fn part_violations(n: &Node) -> Vec<String> {
    let (mut missing, mut kept) = (0, 0);
    let cases = n
        .replica
        .records()
        .filter(|d| matches!(d.kind(), hallsync_model::DocKind::Case(..)));
    for doc in cases {
        let Some((named, erased)) = n.replica.case_part_standing(doc) else {
            continue;
        };
        for id in named {
            let held = n.replica.parts().holds(&id).unwrap_or(false);
            match (erased, held) {
                (true, true) => kept += 1,
                (false, false) => missing += 1,
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    if kept > 0 {
        out.push(format!(
            "{}: {kept} sealed part(s) of erased cases still held",
            n.hall
        ));
    }
    if missing > 0 {
        out.push(format!(
            "{}: {missing} sealed part(s) of its cases missing after convergence",
            n.hall
        ));
    }
    out
}
