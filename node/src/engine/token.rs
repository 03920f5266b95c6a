//! Invitation tokens: what an administrator hands a new device to join.
//!
//! ```text
//! token = "HSI1." ‖ base64url(postcard(Invitation))
//! Invitation { genesis: [u8; 32], chain: [Certificate] (holder's first, root last), addrs: [multiaddr] }
//! ```
//! The token needs no signature of its own: every certificate in it is signed and must chain to the
//! genesis key, which the joining operator checks against the network id the administrator tells
//! them (as with Syncthing device ids, the out-of-band check is the root of trust).

use data_encoding::BASE64URL_NOPAD;
use hallsync_model::{Certificate, DeviceId};
use serde::{Deserialize, Serialize};

use crate::error::NodeError;

const PREFIX: &str = "HSI1.";

/// Longest token accepted, in characters: a chain is a few certificates.
pub const TOKEN_CHARS_MAX: usize = 64 * 1024;

/// The content of an invitation token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The network's genesis key.
    pub genesis: DeviceId,
    /// The invitee's certificate first, then its issuer's, up to the root.
    pub chain: Vec<Certificate>,
    /// Where the inviting node listens (libp2p multiaddrs with `/p2p/`).
    pub addrs: Vec<String>,
}

impl Invitation {
    /// The token text.
    pub fn encode(&self) -> String {
        // Plain data always encodes.
        let bytes = postcard::to_stdvec(self).unwrap_or_default();
        format!("{PREFIX}{}", BASE64URL_NOPAD.encode(&bytes))
    }

    /// Parses a token.
    ///
    /// # Errors
    /// [`NodeError::BadToken`] for anything that is not a token.
    pub fn decode(text: &str) -> Result<Self, NodeError> {
        let text = text.trim();
        if text.len() > TOKEN_CHARS_MAX {
            return Err(NodeError::BadToken {
                reason: format!("{} characters; at most {TOKEN_CHARS_MAX}", text.len()),
            });
        }
        let body = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| NodeError::BadToken {
                reason: format!("it does not start with {PREFIX}; copy the whole token"),
            })?;
        let bytes = BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|e| NodeError::BadToken {
                reason: format!("not base64url: {e}"),
            })?;
        postcard::from_bytes(&bytes).map_err(|e| NodeError::BadToken {
            reason: format!("does not decode: {e}"),
        })
    }
}
