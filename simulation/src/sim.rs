//! The discrete-event loop: virtual time, a priority queue with a sequence tie-break, and the real
//! protocol messages (encoded and decoded as on the wire) between tree neighbours.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use hallsync_model::entry::{
    self,
    station::{StationAction, StationProposal},
};
use hallsync_model::records::approval::Approval;
use hallsync_model::records::case::CaseState;
use hallsync_model::records::department::DepartmentFields;
use hallsync_model::records::item::ItemFields;
use hallsync_model::records::station::StationFields;
use hallsync_model::replica::parts::CarriedPart;
use hallsync_model::sync::session::{self, Host, Output, Session, SessionConfig};
use hallsync_model::sync::wire::{Message, WireLimits};
use hallsync_model::{DeviceKey, DocId, ItemCode, Level, ScalarValue, SignedChange};

use crate::report::{Report, Stats};
use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::world::{build, Node};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Tick,
    Deliver {
        to: usize,
        from: usize,
        bytes: Vec<u8>,
        response: bool,
    },
    /// A session asked to be woken (a round's deadline, a push, a retry).
    Wake {
        node: usize,
        peer: usize,
    },
    LinkCheck {
        child: usize,
    },
    Approve,
    Check,
    Catalogue,
    Propose,
    Case,
    Staff,
    Replay,
    Equivocate,
    Revoke,
    RevokedWrite,
    Forge,
    Garbage,
    /// A fault's link state changes (a cut starts or ends, a flap turns).
    FaultTurn {
        index: usize,
    },
    /// A fault ended: invariants are checked, and convergence after it is timed.
    FaultEnd {
        index: usize,
    },
    /// Has the struck hall caught up with its parent since the fault ended?
    FaultSettle {
        index: usize,
    },
}

/// Most link turns one flap schedules.
const FLAP_TURNS_MAX: u64 = 10_000;

/// How often convergence after a fault is looked for, in ms.
const FAULT_SETTLE_EVERY_MS: u64 = 60_000;

/// A run of one scenario with one seed.
pub struct Sim {
    /// The scenario's faults, each with the node it strikes.
    faults: Vec<(crate::scenario::Fault, usize)>,
    /// Per fault: what the report says of it.
    fault_reports: Vec<crate::report::FaultReport>,
    scenario: Scenario,
    rng: Rng,
    now_ms: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Event)>>,
    nodes: Vec<Node>,
    limits: WireLimits,
    stats: Stats,
    authored_at: BTreeMap<[u8; 32], u64>,
    forged: Vec<SignedChange>,
    items: u32,
    proposals: u32,
    cases: u32,
    /// Villages revoked by their township (the revoked-writer adversary), each with its stolen
    /// device: a copy of its replica taken before the revocation, which ignores everything after.
    revoked: BTreeMap<usize, hallsync_model::Replica>,
    /// Valid changes authored so far, for the replayer.
    valid_log: Vec<SignedChange>,
    /// Per node, its children in the hall tree.
    children: Vec<Vec<usize>>,
    /// Stationings the townships approved, (village, item): where cases may go.
    stationed_at: Vec<(usize, ItemCode)>,
    /// Per (node, peer), the time of the wake-up scheduled for its session.
    wakes: BTreeMap<(usize, usize), u64>,
    /// How sessions pace their rounds: the node's policy with the simulator's push delay.
    session: SessionConfig,
    /// Per child, whether its link to its parent was up when last looked at.
    was_up: Vec<bool>,
    applied_since_check: bool,
}

/// A round that has not ended this long after it opened lost a message: it is opened again.
const ROUND_TIMEOUT_MS: u64 = 30_000;

/// A failed round is opened again after this long.
const RETRY_MS: u64 = 1_000;

/// Rounds chained one after another before the next tick, as the node does.
const CHAINED_ROUNDS_MAX: u32 = 8;

/// Most valid changes kept for the replayer to pick from.
const VALID_LOG_MAX: usize = 100_000;

/// Township administrators look at what is pending for them this often.
/// The state a case moves to next on its ordinary path (YC 6.1–6.4), if any.
fn next_case_state(state: CaseState) -> Option<CaseState> {
    use CaseState::*;
    Some(match state {
        Received => Accepted,
        Accepted => Transferred,
        Transferred => InReview,
        InReview => Decided,
        Decided => Issued,
        Issued => Delivered,
        Delivered => Archived,
        _ => return None,
    })
}

const APPROVE_EVERY_MS: u64 = 300_000;

/// Tries to find a handling village and item for a case before the attempt is skipped.
const CASE_TRIES: usize = 16;

/// Most approved stationings remembered as case destinations.
const STATIONED_AT_MAX: usize = 1_000_000;

/// The applicant of every simulated case: a valid resident identity number (GB 11643).
const SIM_APPLICANT_ID: &str = "440300199001011238";

/// The randomness of a simulated case's sealing, derived from its number so that the simulator's
/// random stream (and every seeded run) is what it was before sealing (a node draws it from the OS).
fn sim_case_secrets(case_no: &str) -> entry::case::CaseSecrets {
    use sha2::{Digest, Sha256};
    let derive = |what: &[u8]| -> [u8; 32] {
        Sha256::new()
            .chain_update(what)
            .chain_update(case_no.as_bytes())
            .finalize()
            .into()
    };
    entry::case::CaseSecrets {
        content_key: derive(b"hallsync-sim/case-key\0"),
        ephemeral: derive(b"hallsync-sim/case-ephemeral\0"),
    }
}

/// News is pushed to neighbours this long after it arrives, so a burst goes in one round.
const PUSH_DELAY_MS: u64 = 1_000;

/// The id of the department every simulated village stations before filing its window staff.
const SIM_DEPARTMENT: &str = "civil";

fn hourly(rate_per_h: f64, rng: &mut Rng) -> Option<u64> {
    (rate_per_h > 0.0).then(|| {
        // Exponential inter-arrival time, mean 3600/rate seconds.
        let u = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln()) * 3_600_000.0 / rate_per_h) as u64 + 1
    })
}

impl Sim {
    /// Sets up `scenario` with `seed`.
    ///
    /// # Errors
    /// A `[[fault]]` that names a hall the tree does not have.
    pub fn try_new(scenario: Scenario, seed: u64) -> Result<Sim, crate::scenario::ScenarioError> {
        let mut rng = Rng::new(seed);
        let (nodes, _) = build(&scenario, &mut rng);
        let mut faults = Vec::new();
        for f in &scenario.fault {
            let Some(i) = nodes.iter().position(|n| n.hall.as_str() == f.hall) else {
                return Err(crate::scenario::ScenarioError {
                    origin: scenario.name.clone(),
                    message: format!(
                        "fault {}: no hall {} in this tree (halls are named C, D0, D0T1, D0T1V2 …)",
                        f.name(),
                        f.hall
                    ),
                });
            };
            faults.push((f.clone(), i));
        }
        let fault_reports = faults
            .iter()
            .map(|(f, _)| crate::report::FaultReport::of(f))
            .collect();
        Ok(Sim::with_faults(
            scenario,
            rng,
            nodes,
            faults,
            fault_reports,
        ))
    }

    /// Sets up `scenario` with `seed`; for scenarios whose faults name halls of the tree (tests and
    /// benches: the CLI uses [`Sim::try_new`]).
    ///
    /// # Panics
    /// When a fault names a hall the tree does not have.
    pub fn new(scenario: Scenario, seed: u64) -> Sim {
        match Sim::try_new(scenario, seed) {
            Ok(sim) => sim,
            Err(e) => panic!("{}: {}", e.origin, e.message),
        }
    }

    fn with_faults(
        scenario: Scenario,
        rng: Rng,
        nodes: Vec<Node>,
        faults: Vec<(crate::scenario::Fault, usize)>,
        fault_reports: Vec<crate::report::FaultReport>,
    ) -> Sim {
        let mut sim = Sim {
            faults,
            fault_reports,
            scenario,
            rng,
            now_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes,
            limits: WireLimits::default(),
            stats: Stats::default(),
            authored_at: BTreeMap::new(),
            forged: Vec::new(),
            items: 0,
            proposals: 0,
            cases: 0,
            revoked: BTreeMap::new(),
            valid_log: Vec::new(),
            children: Vec::new(),
            stationed_at: Vec::new(),
            wakes: BTreeMap::new(),
            session: SessionConfig {
                limits: WireLimits::default(),
                round_timeout_ms: ROUND_TIMEOUT_MS,
                chained_rounds_max: CHAINED_ROUNDS_MAX,
                push_delay_ms: PUSH_DELAY_MS,
                retry_ms: RETRY_MS,
            },
            was_up: Vec::new(),
            applied_since_check: true,
        };
        let n = sim.nodes.len();
        sim.children = vec![Vec::new(); n];
        for i in 0..n {
            if let Some(p) = sim.nodes[i].parent {
                sim.children[p].push(i);
            }
        }
        sim.was_up = vec![false; n];
        for child in 0..n {
            if sim.nodes[child].level == Level::Village {
                let at = sim.nodes[child].online_from_s * 1000 + 1;
                sim.at(at, Event::LinkCheck { child });
            }
        }
        if let Some(cut) = sim.scenario.availability.partition.clone() {
            for child in 0..n {
                if sim.nodes[child].district == Some(cut.district) {
                    sim.at(cut.end_s * 1000 + 1, Event::LinkCheck { child });
                }
            }
        }
        for index in 0..sim.faults.len() {
            let f = sim.faults[index].0.clone();
            sim.at(f.start_s * 1000, Event::FaultTurn { index });
            if f.kind == crate::scenario::FaultKind::Flap {
                let half = f.period_s.unwrap_or(60).max(2) / 2;
                let turns = ((f.end_s - f.start_s) / half).min(FLAP_TURNS_MAX);
                for k in 1..=turns {
                    sim.at((f.start_s + k * half) * 1000, Event::FaultTurn { index });
                }
            }
            sim.at(f.end_s * 1000, Event::FaultEnd { index });
        }
        sim.at(0, Event::Tick);
        sim.at(APPROVE_EVERY_MS, Event::Approve);
        let close = sim
            .scenario
            .duration_s
            .saturating_sub(sim.scenario.workload.quiet_tail_s);
        sim.at(close * 1000, Event::Check);
        sim.at(0, Event::Catalogue);
        sim.at(60_000, Event::Propose);
        sim.at(90_000, Event::Case);
        sim.at(120_000, Event::Staff);
        if sim.scenario.adversaries.revoked_writers > 0 {
            sim.at(3_600_000, Event::Revoke);
        }
        for (rate, event) in [
            (sim.scenario.adversaries.replays_per_h, Event::Replay),
            (
                sim.scenario.adversaries.equivocations_per_h,
                Event::Equivocate,
            ),
        ] {
            if let Some(d) = hourly(rate, &mut sim.rng) {
                sim.at(d, event);
            }
        }
        let (f, g) = (
            sim.scenario.adversaries.forgeries_per_h,
            sim.scenario.adversaries.garbage_per_h,
        );
        if let Some(d) = hourly(f, &mut sim.rng) {
            sim.at(d, Event::Forge);
        }
        if let Some(d) = hourly(g, &mut sim.rng) {
            sim.at(d, Event::Garbage);
        }
        sim
    }

    fn at(&mut self, time_ms: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((time_ms, self.seq, event)));
    }

    fn online(&self, i: usize) -> bool {
        let node = &self.nodes[i];
        if node.level == Level::Village {
            let window_s = (self.scenario.availability.village_online_h * 3600.0) as u64;
            let t = (self.now_ms / 1000 + 86_400 - node.online_from_s) % 86_400;
            return t < window_s;
        }
        true
    }

    /// True while a crash fault keeps `node` down.
    fn crashed(&self, node: usize) -> bool {
        let t = self.now_ms / 1000;
        self.faults
            .iter()
            .any(|(f, n)| *n == node && f.kind == crate::scenario::FaultKind::Crash && f.active(t))
    }

    /// True while a fault of `kind` is in force at `node`.
    fn under(
        &self,
        node: usize,
        kind: crate::scenario::FaultKind,
    ) -> Option<&crate::scenario::Fault> {
        let t = self.now_ms / 1000;
        self.faults
            .iter()
            .find(|(f, n)| *n == node && f.kind == kind && f.active(t))
            .map(|(f, _)| f)
    }

    fn link_up(&self, child: usize) -> bool {
        let Some(parent) = self.nodes[child].parent else {
            return false;
        };
        let t = self.now_ms / 1000;
        if self.crashed(child)
            || self.crashed(parent)
            || self
                .faults
                .iter()
                .any(|(f, n)| *n == child && f.link_down(t))
        {
            return false;
        }
        if let (Some(cut), Level::District) = (
            &self.scenario.availability.partition,
            self.nodes[child].level,
        ) {
            let t = self.now_ms / 1000;
            if self.nodes[child].district == Some(cut.district) && t >= cut.start_s && t < cut.end_s
            {
                return false;
            }
        }
        self.online(child) && self.online(parent)
    }

    fn send(&mut self, from: usize, to: usize, bytes: Vec<u8>, response: bool) {
        self.stats.messages += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        let hour = (self.now_ms / 3_600_000) as usize;
        if self.stats.bytes_per_hour.len() <= hour {
            self.stats.bytes_per_hour.resize(hour + 1, 0);
        }
        self.stats.bytes_per_hour[hour] += bytes.len() as u64;
        let child = if self.nodes[from].parent == Some(to) {
            from
        } else {
            to
        };
        let parent = self.nodes[child].parent.unwrap_or(child);
        let link = format!(
            "{}–{}",
            self.nodes[child].level.as_str(),
            self.nodes[parent].level.as_str()
        );
        *self.stats.bytes_by_link.entry(link).or_default() += bytes.len() as u64;
        if self.rng.chance(self.scenario.link.loss) {
            return;
        }
        // A one-way cut drops what goes its way.
        let t = self.now_ms / 1000;
        let up = from == child;
        if self
            .faults
            .iter()
            .any(|(f, n)| *n == child && f.blocks(t, up))
        {
            return;
        }
        let transfer_ms = match self.scenario.link.bandwidth_kbps {
            0 => 0,
            kbps => (bytes.len() as u64 * 8).div_ceil(kbps),
        };
        let t = self.now_ms + self.scenario.link.latency_ms + transfer_ms;
        self.at(
            t,
            Event::Deliver {
                to,
                from,
                bytes,
                response,
            },
        );
    }

    fn ingest(&mut self, node: usize, source: Option<usize>, changes: Vec<SignedChange>) {
        if self.ingest_quietly(node, changes, Vec::new()) {
            self.news(node, source);
        }
    }

    /// Ingests `changes` at `node` and counts them; true when any was applied (news for the
    /// other neighbours, which the caller gives).
    fn ingest_quietly(
        &mut self,
        node: usize,
        changes: Vec<SignedChange>,
        parts: Vec<CarriedPart>,
    ) -> bool {
        // A full disk keeps nothing new.
        if self
            .under(node, crate::scenario::FaultKind::DiskFull)
            .is_some()
        {
            return false;
        }
        self.stats.carried_bytes += changes.iter().map(|c| c.wire_len() as u64).sum::<u64>();
        self.stats.carried_bytes += parts.iter().map(|p| p.bytes.len() as u64).sum::<u64>();
        let report = self.nodes[node].replica.ingest(changes);
        self.nodes[node]
            .replica
            .settle_parts(&report.applied, parts);
        let applied = !report.applied.is_empty();
        if applied {
            self.applied_since_check = true;
        }
        let level = self.nodes[node].level;
        for env in report.applied {
            self.stats.payload_bytes += env.wire_len() as u64;
            if let Some(at) = self.authored_at.get(&env.digest()) {
                self.stats.delay(level, self.now_ms.saturating_sub(*at));
            }
        }
        applied
    }

    fn author(&mut self, node: usize, doc: &DocId, puts: &[(String, ScalarValue)]) {
        if self.crashed(node)
            || self
                .under(node, crate::scenario::FaultKind::DiskFull)
                .is_some()
        {
            return;
        }
        let key = self.nodes[node].key.clone();
        // A hall whose clock runs ahead or behind signs its changes with that time.
        let offset_ms = self
            .under(node, crate::scenario::FaultKind::Clock)
            .and_then(|f| f.offset_s)
            .unwrap_or(0)
            * 1000;
        let now = (self.now_ms as i64).saturating_add(offset_ms).max(0);
        if let Ok(env) = self.nodes[node].replica.author(&key, 0, doc, now, puts) {
            self.nodes[node]
                .replica
                .settle_parts(std::slice::from_ref(&env), Vec::new());
            self.authored_at.insert(env.digest(), self.now_ms);
            self.news(node, None);
            self.stats.changes_authored += 1;
            self.stats.last_change_ms = self.now_ms;
            if self.valid_log.len() < VALID_LOG_MAX {
                self.valid_log.push(env);
            }
        }
    }

    fn deliver(&mut self, to: usize, from: usize, bytes: &[u8], response: bool) {
        let child = if self.nodes[to].parent == Some(from) {
            to
        } else {
            from
        };
        if !self.link_up(child) {
            return;
        }
        if response {
            self.stats.round_trips += 1;
        }
        if Message::from_bytes(bytes, &self.limits).is_err() {
            self.stats.refused_garbage += 1;
        }
        let event = if response {
            session::Event::Response(bytes)
        } else {
            session::Event::Request(bytes)
        };
        self.drive(to, from, event);
    }

    /// Runs `event` on `node`'s session with `peer` — the core's [`Session`], as the node runs it
    /// — and carries out what it asks: messages over the virtual link, a wake-up, news.
    fn drive(&mut self, node: usize, peer: usize, event: session::Event<'_>) {
        let mut session = self.nodes[node].sessions.remove(&peer).unwrap_or_else(|| {
            Session::new(
                self.nodes[peer].key.device_id(),
                hallsync_model::PeerState::default(),
                self.session,
            )
        });
        let now = self.now_ms;
        let handled = session.handle(&mut SimHost { sim: self, node }, now, event);
        while let Some(output) = session.poll_output() {
            match output {
                Output::Send(bytes) => self.send(node, peer, bytes, false),
                Output::Respond(bytes) => self.send(node, peer, bytes, true),
                // The simulator keeps peer state in the session, in memory.
                Output::SaveState => {}
            }
        }
        let wake = session.wake_at();
        self.nodes[node].sessions.insert(peer, session);
        if let Some(at) = wake {
            let due = self.wakes.get(&(node, peer)).copied();
            if due.is_none_or(|d| d > at || d < now) {
                self.wakes.insert((node, peer), at);
                self.at(at.max(now), Event::Wake { node, peer });
            }
        }
        if handled.applied {
            self.news(node, Some(peer));
        }
    }

    /// A session's wake-up: delivered if it is still the one asked for.
    fn wake(&mut self, node: usize, peer: usize) {
        if self.wakes.get(&(node, peer)) != Some(&self.now_ms) {
            return;
        }
        self.wakes.remove(&(node, peer));
        // A link that is down is a peer that is not connected: the node's session with it ends
        // (no retries into the void), and the next link check or tick starts it again.
        let event = if self.link_between(node, peer) {
            session::Event::Timer
        } else {
            session::Event::Disconnected
        };
        self.drive(node, peer, event);
    }

    fn neighbours(&self, node: usize) -> Vec<usize> {
        let mut out = self.children[node].clone();
        out.extend(self.nodes[node].parent);
        out
    }

    fn link_between(&self, a: usize, b: usize) -> bool {
        let child = if self.nodes[a].parent == Some(b) {
            a
        } else {
            b
        };
        self.link_up(child)
    }

    /// Something new arrived at `node` (from `source`, if a peer): its sessions with the other
    /// neighbours whose links are up push it, as the node's do.
    fn news(&mut self, node: usize, source: Option<usize>) {
        for nb in self.neighbours(node) {
            if Some(nb) != source && self.link_between(node, nb) {
                self.drive(node, nb, session::Event::News);
            }
        }
    }

    /// A link that has just come up (a village's window opens, a cut heals) starts a round.
    fn link_check(&mut self, child: usize) {
        let up = self.link_up(child);
        let was = std::mem::replace(&mut self.was_up[child], up);
        if up && !was {
            if let Some(parent) = self.nodes[child].parent {
                self.drive(child, parent, session::Event::Tick);
            }
        }
        if self.nodes[child].level == Level::Village {
            // The same window tomorrow.
            let at = self.now_ms + 86_400_000;
            self.at(at, Event::LinkCheck { child });
        }
    }

    /// A fault's link state may have changed: the hall's link is checked (and its session
    /// restarted when the link came up), and a crash ends the hall's sessions.
    fn fault_turn(&mut self, index: usize) {
        let node = self.faults[index].1;
        if self.crashed(node) {
            // Killed: its sessions and its neighbours' with it end, as connections drop.
            for nb in self.neighbours(node) {
                self.drive(node, nb, session::Event::Disconnected);
                self.drive(nb, node, session::Event::Disconnected);
            }
        }
        self.link_check(node);
        for child in self.children[node].clone() {
            self.link_check(child);
        }
    }

    /// Forged changes that became effective anywhere: must be 0.
    fn forged_effective(&self) -> u64 {
        self.forged
            .iter()
            .filter(|f| {
                self.nodes.iter().any(|n| {
                    n.replica
                        .record(&f.doc)
                        .is_some_and(|d| d.applied_envelopes().any(|e| e == *f))
                })
            })
            .count() as u64
    }

    /// A fault ended: the links come back, the invariants that hold at any time are checked, and
    /// convergence after it is timed from now.
    fn fault_end(&mut self, index: usize) {
        self.fault_turn(index);
        let forged_effective = self.forged_effective();
        if forged_effective > 0 {
            let report = &mut self.fault_reports[index];
            let line = format!(
                "at the end of {}: {forged_effective} forged change(s) effective",
                report.name
            );
            report.invariant_violations.push(line);
        }
        self.fault_settle(index);
    }

    /// True once the struck hall and its parent hold the same records of their shared scope (and
    /// so does each of its children with it); else looks again in a minute, until the run ends.
    fn fault_settle(&mut self, index: usize) {
        let node = self.faults[index].1;
        let end_ms = self.faults[index].0.end_s * 1000;
        if self.fault_reports[index].converged_after_s.is_some() {
            return;
        }
        let agrees = |a: usize, b: usize| {
            let (ra, rb) = (&self.nodes[a].replica, &self.nodes[b].replica);
            ra.shared_digest(&self.nodes[b].key.device_id())
                == rb.shared_digest(&self.nodes[a].key.device_id())
        };
        let pairs: Vec<(usize, usize)> = self.nodes[node]
            .parent
            .map(|p| (node, p))
            .into_iter()
            .chain(self.children[node].iter().map(|c| (*c, node)))
            .collect();
        if pairs.iter().all(|(a, b)| agrees(*a, *b)) {
            self.fault_reports[index].converged_after_s =
                Some(self.now_ms.saturating_sub(end_ms) as f64 / 1000.0);
            return;
        }
        self.at(
            self.now_ms + FAULT_SETTLE_EVERY_MS,
            Event::FaultSettle { index },
        );
    }

    fn tick(&mut self) {
        // Anti-entropy: every link that is up runs a round, whether or not anything is known to be new.
        for child in 0..self.nodes.len() {
            let Some(parent) = self.nodes[child].parent else {
                continue;
            };
            self.was_up[child] = self.link_up(child);
            if self.was_up[child] {
                self.drive(child, parent, session::Event::Tick);
            }
        }
        let next = self.now_ms + self.scenario.sync_interval_s * 1000;
        self.at(next, Event::Tick);
    }

    /// Villages online now take their side's next steps on the cases they are parties to.
    fn advance_cases(&mut self) {
        let w = &self.scenario.workload;
        if !w.case_lifecycle || self.now_ms / 1000 + w.quiet_tail_s / 2 >= self.scenario.duration_s
        {
            return;
        }
        for v in 0..self.nodes.len() {
            if self.nodes[v].level != Level::Village || !self.online(v) {
                continue;
            }
            let hall = self.nodes[v].hall.to_string();
            let cases = self.nodes[v].replica.cases(Some(self.now_ms as i64));
            for case in cases {
                self.erase_if_due(v, &case);
                let mut state = case.state;
                // A side may take several steps in a row (accept, then transfer).
                for _ in 0..3 {
                    let Some(next) = next_case_state(state) else {
                        break;
                    };
                    let ours = match hallsync_model::records::case::side_of(state, next) {
                        Some(hallsync_model::records::case::Side::Handling) => {
                            case.handling == hall
                        }
                        Some(_) => case.accepting == hall,
                        None => false,
                    };
                    let Ok(doc) = case.doc.parse::<DocId>() else {
                        break;
                    };
                    if !ours {
                        break;
                    }
                    let mut t = hallsync_model::records::case::Transition {
                        from: state,
                        to: next,
                        at_ms: self.now_ms as i64,
                        materials: Vec::new(),
                        // The decision's text, sealed to the parties as the node seals it.
                        note: if next == CaseState::Decided {
                            "准予办理 approved".into()
                        } else {
                            String::new()
                        },
                        supply_by: None,
                        mode: (next == CaseState::Issued).then(|| "window".to_string()),
                        sealed_note: None,
                    };
                    let signer = self.nodes[v].key.device_id();
                    let secrets = sim_case_secrets(&format!("{doc}#{}", t.at_ms));
                    let sealed = entry::case::seal_note(
                        &self.nodes[v].replica,
                        &doc,
                        &signer,
                        &mut t,
                        &secrets,
                    );
                    let Ok(part) = sealed else {
                        self.stats.entry_refused += 1;
                        break;
                    };
                    let part = part.as_slice();
                    self.stats.sealed_bytes += part.iter().map(|p| p.len() as u64).sum::<u64>();
                    if self.nodes[v].replica.keep_own_parts(part).is_err() {
                        break;
                    }
                    let key = t.key(&signer);
                    self.author(v, &doc, &[(key, ScalarValue::Str(t.to_value().into()))]);
                    state = next;
                }
            }
        }
    }

    /// Township administrators decide what their villages proposed, within minutes of holding it.
    fn approve(&mut self) {
        for t in 0..self.nodes.len() {
            if self.nodes[t].level != Level::Township {
                continue;
            }
            let me = self.nodes[t].key.device_id();
            for p in self.nodes[t].replica.pending_for(&me) {
                let approval = Approval {
                    decision: hallsync_model::Decision::Approve,
                    heads: p.heads.clone(),
                    reason: None,
                    at_ms: self.now_ms as i64,
                };
                let Ok(doc) = p.doc.parse::<DocId>() else {
                    continue;
                };
                if let hallsync_model::DocKind::Station(hall, code) = doc.kind() {
                    if let Some(v) = self.nodes.iter().position(|n| &n.hall == hall) {
                        if self.stationed_at.len() < STATIONED_AT_MAX {
                            self.stationed_at.push((v, code.clone()));
                        }
                    }
                }
                self.author(
                    t,
                    &doc,
                    &[(
                        approval.key(&me),
                        ScalarValue::Str(approval.to_value().into()),
                    )],
                );
            }
        }
        self.advance_cases();
        self.at(self.now_ms + APPROVE_EVERY_MS, Event::Approve);
    }

    /// D1: the accepting village erases an archived case's personal data once the scenario's
    /// retention has passed, through the node's entry rule.
    fn erase_if_due(&mut self, v: usize, case: &hallsync_model::cases::CaseView) {
        let due = case.archived_at.is_some_and(|at| {
            at.saturating_add((self.scenario.workload.case_retention_s * 1000) as i64)
                <= self.now_ms as i64
        });
        if !due || case.erased_at.is_some() || case.accepting != self.nodes[v].hall.as_str() {
            return;
        }
        let Ok(doc) = case.doc.parse::<DocId>() else {
            return;
        };
        let hall = self.nodes[v].hall.clone();
        match entry::case::erase(&self.nodes[v].replica, &doc, &hall, self.now_ms as i64) {
            Ok(writes) => {
                self.stats.cases_erased += 1;
                self.author(v, &doc, &writes);
            }
            Err(_) => self.stats.entry_refused += 1,
        }
    }

    /// Once work has stopped, looks for convergence every minute for an hour, then every ten.
    fn check(&mut self) {
        // Nothing applied anywhere since the last look: the answer cannot have changed.
        if std::mem::take(&mut self.applied_since_check) {
            self.check_converged();
        }
        let since = self.now_ms.saturating_sub(self.settle_from_ms());
        let every = if since < 3_600_000 { 60_000 } else { 600_000 };
        self.at(self.now_ms + every, Event::Check);
    }

    /// The moment from which convergence is timed: the last change, or the end of a cut if later.
    fn settle_from_ms(&self) -> u64 {
        let heal = self
            .scenario
            .availability
            .partition
            .as_ref()
            .map_or(0, |p| p.end_s * 1000)
            .min(self.scenario.duration_s * 1000);
        self.stats.last_change_ms.max(heal)
    }

    fn check_converged(&mut self) {
        // Only worth asking once work has stopped; before that a newer change is always on its way.
        if self.workload_open()
            || self
                .stats
                .converged_at_ms
                .is_some_and(|c| c >= self.stats.last_change_ms)
        {
            return;
        }
        if crate::report::converged(&self.nodes) {
            self.stats.converged_at_ms = Some(self.now_ms);
            self.stats.settled_from_ms = self.settle_from_ms();
        }
    }

    fn workload_open(&self) -> bool {
        self.now_ms / 1000 + self.scenario.workload.quiet_tail_s < self.scenario.duration_s
    }

    fn catalogue(&mut self) {
        let n = self.rng.below(u64::from(self.items) + 1) as u32;
        self.items = self.items.max(n + 1);
        let code = format!("4420{:05}000", n);
        let Ok(code) = ItemCode::new(&code) else {
            return;
        };
        // A complete guide and a citywide scope: the workload stations and takes in across
        // regions only what the entry rules accept (C4, K11).
        let days = 1 + self.rng.below(10) as i64;
        let item = ItemFields::example(
            code,
            &format!("事项{n}"),
            hallsync_model::records::item::ItemType::PublicService,
            "民政局",
            days,
        );
        self.author(0, &DocId::item(&item.code), &item.writes());
    }

    /// A village picked at random, once the catalogue has items (villages act on items).
    fn random_village(&mut self) -> Option<usize> {
        let villages: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].level == Level::Village)
            .collect();
        if villages.is_empty() || self.items == 0 {
            return None;
        }
        Some(villages[self.rng.below(villages.len() as u64) as usize])
    }

    fn propose(&mut self) {
        if let Some(v) = self.random_village() {
            self.propose_at(v);
        }
    }

    /// Village `v` proposes stationing a random item it holds.
    fn propose_at(&mut self, v: usize) {
        if self.items == 0 {
            return;
        }
        let n = self.rng.below(u64::from(self.items)) as u32;
        let Ok(code) = ItemCode::new(&format!("4420{:05}000", n)) else {
            return;
        };
        if !self.nodes[v].replica.holds(&DocId::item(&code)) {
            return;
        }
        self.propose_item(v, code);
    }

    /// Village `v` proposes stationing `code`, through the node's entry rules.
    fn propose_item(&mut self, v: usize, code: ItemCode) {
        self.proposals += 1;
        let proposal = StationProposal {
            hall: self.nodes[v].hall.clone(),
            item: code.clone(),
            action: StationAction::Station,
            note: Some(format!("proposal {}", self.proposals)),
            reason_kind: None,
            reason: None,
            basis: None,
            executed_at: None,
        };
        // The same entry rules the node's `station propose` runs.
        match entry::station::propose(&self.nodes[v].replica, proposal, self.now_ms as i64) {
            Ok(fields) => {
                let doc = DocId::station(&self.nodes[v].hall, &code);
                self.author(v, &doc, &fields.writes());
            }
            Err(_) => self.stats.entry_refused += 1,
        }
    }

    /// A village files a window staff member (or changes the window of one filed before); its
    /// township approves it like a stationing. Staff belong to a stationed department (ST 6.2.1):
    /// until the village's civil-affairs department is stationed, it proposes that instead.
    fn staff(&mut self) {
        let Some(v) = self.random_village() else {
            return;
        };
        let hall = self.nodes[v].hall.clone();
        let department = DepartmentFields {
            dept: SIM_DEPARTMENT.into(),
            name: "民政局".into(),
            plan: "进驻方案".into(),
            authorization_letter: "授权委托书".into(),
            filing: "进驻备案登记表".into(),
            ..Default::default()
        };
        let replica = &self.nodes[v].replica;
        if entry::staff::department_stationed(replica, &hall, SIM_DEPARTMENT).is_err() {
            let proposed = replica.holds(&DocId::department(&hall, SIM_DEPARTMENT));
            if !proposed {
                // The same entry rules the node's `dept station` runs (S7).
                match entry::department::file(replica, &hall, &department) {
                    Ok(writes) => {
                        self.author(v, &DocId::department(&hall, SIM_DEPARTMENT), &writes)
                    }
                    Err(_) => self.stats.entry_refused += 1,
                }
            }
            return;
        }
        let person = format!("P{}", self.rng.below(20));
        let fields = hallsync_model::records::staff::StaffFields {
            person: person.clone(),
            name: format!("工作人员 {person}"),
            department: SIM_DEPARTMENT.into(),
            window: format!("W{}", 1 + self.rng.below(6)),
            role: "window_staff".into(),
            ..Default::default()
        };
        let doc = DocId::staff(&hall, &person);
        // The same entry rules the node's `staff file` runs (P1, P2, S8, ST 6.2.1, ST 9.1).
        match entry::staff::file(&self.nodes[v].replica, &hall, &fields) {
            Ok(writes) => self.author(v, &doc, &writes),
            Err(_) => self.stats.entry_refused += 1,
        }
    }

    /// Replays a valid change to a random node: a duplicate there, or applied as any change would be.
    fn replay(&mut self) {
        if self.valid_log.is_empty() {
            return;
        }
        let change = self.valid_log[self.rng.below(self.valid_log.len() as u64) as usize].clone();
        // To a node that holds such records: elsewhere a change whose history never comes would
        // only wait, which says nothing about replays.
        let trust = self.nodes[0].replica.trust();
        let targets: Vec<usize> = (0..self.nodes.len())
            .filter(|i| {
                hallsync_model::sync::scope::in_scope(
                    trust,
                    &change.doc,
                    &self.nodes[*i].key.device_id(),
                )
            })
            .collect();
        if targets.is_empty() {
            return;
        }
        let target = targets[self.rng.below(targets.len() as u64) as usize];
        self.stats.replayed += 1;
        self.ingest(target, None, vec![change]);
    }

    /// A village key signs two versions of one stationing change (same actor, same sequence
    /// number) and hands one to its township and the other to the hall above that.
    fn equivocate(&mut self) {
        let Some(v) = self.random_village() else {
            return;
        };
        if self.revoked.contains_key(&v) {
            return;
        }
        let (Some(t), n) = (self.nodes[v].parent, self.rng.below(u64::from(self.items))) else {
            return;
        };
        let above = self.nodes[t].parent.unwrap_or(t);
        let Ok(code) = ItemCode::new(&format!("4420{n:05}000")) else {
            return;
        };
        let doc = DocId::station(&self.nodes[v].hall, &code);
        let key = self.nodes[v].key.clone();
        let mut versions = Vec::new();
        for note in ["A", "B"] {
            // A separate boot epoch, so the village's honest changes are not part of the pair.
            let mut fork = self.nodes[v].replica.clone();
            let fields = StationFields {
                hall: self.nodes[v].hall.clone(),
                item: code.clone(),
                action: StationAction::Station,
                proposed_at_ms: self.now_ms as i64,
                note: Some(format!("equivocation {note}")),
                reason_kind: None,
                reason: None,
                basis: None,
                executed_at: None,
            };
            // A boot epoch of its own per equivocation: the pair is the only use of that actor.
            let epoch = 1_000 + self.stats.equivocations as u32;
            if let Ok(env) = fork.author(&key, epoch, &doc, self.now_ms as i64, &fields.writes()) {
                versions.push(env);
            }
        }
        if let [a, b] = versions.as_slice() {
            self.stats.equivocations += 1;
            self.forged.extend([a.clone(), b.clone()]);
            self.ingest(t, None, vec![a.clone()]);
            self.ingest(above, None, vec![b.clone()]);
        }
    }

    /// Townships revoke `revoked_writers` random villages, keeping what each wrote before; the
    /// villages (stolen devices) keep writing every hour.
    fn revoke(&mut self) {
        use hallsync_model::records::trust_doc::revocation_key;
        use hallsync_model::trust::revocation::{Revocation, RevocationBody, RevocationTarget};
        let villages: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].level == Level::Village)
            .collect();
        for _ in 0..self.scenario.adversaries.revoked_writers {
            if villages.is_empty() {
                break;
            }
            let v = villages[self.rng.below(villages.len() as u64) as usize];
            let Some(t) = self.nodes[v].parent else {
                continue;
            };
            if self.revoked.contains_key(&v) {
                continue;
            }
            self.revoked.insert(v, self.nodes[v].replica.clone());
            let holder = self.nodes[v].key.device_id();
            let (keep_heads, keep_certs) = self.nodes[t].replica.keep_all_known(&holder);
            let township = self.nodes[t].key.clone();
            let Ok(revocation) = Revocation::sign(
                RevocationBody {
                    target: RevocationTarget::Device(holder),
                    reason: "设备遗失 device stolen".into(),
                    keep_heads,
                    keep_certs,
                    issuer: township.device_id(),
                    issued_at_ms: self.now_ms as i64,
                },
                &township,
            ) else {
                continue;
            };
            let puts = [(
                revocation_key(&revocation),
                ScalarValue::Bytes(revocation.to_bytes()),
            )];
            self.author(t, &DocId::trust(), &puts);
        }
        self.at(self.now_ms + 60_000, Event::RevokedWrite);
    }

    /// The stolen device of revoked village `v` proposes a stationing and hands it to the township,
    /// as the device would when it connects.
    fn stolen_write(&mut self, v: usize) {
        let (Some(t), n) = (
            self.nodes[v].parent,
            self.rng.below(u64::from(self.items.max(1))),
        ) else {
            return;
        };
        let Ok(code) = ItemCode::new(&format!("4420{n:05}000")) else {
            return;
        };
        let fields = StationFields {
            hall: self.nodes[v].hall.clone(),
            item: code.clone(),
            action: StationAction::Station,
            proposed_at_ms: self.now_ms as i64,
            note: Some("written after the revocation".into()),
            reason_kind: None,
            reason: None,
            basis: None,
            executed_at: None,
        };
        let key = self.nodes[v].key.clone();
        let doc = DocId::station(&self.nodes[v].hall, &code);
        let now = self.now_ms as i64;
        let Some(device) = self.revoked.get_mut(&v) else {
            return;
        };
        if let Ok(env) = device.author(&key, 0, &doc, now, &fields.writes()) {
            self.stats.revoked_writes += 1;
            self.forged.push(env.clone());
            self.ingest(t, Some(v), vec![env]);
        }
    }

    /// A village opens a case that another village, anywhere in the city, handles.
    fn case(&mut self) {
        let villages: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].level == Level::Village)
            .collect();
        if villages.len() < 2 || self.items == 0 {
            return;
        }
        let a = villages[self.rng.below(villages.len() as u64) as usize];
        // A handling village that stations an item the accepting village holds (as their own
        // replicas show), so the case is one the node would accept: a few random tries among the
        // villages known to have had a stationing approved.
        let mut found = None;
        for _ in 0..CASE_TRIES {
            if self.stationed_at.is_empty() {
                break;
            }
            let (h, code) =
                self.stationed_at[self.rng.below(self.stationed_at.len() as u64) as usize].clone();
            let handled = self.nodes[h]
                .replica
                .station(&self.nodes[h].hall, &code)
                .and_then(|s| s.effective_action)
                .is_some_and(StationAction::offers);
            if h != a && handled && self.nodes[a].replica.holds(&DocId::item(&code)) {
                found = Some((h, code));
                break;
            }
        }
        let Some((h, code)) = found else {
            self.stats.cases_skipped += 1;
            return;
        };
        self.cases += 1;
        let case_no = format!("SIM-{}", self.cases);
        let (accepting, handling) = (self.nodes[a].hall.clone(), self.nodes[h].hall.clone());
        let me = self.nodes[a].key.device_id();
        // The same entry rules the node's `case open` runs (K11, the applicant's id).
        let opened = entry::case::open(
            &self.nodes[a].replica,
            &me,
            &entry::case::CaseOpening {
                accepting: &accepting,
                handling: &handling,
                item: &code,
                case_no: &case_no,
                applicant_id: SIM_APPLICANT_ID,
                applicant_name: "张三",
            },
            &sim_case_secrets(&case_no),
        );
        match opened {
            Ok(opened) => {
                self.stats.sealed_bytes += opened.parts.iter().map(|p| p.len() as u64).sum::<u64>();
                if self.nodes[a].replica.keep_own_parts(&opened.parts).is_ok() {
                    self.author(a, &opened.doc, &opened.writes)
                }
            }
            Err(_) => self.stats.entry_refused += 1,
        }
    }

    fn forge(&mut self) {
        let target = self.rng.below(self.nodes.len() as u64) as usize;
        let stranger = DeviceKey::from_seed(self.rng.bytes32());
        let impersonate = self.rng.chance(0.5).then(|| self.nodes[0].key.device_id());
        if let Some(env) =
            crate::forge::forged_item_change(&stranger, self.now_ms as i64, impersonate)
        {
            self.forged.push(env.clone());
            self.ingest(target, None, vec![env]);
        }
    }

    /// A hostile peer sends random bytes; the decoder must refuse them (and nothing may panic).
    fn garbage(&mut self) {
        let bytes: Vec<u8> = if self.rng.below(8) == 0 {
            // Larger than any message may be: refused before it is read.
            vec![0; self.limits.message_bytes_max + 1]
        } else {
            let len = 1 + self.rng.below(512) as usize;
            (0..len).map(|_| self.rng.below(256) as u8).collect()
        };
        self.stats.messages += 1;
        if Message::from_bytes(&bytes, &self.limits).is_err() {
            self.stats.refused_garbage += 1;
        }
    }

    /// Runs to the end and reports.
    pub fn run(self) -> Report {
        self.run_keeping_nodes().0
    }

    /// Runs to the end and reports, and hands back the nodes for inspection (tests).
    pub fn run_keeping_nodes(mut self) -> (Report, Vec<Node>) {
        let end_ms = self.scenario.duration_s * 1000;
        while let Some(Reverse((time, _, event))) = self.queue.pop() {
            if time > end_ms {
                break;
            }
            self.now_ms = time;
            match event {
                Event::Tick => self.tick(),
                Event::Deliver {
                    to,
                    from,
                    bytes,
                    response,
                } => self.deliver(to, from, &bytes, response),
                Event::Wake { node, peer } => self.wake(node, peer),
                Event::LinkCheck { child } => self.link_check(child),
                Event::FaultTurn { index } => self.fault_turn(index),
                Event::FaultEnd { index } => self.fault_end(index),
                Event::FaultSettle { index } => self.fault_settle(index),
                Event::Approve => self.approve(),
                Event::Check => self.check(),
                Event::Revoke => self.revoke(),
                Event::RevokedWrite => {
                    if self.workload_open() {
                        let thieves: Vec<usize> = self.revoked.keys().copied().collect();
                        for v in thieves {
                            self.stolen_write(v);
                        }
                        self.at(self.now_ms + 3_600_000, Event::RevokedWrite);
                    }
                }
                Event::Catalogue
                | Event::Propose
                | Event::Case
                | Event::Staff
                | Event::Replay
                | Event::Equivocate
                | Event::Forge
                | Event::Garbage => {
                    let rate = match event {
                        Event::Catalogue => self.scenario.workload.catalogue_edits_per_h,
                        Event::Propose => self.scenario.workload.proposals_per_h,
                        Event::Case => self.scenario.workload.cases_per_h,
                        Event::Staff => self.scenario.workload.staff_changes_per_h,
                        Event::Replay => self.scenario.adversaries.replays_per_h,
                        Event::Equivocate => self.scenario.adversaries.equivocations_per_h,
                        Event::Forge => self.scenario.adversaries.forgeries_per_h,
                        _ => self.scenario.adversaries.garbage_per_h,
                    };
                    if self.workload_open() {
                        match event {
                            Event::Catalogue => self.catalogue(),
                            Event::Propose => self.propose(),
                            Event::Case => self.case(),
                            Event::Staff => self.staff(),
                            Event::Replay => self.replay(),
                            Event::Equivocate => self.equivocate(),
                            Event::Forge => self.forge(),
                            _ => self.garbage(),
                        }
                    }
                    if let Some(d) = hourly(rate, &mut self.rng) {
                        self.at(self.now_ms + d, event);
                    }
                }
            }
        }
        self.now_ms = end_ms;
        self.check_converged();
        let accepted_invalid = self.forged_effective();
        let tainted = self.forged.iter().map(|f| f.doc.clone()).collect();
        let mut report = Report::new(
            &self.scenario,
            &self.nodes,
            self.stats,
            accepted_invalid,
            &tainted,
        );
        for f in &self.fault_reports {
            report
                .invariant_violations
                .extend(f.invariant_violations.iter().cloned());
        }
        report.faults = self.fault_reports;
        (report, self.nodes)
    }
}

/// A simulated node as a session's host: what a peer sends is ingested and counted.
struct SimHost<'a> {
    sim: &'a mut Sim,
    node: usize,
}

impl Host for SimHost<'_> {
    fn replica(&self) -> &hallsync_model::Replica {
        &self.sim.nodes[self.node].replica
    }

    fn ingest(&mut self, changes: Vec<SignedChange>, parts: Vec<CarriedPart>) -> bool {
        self.sim.ingest_quietly(self.node, changes, parts)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_simulator_refuses_what_the_node_refuses() {
        // Goal (issue #11): the workload goes through the node's entry rules. A village that holds
        // an item whose guide is incomplete cannot propose stationing it (C4), in the simulator as
        // with `hallsync station propose`; nothing is authored and the refusal is counted.
        use super::*;
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.toml"))
                .unwrap();
        let mut sim = Sim::new(Scenario::from_toml(&text, "small").unwrap(), 1);
        let code = ItemCode::new("442000077000").unwrap();
        let bare = ItemFields::minimal(
            code.clone(),
            "缺指南".into(),
            hallsync_model::records::item::ItemType::PublicService,
            "民政局".into(),
            5,
        );
        let v = (0..sim.nodes.len())
            .find(|i| sim.nodes[*i].level == Level::Village)
            .unwrap();
        let key = sim.nodes[0].key.clone();
        let env = sim.nodes[0]
            .replica
            .author(&key, 0, &DocId::item(&code), 0, &bare.writes())
            .unwrap();
        sim.nodes[v].replica.ingest(vec![env]);
        assert!(sim.nodes[v].replica.holds(&DocId::item(&code)));
        let authored = sim.stats.changes_authored;
        sim.propose_item(v, code.clone());
        assert_eq!(sim.stats.entry_refused, 1);
        assert_eq!(sim.stats.changes_authored, authored, "nothing was authored");
        let proposal = StationProposal {
            hall: sim.nodes[v].hall.clone(),
            item: code,
            action: StationAction::Station,
            note: None,
            reason_kind: None,
            reason: None,
            basis: None,
            executed_at: None,
        };
        assert!(matches!(
            entry::station::propose(&sim.nodes[v].replica, proposal, 0),
            Err(entry::EntryError::GuideIncomplete { .. })
        ));
    }

    use super::*;

    const TINY: &str = r#"
        name = "tiny"
        duration_s = 43200
        sync_interval_s = 120
        [halls]
        districts = 1
        townships_per_parent = 1
        villages_per_township = 2
        [link]
        latency_ms = 40
        loss = 0.05
        [availability]
        village_online_h = 12.0
        [workload]
        catalogue_edits_per_h = 3.0
        proposals_per_h = 3.0
        quiet_tail_s = 28800
        [adversaries]
        forgeries_per_h = 2.0
        garbage_per_h = 2.0
    "#;

    fn run(seed: u64) -> String {
        let scenario = Scenario::from_toml(TINY, "tiny").unwrap();
        serde_json::to_string(&Sim::new(scenario, seed).run()).unwrap()
    }

    #[test]
    fn same_scenario_and_seed_give_a_byte_identical_report() {
        // Goal: a run replays exactly, so a failing seed can be investigated.
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8), "the seed matters");
    }

    #[test]
    fn a_small_federation_converges_and_refuses_every_forgery() {
        // Goal: the same replicas and protocol as the node converge under loss, intermittent villages,
        // forgers and garbage, with no forged change effective anywhere.
        let scenario = Scenario::from_toml(TINY, "tiny").unwrap();
        let report = Sim::new(scenario, 3).run();
        assert!(report.converged, "{report:?}");
        assert_eq!(report.accepted_invalid, 0);
        assert!(report.invariant_violations.is_empty(), "{report:?}");
        assert!(report.changes_authored > 0 && report.refused_garbage > 0);
    }

    #[test]
    fn cases_travel_only_between_their_parties_and_staff_filings_stay_with_their_hall() {
        // Goal: store and forward. A case opened by one village for a village of another township
        // reaches the handling village through the halls between them, and no village outside the
        // two parties ever holds it.
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.toml"))
                .unwrap();
        let (report, nodes) =
            Sim::new(Scenario::from_toml(&text, "small").unwrap(), 5).run_keeping_nodes();
        assert!(report.converged, "{report:?}");
        let mut crossing = 0;
        let cases: std::collections::BTreeSet<DocId> = nodes
            .iter()
            .flat_map(|n| {
                n.replica
                    .records()
                    .filter(|d| d.as_str().starts_with("case/"))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(!cases.is_empty(), "the workload opened cases");
        for doc in &cases {
            let parts: Vec<&str> = doc.as_str().split('/').collect();
            let (accepting, handling) = (parts[1], parts[2]);
            // A revoked village (the revoked-writer adversary) is sent nothing but the trust record.
            let member = |n: &Node| {
                hallsync_model::trust::membership::is_member(
                    nodes[0].replica.trust(),
                    &n.key.device_id(),
                )
            };
            let holds = |hall: &str| {
                nodes
                    .iter()
                    .find(|n| n.hall.as_str() == hall)
                    .is_some_and(|n| n.replica.holds(doc) || !member(n))
            };
            assert!(holds(accepting) && holds(handling), "{doc}");
            for n in nodes
                .iter()
                .filter(|n| n.level == Level::Village && member(n))
            {
                let party = n.hall.as_str() == accepting || n.hall.as_str() == handling;
                assert_eq!(n.replica.holds(doc), party, "{doc} at {}", n.hall);
            }
            // Villages of different townships: the case went up and down through their supervisors.
            if accepting[..accepting.len() - 2] != handling[..handling.len() - 2] {
                crossing += 1;
            }
        }
        assert!(crossing > 0, "some case crossed townships");
        // Staff filings stay with their hall and the halls above it, and townships approve them.
        let staff: Vec<&Node> = nodes
            .iter()
            .filter(|n| {
                n.replica
                    .records()
                    .any(|d| d.as_str().starts_with("staff/"))
            })
            .collect();
        assert!(
            staff.iter().any(|n| n.level == Level::Township),
            "filings reach townships"
        );
        for n in nodes.iter().filter(|n| n.level == Level::Village) {
            let own = format!("staff/{}/", n.hall);
            assert!(n
                .replica
                .records()
                .filter(|d| d.as_str().starts_with("staff/"))
                .all(|d| d.as_str().starts_with(&own)));
        }
        let township = nodes.iter().find(|n| n.level == Level::Township).unwrap();
        assert!(
            township
                .replica
                .pending_for(&township.key.device_id())
                .is_empty(),
            "the township decided every filing it holds"
        );
    }

    #[test]
    fn a_listed_tree_is_built_as_listed() {
        // Goal: halls can be listed one by one, with a town directly under the city beside a
        // district; bad lists are refused with the entry named.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/listed.toml"
        ))
        .unwrap();
        let scenario = Scenario::from_toml(&text, "listed").unwrap();
        let (nodes, _) = crate::world::build(&scenario, &mut crate::rng::Rng::new(1));
        assert_eq!(nodes.len(), 10);
        let by_id = |id: &str| nodes.iter().position(|n| n.hall.as_str() == id).unwrap();
        assert_eq!(nodes[by_id("SZ-TOWN")].parent, Some(by_id("SZ")));
        assert_eq!(nodes[by_id("SZ-TOWN")].level, Level::Township);
        assert_eq!(nodes[by_id("SZ-FT-2-A")].parent, Some(by_id("SZ-FT-2")));
        assert_eq!(nodes[by_id("SZ-FT-2-A")].district, Some(0));
        assert_eq!(nodes[by_id("SZ-TOWN-B")].district, None);
        for (list, expect) in [
            ("[{ id = \"V\", level = \"village\" }]", "the first hall is the city"),
            ("[{ id = \"C\", level = \"city\" }, { id = \"T\", level = \"township\", parent = \"X\" }]", "not listed before"),
            ("[{ id = \"C\", level = \"city\" }, { id = \"C\", level = \"district\", parent = \"C\" }]", "listed twice"),
        ] {
            let toml = format!("name = \"x\"\nduration_s = 10\n[halls]\nlist = {list}\n");
            let err = Scenario::from_toml(&toml, "t").unwrap_err().to_string();
            assert!(err.contains(expect), "{err}");
        }
    }

    #[test]
    fn bad_scenarios_are_refused_with_the_key_named() {
        let err = Scenario::from_toml("name = \"x\"\nduration_s = 10\n[halls]\ndistricts = 1\ntownships_per_parent = 1\nvillages_per_township = 1\n[link]\nloss = 2.0\n", "t").unwrap_err();
        assert!(err.to_string().contains("link.loss"), "{err}");
        let err = Scenario::from_toml("name = \"x\"\nduraton_s = 10\n", "t").unwrap_err();
        assert!(err.to_string().contains("duraton_s"), "{err}");
    }

    #[test]
    fn the_faults_scenario_converges_and_reports_each_fault() {
        // Goal (issue #12): any number of overlapping faults — a flapping link, a one-way cut, a
        // crash and restart, a clock ahead — run, the federation converges, invariants hold at
        // every fault's end, and the report says how long each fault's hall took to catch up.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/faults.toml"
        ))
        .unwrap();
        let report = Sim::new(Scenario::from_toml(&text, "faults").unwrap(), 1).run();
        assert!(report.converged, "{:?}", report.lagging);
        assert!(
            report.invariant_violations.is_empty(),
            "{:?}",
            report.invariant_violations
        );
        assert_eq!(report.faults.len(), 5);
        for f in &report.faults {
            assert!(f.converged_after_s.is_some(), "{f:?}");
        }
    }

    #[test]
    fn a_fault_on_a_hall_the_tree_lacks_is_refused_by_name() {
        let text = "name = \"x\"\nduration_s = 100\n[halls]\ndistricts = 1\n[[fault]]\nkind = \"cut\"\nhall = \"D9\"\nstart_s = 1\nend_s = 2\n";
        let err = Sim::try_new(Scenario::from_toml(text, "t").unwrap(), 1)
            .err()
            .unwrap();
        assert!(err.message.contains("D9"), "{}", err.message);
        let bad = "name = \"x\"\nduration_s = 100\n[halls]\ndistricts = 1\n[[fault]]\nkind = \"one_way\"\nhall = \"C\"\nstart_s = 1\nend_s = 2\n";
        let err = Scenario::from_toml(bad, "t").unwrap_err();
        assert!(err.to_string().contains("direction"), "{err}");
    }
}
