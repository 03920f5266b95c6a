//! Wire messages and their codec.
//!
//! ```text
//! frame   = u32 big-endian length ‖ postcard(Message)     (framing is the driver's; see node::codec)
//! Message = Step { network, ranges, have, want, changes, held, fetch, more, parts, need }
//!         | Refused { reason }
//! Range   = Split { lo, hi, parts: [(count, fingerprint)] } | List { lo, hi, items: [(record, heads)] }
//! ```
//!
//! The same message goes both ways: a round is a conversation of steps, each answering the last
//! (see [`crate::sync`]). The decoder enforces every bound before anything else looks at the
//! message, so a peer cannot make this node buffer or compute without limit.

use serde::{Deserialize, Serialize};

use crate::change::envelope::SignedChange;
use crate::doc_id::DocId;
use crate::replica::parts::{CarriedPart, PartId, PART_BYTES_MAX};

/// Default largest message, in bytes: one step never makes a peer buffer more than this.
pub const MESSAGE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Default most changes in one message: bounds the verification work one message can cause.
pub const CHANGES_PER_MESSAGE_MAX: usize = 10_000;

/// Most records named in one message (list items and `have` entries together).
pub const DOCS_PER_MESSAGE_MAX: usize = 200_000;

/// Most heads given for one record: honest documents have a handful.
pub const HEADS_PER_DOC_MAX: usize = 256;

/// Most history samples given for one record (see [`DocHave::samples`]).
pub const SAMPLES_PER_DOC_MAX: usize = 512;

/// Most prefixes of held but unapplied changes in one message (see [`Step::held`]).
pub const HELD_PER_MESSAGE_MAX: usize = 4_096;

/// Most sealed parts carried in one message (see [`Step::parts`]).
pub const CARRIED_PARTS_PER_MESSAGE_MAX: usize = 4_096;

/// Most sealed parts asked for in one message (see [`Step::need`]).
pub const NEEDS_PER_MESSAGE_MAX: usize = 1_024;

/// A sealed part this node lacks: the record that names it and its address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeededPart {
    /// The case record naming it (a peer answers only for records it shares with the asker).
    pub doc: DocId,
    /// Its address.
    pub id: PartId,
}

/// Most parts one range is split into.
pub const PARTS_MAX: usize = 128;

/// Most ranges in one message.
pub const RANGES_PER_MESSAGE_MAX: usize = 65_536;

/// Bytes of a fingerprint: 64 bits make a chance collision between honest sets negligible, and a
/// peer that forges one only hides its own records from itself.
pub type Fingerprint = [u8; 8];

/// The fingerprint and size of one part of a split range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Records in the part, on the sender's side.
    pub count: u32,
    /// Digest of the part's (record, heads digest) pairs.
    pub fingerprint: Fingerprint,
}

/// A listed record: its key and the first 8 bytes of each of its heads. Prefixes are enough to
/// recognise changes the receiver holds (a false match needs a second preimage of 64 bits), and
/// make a listing a quarter of the size of full ids and heads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The record's key (see [`crate::sync::ranges::key_of`]), big-endian.
    pub key: [u8; 8],
    /// Prefixes of its heads.
    pub heads: Vec<[u8; 8]>,
}

/// "I hold this of the record and lack something of yours": the receiver sends what the sender
/// lacks, and its own `DocHave` if it lacks something too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHave {
    /// The record.
    pub doc: DocId,
    /// The sender's heads; empty when it holds nothing of the record.
    pub heads: Vec<[u8; 32]>,
    /// First 8 bytes of changes the sender holds, every one of the newest and then ever sparser
    /// (each about 10 % further back): the receiver finds the common past from these, so what it
    /// sends again that the sender already held is at most about a tenth of what was missing.
    pub samples: Vec<[u8; 8]>,
}

/// One piece of range reconciliation over the record-id key space (see [`crate::sync::ranges`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Range {
    /// The range `[lo, hi]` cut into `parts.len()` parts of equal width, each with its fingerprint.
    Split {
        /// Lowest key, inclusive.
        lo: u64,
        /// Highest key, inclusive.
        hi: u64,
        /// The parts in key order.
        parts: Vec<Part>,
    },
    /// Every record the sender shares with the receiver in `[lo, hi]`, with its heads.
    List {
        /// Lowest key, inclusive.
        lo: u64,
        /// Highest key, inclusive.
        hi: u64,
        /// The records in key order.
        items: Vec<Listed>,
    },
}

impl Range {
    /// True for an opening step's range: the whole key space as one part.
    pub fn is_opening(&self) -> bool {
        matches!(self, Range::Split { lo: 0, hi: u64::MAX, parts } if parts.len() == 1)
    }

    fn bounds(&self) -> (u64, u64) {
        match self {
            Range::Split { lo, hi, .. } | Range::List { lo, hi, .. } => (*lo, *hi),
        }
    }
}

/// One step of a round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// First 8 bytes of SHA-256 of the sender's network id: peers of different networks never
    /// exchange records.
    pub network: [u8; 8],
    /// Ranges still to reconcile.
    pub ranges: Vec<Range>,
    /// Records where the sender lacks something of the receiver's.
    pub have: Vec<DocHave>,
    /// Keys of listed records the sender holds nothing of: the receiver sends them whole.
    pub want: Vec<[u8; 8]>,
    /// Changes the receiver lacks.
    pub changes: Vec<SignedChange>,
    /// First 8 bytes of changes the sender holds but has not applied (in quarantine, e.g. waiting
    /// for history that shows a revocation kept them): the receiver does not send these again, so
    /// a bound on a message can never pin a round on changes the sender already has.
    pub held: Vec<[u8; 8]>,
    /// Prefixes from the receiver's `held` that the sender holds nothing of: the receiver sends
    /// those changes, so a change waiting for history at its only holder still reaches the node
    /// that holds the rest of that history.
    pub fetch: Vec<[u8; 8]>,
    /// True when a bound cut this step short: the round should be followed by another.
    pub more: bool,
    /// Sealed parts named by the records whose changes this step carries, or asked for in the
    /// peer's `need` (see [`crate::case_parts`]).
    pub parts: Vec<CarriedPart>,
    /// Sealed parts the sender lacks, named by records it holds.
    pub need: Vec<NeededPart>,
}

impl Step {
    /// True when the step asks nothing and carries nothing: the round is over.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
            && self.have.is_empty()
            && self.want.is_empty()
            && self.fetch.is_empty()
            && self.changes.is_empty()
            && self.parts.is_empty()
    }
}

/// What goes over the wire, either way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// A step of a round.
    Step(Step),
    /// The peer will not sync (another network, or a malformed message).
    Refused {
        /// Why.
        reason: String,
    },
}

/// Limits a decoder enforces; from config `limits.*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireLimits {
    /// Largest message in bytes.
    pub message_bytes_max: usize,
    /// Most changes in one message.
    pub changes_per_message_max: usize,
}

impl Default for WireLimits {
    fn default() -> Self {
        WireLimits {
            message_bytes_max: MESSAGE_BYTES_MAX,
            changes_per_message_max: CHANGES_PER_MESSAGE_MAX,
        }
    }
}

/// A message that could not be decoded or breaks a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message is larger than the limit.
    #[error(
        "message is {bytes} bytes; at most {bytes_max} are accepted (limits.message_bytes_max)"
    )]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        bytes_max: usize,
    },
    /// A count in the message is over its limit.
    #[error("message carries {count} {what}; at most {max} are accepted")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a message.
    #[error("malformed message: {reason}")]
    Malformed {
        /// The decoder's message.
        reason: String,
    },
}

fn at_most(what: &'static str, count: usize, max: usize) -> Result<(), WireError> {
    if count > max {
        return Err(WireError::TooMany { what, count, max });
    }
    Ok(())
}

fn check_step(step: &Step, limits: &WireLimits) -> Result<(), WireError> {
    at_most(
        "changes",
        step.changes.len(),
        limits.changes_per_message_max,
    )?;
    at_most("ranges", step.ranges.len(), RANGES_PER_MESSAGE_MAX)?;
    at_most("held changes", step.held.len(), HELD_PER_MESSAGE_MAX)?;
    at_most("fetched changes", step.fetch.len(), HELD_PER_MESSAGE_MAX)?;
    at_most(
        "sealed parts",
        step.parts.len(),
        CARRIED_PARTS_PER_MESSAGE_MAX,
    )?;
    at_most("needed parts", step.need.len(), NEEDS_PER_MESSAGE_MAX)?;
    if let Some(part) = step.parts.iter().find(|p| p.bytes.len() > PART_BYTES_MAX) {
        return Err(WireError::TooMany {
            what: "bytes in one sealed part",
            count: part.bytes.len(),
            max: PART_BYTES_MAX,
        });
    }
    let mut docs = step.have.len() + step.want.len();
    for range in &step.ranges {
        let (lo, hi) = range.bounds();
        if lo > hi {
            return Err(WireError::Malformed {
                reason: format!("range [{lo}, {hi}] ends before it starts"),
            });
        }
        match range {
            Range::Split { parts, .. } => {
                at_most("parts in one range", parts.len(), PARTS_MAX)?;
                if parts.is_empty() {
                    return Err(WireError::Malformed {
                        reason: "a split range has no parts".into(),
                    });
                }
            }
            Range::List { items, .. } => {
                docs += items.len();
                for item in items {
                    at_most("heads for one record", item.heads.len(), HEADS_PER_DOC_MAX)?;
                }
            }
        }
    }
    at_most("records", docs, DOCS_PER_MESSAGE_MAX)?;
    for have in &step.have {
        at_most("heads for one record", have.heads.len(), HEADS_PER_DOC_MAX)?;
        at_most(
            "samples for one record",
            have.samples.len(),
            SAMPLES_PER_DOC_MAX,
        )?;
    }
    Ok(())
}

impl Message {
    /// Encodes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Messages are plain data (strings, byte arrays, vectors): encoding into a Vec cannot fail.
        crate::encoding::postcard_bytes(self)
    }

    /// Decodes bytes from a peer, enforcing `limits`.
    ///
    /// # Errors
    /// [`WireError`] for oversized, over-count or malformed input.
    pub fn from_bytes(bytes: &[u8], limits: &WireLimits) -> Result<Self, WireError> {
        if bytes.len() > limits.message_bytes_max {
            return Err(WireError::TooLarge {
                bytes: bytes.len(),
                bytes_max: limits.message_bytes_max,
            });
        }
        let message: Message = postcard::from_bytes(bytes).map_err(|e| WireError::Malformed {
            reason: e.to_string(),
        })?;
        match &message {
            Message::Step(step) => check_step(step, limits)?,
            Message::Refused { reason } if reason.len() > 4096 => {
                return Err(WireError::Malformed {
                    reason: "refusal reason over 4096 bytes".into(),
                })
            }
            Message::Refused { .. } => {}
        }
        Ok(message)
    }
}
