//! Wire messages and their codec.
//!
//! ```text
//! frame   = u32 big-endian length ‖ postcard(Message)     (framing is the driver's; see node::codec)
//! Message = Request(Offer | Push) | Response(OfferReply | PushReply | Refused)
//! ```

use serde::{Deserialize, Serialize};

use crate::change::envelope::SignedChange;
use crate::records::DocId;
use crate::trust::genesis::NetworkId;

/// Default largest message, in bytes: one round never makes a peer buffer more than this.
pub const MESSAGE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Default most changes in one message: bounds the verification work one message can cause.
pub const CHANGES_PER_MESSAGE_MAX: usize = 10_000;

/// Most records named in one message (offers and head lists).
pub const DOCS_PER_MESSAGE_MAX: usize = 200_000;

/// Most heads given for one record: honest documents have a handful.
pub const HEADS_PER_DOC_MAX: usize = 256;

/// Buckets in a `Buckets` message.
pub const BUCKETS: usize = 256;

/// The bucket of a record: the first byte of the SHA-256 of its id, so buckets are even whatever the ids.
pub fn bucket_of(doc: &DocId) -> u8 {
    use sha2::{Digest, Sha256};
    Sha256::digest(doc.as_str().as_bytes())[0]
}

/// A record and the digest of its heads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocDigest {
    /// The record.
    pub doc: DocId,
    /// First 16 bytes of SHA-256 over its sorted heads.
    #[serde(with = "serde_bytes")]
    pub digest: [u8; 16],
}

/// A record and its heads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeads {
    /// The record.
    pub doc: DocId,
    /// Its heads (automerge change hashes); empty when the sender holds nothing of it.
    pub heads: Vec<[u8; 32]>,
}

/// What a peer asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Starts a round: the records the sender holds.
    Offer {
        /// The sender's network: peers of different networks never exchange records.
        network: NetworkId,
        /// One digest over every (record, heads digest) both sides may hold: equal digests, equal data.
        #[serde(with = "serde_bytes")]
        set_digest: [u8; 16],
        /// True when `docs` is left out: the receiver compares `set_digest` and asks for the list only
        /// if it differs.
        summary_only: bool,
        /// Every record the sender replicates that the receiver may hold (empty when `summary_only`).
        docs: Vec<DocDigest>,
        /// When not empty, `docs` lists only the records in these buckets (see [`bucket_of`]); records
        /// in other buckets are known to be in sync.
        #[serde(with = "serde_bytes")]
        only_buckets: Vec<u8>,
    },
    /// Fingerprints of the shared records split into 256 buckets by record id: the receiver answers
    /// with the buckets that differ, so only those need listing.
    Buckets {
        /// 256 fingerprints, bucket 0 first.
        fingerprints: Vec<[u8; 16]>,
    },
    /// Second step: changes for the receiver, and the sender's heads of records that differ.
    Push {
        /// Changes the receiver lacks.
        changes: Vec<SignedChange>,
        /// The sender's heads, so the receiver can send back what the sender lacks.
        heads: Vec<DocHeads>,
    },
}

/// What a peer answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Answer to an offer.
    OfferReply {
        /// Heads of records that differ (empty heads: the receiver has none of it).
        want: Vec<DocHeads>,
        /// All changes of records the offerer lacks entirely.
        changes: Vec<SignedChange>,
        /// True when a bound cut `changes` short: start another round.
        more: bool,
    },
    /// Answer to a push.
    PushReply {
        /// Changes the pusher lacks.
        changes: Vec<SignedChange>,
        /// True when a bound cut `changes` short.
        more: bool,
    },
    /// Answer to a summary offer whose digest matches: nothing to exchange.
    InSync,
    /// Answer to a summary offer whose digest differs: send the full offer.
    NeedList,
    /// Answer to `Buckets`: the buckets whose fingerprints differ.
    DifferingBuckets {
        /// Bucket numbers.
        #[serde(with = "serde_bytes")]
        buckets: Vec<u8>,
    },
    /// The peer will not sync (another network, or a malformed request).
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

fn check_counts(
    changes: usize,
    docs: usize,
    heads: &[DocHeads],
    limits: &WireLimits,
) -> Result<(), WireError> {
    if changes > limits.changes_per_message_max {
        return Err(WireError::TooMany {
            what: "changes",
            count: changes,
            max: limits.changes_per_message_max,
        });
    }
    if docs > DOCS_PER_MESSAGE_MAX {
        return Err(WireError::TooMany {
            what: "records",
            count: docs,
            max: DOCS_PER_MESSAGE_MAX,
        });
    }
    if let Some(h) = heads.iter().find(|h| h.heads.len() > HEADS_PER_DOC_MAX) {
        return Err(WireError::TooMany {
            what: "heads for one record",
            count: h.heads.len(),
            max: HEADS_PER_DOC_MAX,
        });
    }
    Ok(())
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], limits: &WireLimits) -> Result<T, WireError> {
    if bytes.len() > limits.message_bytes_max {
        return Err(WireError::TooLarge {
            bytes: bytes.len(),
            bytes_max: limits.message_bytes_max,
        });
    }
    postcard::from_bytes(bytes).map_err(|e| WireError::Malformed {
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // Messages are plain data (strings, byte arrays, vectors): encoding into a Vec cannot fail.
    postcard::to_stdvec(message).unwrap_or_default()
}

impl Request {
    /// Encodes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes bytes from a peer, enforcing `limits`.
    ///
    /// # Errors
    /// [`WireError`] for oversized, over-count or malformed input.
    pub fn from_bytes(bytes: &[u8], limits: &WireLimits) -> Result<Self, WireError> {
        let message: Request = decode(bytes, limits)?;
        match &message {
            Request::Offer { docs, .. } => check_counts(0, docs.len(), &[], limits)?,
            Request::Buckets { fingerprints } if fingerprints.len() != BUCKETS => {
                return Err(WireError::TooMany {
                    what: "bucket fingerprints",
                    count: fingerprints.len(),
                    max: BUCKETS,
                })
            }
            Request::Buckets { .. } => {}
            Request::Push { changes, heads } => {
                check_counts(changes.len(), heads.len(), heads, limits)?
            }
        }
        Ok(message)
    }
}

impl Response {
    /// Encodes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes bytes from a peer, enforcing `limits`.
    ///
    /// # Errors
    /// [`WireError`] for oversized, over-count or malformed input.
    pub fn from_bytes(bytes: &[u8], limits: &WireLimits) -> Result<Self, WireError> {
        let message: Response = decode(bytes, limits)?;
        match &message {
            Response::OfferReply { want, changes, .. } => {
                check_counts(changes.len(), want.len(), want, limits)?
            }
            Response::PushReply { changes, .. } => check_counts(changes.len(), 0, &[], limits)?,
            Response::Refused { reason } if reason.len() > 4096 => {
                return Err(WireError::Malformed {
                    reason: "refusal reason over 4096 bytes".into(),
                })
            }
            Response::Refused { .. }
            | Response::InSync
            | Response::NeedList
            | Response::DifferingBuckets { .. } => {}
        }
        Ok(message)
    }
}
