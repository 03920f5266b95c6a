//! The admission exchange: the first thing said on a connection, before any sync.
//!
//! ```text
//! Admission = Hello { chain } | Welcome { chain } | Refused { reason }
//! ```
//! The dialling side sends `Hello` with its certificate chains; the listening side answers
//! `Welcome` with its own when [`crate::trust::membership::admit`] accepts the dialler, or `Refused`
//! otherwise. The refusal says only that the peer is not a member: it names no network, hall or
//! device, so a stranger learns nothing. The listener speaks second, so a stranger that dials learns
//! nothing of the network but the refusal; a node dials only addresses it was given or learned from
//! admitted peers.

use serde::{Deserialize, Serialize};

use crate::sync::wire::WireError;
use crate::trust::cert::Certificate;
use crate::trust::membership::PRESENTED_CERTS_MAX;

/// Largest admission message, in bytes: a few chains of certificates. The node reads no more from a
/// stranger.
pub const ADMISSION_BYTES_MAX: usize = 64 * 1024;

/// Longest refusal reason, in bytes.
const REASON_BYTES_MAX: usize = 512;

/// One admission message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Admission {
    /// "I am one of you; here are my certificates."
    Hello {
        /// The sender's certificate chains (its own certificates first, each chain root last).
        chain: Vec<Certificate>,
    },
    /// "So am I; here are mine."
    Welcome {
        /// The answering side's certificate chains.
        chain: Vec<Certificate>,
    },
    /// "You are not a member of this network."
    Refused {
        /// For the refused side's log; says nothing about this network.
        reason: String,
    },
}

impl Admission {
    /// The one refusal a stranger gets.
    pub fn refused() -> Self {
        Admission::Refused {
            reason: "not a member of this network (不是本网络成员)".into(),
        }
    }

    /// Encodes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain data: encoding into a Vec cannot fail.
        crate::encoding::postcard_bytes(self)
    }

    /// Decodes bytes from a peer, enforcing the bounds.
    ///
    /// # Errors
    /// [`WireError`] for oversized, over-count or malformed input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        if bytes.len() > ADMISSION_BYTES_MAX {
            return Err(WireError::TooLarge {
                bytes: bytes.len(),
                bytes_max: ADMISSION_BYTES_MAX,
            });
        }
        let message: Admission = postcard::from_bytes(bytes).map_err(|e| WireError::Malformed {
            reason: e.to_string(),
        })?;
        match &message {
            Admission::Hello { chain } | Admission::Welcome { chain }
                if chain.len() > PRESENTED_CERTS_MAX =>
            {
                Err(WireError::Malformed {
                    reason: format!(
                        "{} certificates presented; at most {PRESENTED_CERTS_MAX}",
                        chain.len()
                    ),
                })
            }
            Admission::Refused { reason } if reason.len() > REASON_BYTES_MAX => {
                Err(WireError::Malformed {
                    reason: format!("refusal reason over {REASON_BYTES_MAX} bytes"),
                })
            }
            _ => Ok(message),
        }
    }
}
