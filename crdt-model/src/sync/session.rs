//! A sync session with one peer: the rounds around the protocol's steps, as one state machine that
//! the node and the simulator both drive.
//!
//! In the manner of quinn-proto's `Connection` and iroh-gossip's `handle`, a [`Session`] does no
//! IO and reads no clock: it takes events ([`Event`]) with the time they happen at, and leaves what
//! to do as data — messages to send or answer with ([`Output`]), and when to be woken
//! ([`Session::wake_at`]). What it owns:
//!
//! ```text
//! admission   the peer must be a device this node knows (or one admitted on a presented chain)
//!             and speak this network's tag, or it gets a refusal and nothing it sent is ingested
//! rounds      one round at a time; a round ends on an empty step, after STEPS_MAX steps, on a
//!             refusal, on a failed request, or when no answer came within the round timeout
//! chaining    a round cut short by a bound (`more`) or overtaken by news (`again`) is followed by
//!             another at once, at most `chained_rounds_max` times; then the next tick goes on
//! push        news here (a local change, changes applied from another peer) opens a round after
//!             `push_delay_ms`, or marks the running round to be followed by another
//! retries     a failed or timed-out round is opened again after `retry_ms`
//! ```
//!
//! Changes a peer sends are handed to the caller's [`Host::ingest`] (the node stores them, the
//! simulator counts them), after the checks above and before the answer is computed, so the answer
//! reflects them.

use std::collections::VecDeque;

use crate::change::envelope::SignedChange;
use crate::identity::DeviceId;
use crate::replica::parts::CarriedPart;
use crate::replica::Replica;
use crate::sync::peer_state::PeerState;
use crate::sync::protocol::{network_tag, STEPS_MAX};
use crate::sync::wire::{Message, Step, WireLimits};

/// How a session paces its rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Bounds on every message sent and received.
    pub limits: WireLimits,
    /// A round with no answer for this long has failed.
    pub round_timeout_ms: u64,
    /// Rounds opened at once, one after another, because the last was cut short or overtaken by
    /// news; past it the next tick goes on (a peer that sets `more` on every step gets no more).
    pub chained_rounds_max: u32,
    /// Wait between news and the round that pushes it (news arriving meanwhile joins it).
    pub push_delay_ms: u64,
    /// Wait before a failed round is opened again.
    pub retry_ms: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            limits: WireLimits::default(),
            round_timeout_ms: 30_000,
            chained_rounds_max: 8,
            push_delay_ms: 0,
            retry_ms: 1_000,
        }
    }
}

/// What happened, for the session to handle.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// Anti-entropy: run a round unless one runs (the node's sync interval, a link coming up).
    Tick,
    /// Something new is held here: push it.
    News,
    /// The peer's step, to be answered with [`Output::Respond`].
    Request(&'a [u8]),
    /// The peer's answer to the step this session sent.
    Response(&'a [u8]),
    /// The step this session sent was lost: no answer will come.
    RequestFailed,
    /// The time [`Session::wake_at`] asked for has come.
    Timer,
    /// The peer went away.
    Disconnected,
}

/// What the caller does for the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes to the peer as a request (a step of a round this session opened).
    Send(Vec<u8>),
    /// Answer the request just handled with these bytes.
    Respond(Vec<u8>),
    /// The peer state changed in a way worth keeping: store [`Session::peer_state`].
    SaveState,
}

/// What the session needs of the node it runs in.
pub trait Host {
    /// The replica sync reads.
    fn replica(&self) -> &Replica;
    /// Takes in changes the peer sent, then the sealed parts that came with them (see
    /// [`Replica::settle_parts`]); returns true when any change was applied (news for the other
    /// peers: the caller tells their sessions).
    fn ingest(&mut self, changes: Vec<SignedChange>, parts: Vec<CarriedPart>) -> bool;
}

/// What a session knows of its exchanges with the peer, for operators (`peer list`, metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Rounds this session opened that ended with the peer's last answer.
    pub rounds_completed: u64,
    /// Rounds that failed (no answer in time, the request lost) or were refused.
    pub rounds_failed: u64,
    /// When the last round ended, on the session's clock.
    pub last_completed_ms: Option<u64>,
    /// Changes sent to the peer in the last completed round: what it lacked from this node.
    pub last_round_sent: usize,
    /// Changes taken from the peer in the last completed round: what this node lacked.
    pub last_round_received: usize,
    /// The last completed round ended with nothing sent either way and nothing cut short: the two
    /// nodes held the same records of their shared scope then.
    pub in_sync: bool,
    /// A bound cut the last completed round short: another follows (a first sync or a long
    /// catch-up in progress).
    pub catching_up: bool,
    /// Changes sent to the peer since the session began.
    pub changes_sent: u64,
    /// Changes received from the peer since the session began.
    pub changes_received: u64,
}

/// What one handled event amounted to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handled {
    /// Changes from the peer were applied.
    pub applied: bool,
    /// The peer was refused (not a member, another network, a malformed step).
    pub refused: bool,
}

#[derive(Clone, Copy, Debug)]
struct Round {
    /// Steps sent so far.
    steps: usize,
    /// A step said a bound cut it short.
    more: bool,
    /// News arrived meanwhile.
    again: bool,
    /// When it has failed if no answer came.
    deadline: u64,
    /// Changes sent in this round's steps.
    sent: usize,
    /// Changes taken from the peer's answers.
    received: usize,
}

/// The session with one peer.
#[derive(Debug)]
pub struct Session {
    peer: DeviceId,
    state: PeerState,
    config: SessionConfig,
    round: Option<Round>,
    /// Rounds opened one after another without a tick or news in between.
    chained: u32,
    /// A round to open at this time (a push or a retry).
    open_at: Option<u64>,
    /// Admitted on a certificate chain it presented (not yet in this node's trust record).
    presented: bool,
    outputs: VecDeque<Output>,
    /// Rounds opened, for counters.
    rounds_opened: u64,
    stats: SessionStats,
}

impl Session {
    /// A session with `peer`, starting from what was last known of it.
    pub fn new(peer: DeviceId, state: PeerState, config: SessionConfig) -> Self {
        Session {
            peer,
            state,
            config,
            round: None,
            chained: 0,
            open_at: None,
            presented: false,
            outputs: VecDeque::new(),
            rounds_opened: 0,
            stats: SessionStats::default(),
        }
    }

    /// What the session knows of its exchanges with the peer.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// The peer's device.
    pub fn peer(&self) -> &DeviceId {
        &self.peer
    }

    /// What is known of the peer's records, to store.
    pub fn peer_state(&self) -> &PeerState {
        &self.state
    }

    /// Ends the session, keeping what is known of the peer.
    pub fn into_peer_state(self) -> PeerState {
        self.state
    }

    /// True while a round this session opened is under way.
    pub fn in_round(&self) -> bool {
        self.round.is_some()
    }

    /// Rounds opened so far.
    pub fn rounds_opened(&self) -> u64 {
        self.rounds_opened
    }

    /// The peer proved membership with a certificate chain this node checked, though its
    /// certificate has not reached this node's trust record yet.
    pub fn admit_presented(&mut self) {
        self.presented = true;
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to deliver [`Event::Timer`]: the round's deadline or the next scheduled open.
    pub fn wake_at(&self) -> Option<u64> {
        let deadline = self.round.map(|r| r.deadline);
        match (deadline, self.open_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Handles `event` at `now_ms`.
    pub fn handle(&mut self, host: &mut dyn Host, now_ms: u64, event: Event<'_>) -> Handled {
        match event {
            Event::Tick => {
                if self.round.is_none() {
                    self.chained = 0;
                    self.open(host, now_ms);
                }
                Handled::default()
            }
            Event::News => {
                match self.round.as_mut() {
                    Some(round) => round.again = true,
                    None => {
                        let at = now_ms + self.config.push_delay_ms;
                        self.open_at = Some(self.open_at.map_or(at, |t| t.min(at)));
                    }
                }
                if self.config.push_delay_ms == 0 && self.round.is_none() {
                    self.chained = 0;
                    self.open(host, now_ms);
                }
                Handled::default()
            }
            Event::Timer => {
                if self.round.is_some_and(|r| r.deadline <= now_ms) {
                    // No answer in time: the round failed; try again after the retry wait.
                    self.fail(now_ms);
                }
                if self.round.is_none() && self.open_at.is_some_and(|t| t <= now_ms) {
                    self.open(host, now_ms);
                }
                Handled::default()
            }
            Event::RequestFailed => {
                if self.round.is_some() {
                    self.fail(now_ms);
                }
                Handled::default()
            }
            Event::Disconnected => {
                self.round = None;
                self.open_at = None;
                self.chained = 0;
                self.outputs.push_back(Output::SaveState);
                Handled::default()
            }
            Event::Request(bytes) => self.answer(host, bytes),
            Event::Response(bytes) => self.on_response(host, now_ms, bytes),
        }
    }

    /// A round ended without an answer: what it had to do is done by a round after the retry
    /// wait (or the next tick, past the chain bound).
    fn fail(&mut self, now_ms: u64) {
        self.round = None;
        self.stats.rounds_failed += 1;
        if self.chained < self.config.chained_rounds_max {
            self.chained += 1;
            let at = now_ms + self.config.retry_ms;
            self.open_at = Some(self.open_at.map_or(at, |t| t.min(at)));
        }
    }

    fn open(&mut self, host: &mut dyn Host, now_ms: u64) {
        self.open_at = None;
        let replica = host.replica();
        if !self.admitted(replica) {
            return;
        }
        let step = replica.sync_open(&self.peer, &mut self.state, &self.config.limits);
        self.rounds_opened += 1;
        self.stats.changes_sent += step.changes.len() as u64;
        self.round = Some(Round {
            steps: 1,
            more: false,
            again: false,
            deadline: now_ms + self.config.round_timeout_ms,
            sent: step.changes.len(),
            received: 0,
        });
        self.outputs
            .push_back(Output::Send(Message::Step(step).to_bytes()));
    }

    /// True when the peer may sync: a device this node knows (a member, or a revoked one, which
    /// the scope rule gives the trust record alone), or one admitted on a presented chain.
    fn admitted(&self, replica: &Replica) -> bool {
        self.presented
            || replica.trust().is_known(&self.peer)
            || replica.trust().genesis().key == self.peer
    }

    /// Checks a step from the peer before anything of it is ingested: membership, then the
    /// network tag. The refusal to send back, if any.
    fn check(&self, replica: &Replica, step: &Step) -> Option<Message> {
        if !self.admitted(replica) {
            return Some(Message::Refused {
                reason: "not a member of this network (不是本网络成员)".into(),
            });
        }
        let network = network_tag(&replica.trust().genesis().network_id().0);
        (step.network != network).then(|| Message::Refused {
            reason: format!(
                "this node is in network {}; the peer is not",
                replica.trust().genesis().network_id()
            ),
        })
    }

    fn answer(&mut self, host: &mut dyn Host, bytes: &[u8]) -> Handled {
        let mut handled = Handled::default();
        let step = match Message::from_bytes(bytes, &self.config.limits) {
            Ok(Message::Step(step)) => step,
            Ok(Message::Refused { .. }) => {
                handled.refused = true;
                self.respond(Message::Refused {
                    reason: "a refusal is not a request".into(),
                });
                return handled;
            }
            Err(e) => {
                handled.refused = true;
                self.respond(Message::Refused {
                    reason: e.to_string(),
                });
                return handled;
            }
        };
        match self.take(host, &step) {
            Ok((applied, answer)) => {
                handled.applied = applied;
                self.respond(answer);
            }
            Err(refusal) => {
                handled.refused = true;
                self.respond(*refusal);
            }
        }
        handled
    }

    /// Takes in a step from the peer: checks it, hands its changes to the host, and computes the
    /// answer. `Err` with the refusal when the check fails: nothing was ingested.
    fn take(&mut self, host: &mut dyn Host, step: &Step) -> Result<(bool, Message), Box<Message>> {
        if let Some(refusal) = self.check(host.replica(), step) {
            return Err(Box::new(refusal));
        }
        self.stats.changes_received += step.changes.len() as u64;
        let applied = (!step.changes.is_empty() || !step.parts.is_empty())
            && host.ingest(step.changes.clone(), step.parts.clone());
        let answer =
            host.replica()
                .sync_answer(step, &self.peer, &mut self.state, &self.config.limits);
        if let Message::Step(out) = &answer {
            self.stats.changes_sent += out.changes.len() as u64;
        }
        Ok((applied, answer))
    }

    fn respond(&mut self, message: Message) {
        self.outputs.push_back(Output::Respond(message.to_bytes()));
    }

    fn on_response(&mut self, host: &mut dyn Host, now_ms: u64, bytes: &[u8]) -> Handled {
        let mut handled = Handled::default();
        if self.round.is_none() {
            // An answer to a round that already ended (timed out): nothing waits for it.
            return handled;
        }
        let step = match Message::from_bytes(bytes, &self.config.limits) {
            Ok(Message::Step(step)) => step,
            Ok(Message::Refused { .. }) | Err(_) => {
                // Refused, or unreadable: this round is over, and so are chained ones.
                handled.refused = true;
                self.round = None;
                self.stats.rounds_failed += 1;
                self.outputs.push_back(Output::SaveState);
                return handled;
            }
        };
        let answer = match self.take(host, &step) {
            Ok((applied, answer)) => {
                handled.applied = applied;
                answer
            }
            Err(_) => {
                handled.refused = true;
                self.round = None;
                self.stats.rounds_failed += 1;
                return handled;
            }
        };
        let Some(round) = self.round.as_mut() else {
            return handled;
        };
        round.more |= step.more;
        round.received += step.changes.len();
        match answer {
            Message::Step(next) if !next.is_empty() && round.steps < STEPS_MAX => {
                round.steps += 1;
                round.more |= next.more;
                round.sent += next.changes.len();
                round.deadline = now_ms + self.config.round_timeout_ms;
                self.outputs
                    .push_back(Output::Send(Message::Step(next).to_bytes()));
            }
            Message::Step(next) => {
                round.more |= next.more;
                self.finish(host, now_ms);
            }
            Message::Refused { .. } => self.finish(host, now_ms),
        }
        handled
    }

    /// The round ended: keep the peer state, and chain another round if one is due.
    fn finish(&mut self, host: &mut dyn Host, now_ms: u64) {
        let Some(round) = self.round.take() else {
            return;
        };
        self.stats.rounds_completed += 1;
        self.stats.last_completed_ms = Some(now_ms);
        self.stats.last_round_sent = round.sent;
        self.stats.last_round_received = round.received;
        self.stats.in_sync = round.sent == 0 && round.received == 0 && !round.more;
        self.stats.catching_up = round.more;
        self.outputs.push_back(Output::SaveState);
        if round.more || round.again || self.open_at.is_some_and(|t| t <= now_ms) {
            if self.chained < self.config.chained_rounds_max {
                self.chained += 1;
                self.open(host, now_ms);
            } else {
                // Past the chain bound: the next tick goes on.
                self.open_at = None;
            }
        }
    }
}
