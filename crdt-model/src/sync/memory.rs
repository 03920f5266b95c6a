//! A round between two replicas in one process, every step encoded and decoded as on the wire.
//!
//! The simulator moves steps through its virtual network itself; this is for tests and
//! benchmarks that want one round between two peers and its cost, and it drives the very same
//! functions a node does.

use crate::identity::DeviceId;
use crate::replica::Replica;
use crate::sync::peer_state::PeerState;
use crate::sync::protocol::STEPS_MAX;
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

fn decode(bytes: &[u8], limits: &WireLimits, cost: &mut RoundCost) -> Result<Message, WireError> {
    cost.bytes += bytes.len();
    Message::from_bytes(bytes, limits)
}

/// Runs one round opened by `opener`.
///
/// # Errors
/// [`WireError`] when a step does not decode (never for honest replicas).
pub fn round(
    opener: Side<'_>,
    answerer: Side<'_>,
    limits: &WireLimits,
) -> Result<RoundCost, WireError> {
    let mut cost = RoundCost::default();
    let opening = opener
        .replica
        .sync_open(&answerer.device, opener.state, limits);
    let mut request = Message::Step(opening).to_bytes();
    for _ in 0..STEPS_MAX {
        let Message::Step(step) = decode(&request, limits, &mut cost)? else {
            cost.refused = true;
            break;
        };
        cost.more |= step.more;
        cost.changes_to_answerer += step.changes.iter().map(|c| c.wire_len()).sum::<usize>();
        answerer.replica.ingest(step.changes.clone());
        let answer = answerer
            .replica
            .sync_answer(&step, &opener.device, answerer.state, limits);
        let Message::Step(reply) = decode(&answer.to_bytes(), limits, &mut cost)? else {
            cost.round_trips += 1;
            cost.refused = true;
            break;
        };
        cost.round_trips += 1;
        cost.more |= reply.more;
        cost.changes_to_opener += reply.changes.iter().map(|c| c.wire_len()).sum::<usize>();
        opener.replica.ingest(reply.changes.clone());
        match opener
            .replica
            .sync_answer(&reply, &answerer.device, opener.state, limits)
        {
            Message::Step(next) if !next.is_empty() => {
                cost.more |= next.more;
                request = Message::Step(next).to_bytes();
            }
            Message::Step(next) => {
                cost.more |= next.more;
                break;
            }
            Message::Refused { .. } => {
                cost.refused = true;
                break;
            }
        }
    }
    Ok(cost)
}
