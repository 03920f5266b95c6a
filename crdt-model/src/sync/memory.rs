//! A round between two replicas in one process, every step encoded and decoded as on the wire: a
//! two-party harness over the same [`Session`]s the node and the simulator run, for tests and
//! benchmarks that want one round between two peers and its cost.

use crate::change::envelope::SignedChange;
use crate::identity::DeviceId;
use crate::replica::parts::CarriedPart;
use crate::replica::Replica;
use crate::sync::peer_state::PeerState;
use crate::sync::protocol::STEPS_MAX;
use crate::sync::session::{Event, Host, Output, Session, SessionConfig};
use crate::sync::wire::{Message, WireError, WireLimits};

/// One side of an in-memory round.
pub struct Side<'a> {
    /// Its replica.
    pub replica: &'a mut Replica,
    /// Its device, as the other side sees it.
    pub device: DeviceId,
    /// What it knows of the other side.
    pub state: &'a mut PeerState,
}

/// What a round cost and moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundCost {
    /// Request/response exchanges.
    pub round_trips: usize,
    /// Bytes of every message, both ways.
    pub bytes: usize,
    /// Bytes of signed changes carried to the opening side, as encoded.
    pub changes_to_opener: usize,
    /// Bytes of signed changes carried to the answering side, as encoded.
    pub changes_to_answerer: usize,
    /// A bound cut a step short: run another round.
    pub more: bool,
    /// The other side refused.
    pub refused: bool,
}

fn decode(bytes: &[u8], limits: &WireLimits) -> Result<Message, WireError> {
    Message::from_bytes(bytes, limits)
}

/// A replica as a session's host: what it ingests is applied at once.
struct Plain<'a>(&'a mut Replica);

impl Host for Plain<'_> {
    fn replica(&self) -> &Replica {
        self.0
    }

    fn ingest(&mut self, changes: Vec<SignedChange>, parts: Vec<CarriedPart>) -> bool {
        let report = self.0.ingest(changes);
        self.0.settle_parts(&report.applied, parts);
        !report.applied.is_empty()
    }
}

/// Runs one round opened by `opener`, over the same [`Session`]s a node runs (no chained round:
/// `more` says whether one is due).
///
/// # Errors
/// [`WireError`] when a step does not decode (never for honest replicas).
pub fn round(
    opener: Side<'_>,
    answerer: Side<'_>,
    limits: &WireLimits,
) -> Result<RoundCost, WireError> {
    let config = SessionConfig {
        limits: *limits,
        chained_rounds_max: 0,
        ..SessionConfig::default()
    };
    let mut cost = RoundCost::default();
    let mut a = Session::new(answerer.device, std::mem::take(opener.state), config);
    let mut b = Session::new(opener.device, std::mem::take(answerer.state), config);
    let (mut ha, mut hb) = (Plain(opener.replica), Plain(answerer.replica));
    a.handle(&mut ha, 0, Event::Tick);
    let mut outcome = Ok(());
    for _ in 0..STEPS_MAX {
        let Some(Output::Send(request)) = next_message(&mut a) else {
            break;
        };
        cost.bytes += request.len();
        match decode(&request, limits) {
            Ok(Message::Step(step)) => {
                cost.more |= step.more;
                cost.changes_to_answerer +=
                    step.changes.iter().map(|c| c.wire_len()).sum::<usize>();
            }
            Ok(Message::Refused { .. }) => {}
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
        b.handle(&mut hb, 0, Event::Request(&request));
        let Some(Output::Respond(answer)) = next_message(&mut b) else {
            break;
        };
        cost.bytes += answer.len();
        cost.round_trips += 1;
        match decode(&answer, limits) {
            Ok(Message::Step(reply)) => {
                cost.more |= reply.more;
                cost.changes_to_opener += reply.changes.iter().map(|c| c.wire_len()).sum::<usize>();
            }
            Ok(Message::Refused { .. }) => cost.refused = true,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
        a.handle(&mut ha, 0, Event::Response(&answer));
    }
    *opener.state = a.into_peer_state();
    *answerer.state = b.into_peer_state();
    outcome.map(|()| cost)
}

/// The next message a session wants sent, skipping requests to store its state.
fn next_message(session: &mut Session) -> Option<Output> {
    while let Some(output) = session.poll_output() {
        if !matches!(output, Output::SaveState) {
            return Some(output);
        }
    }
    None
}
