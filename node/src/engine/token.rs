//! Invitation tokens: what an administrator hands a new device to join.
//!
//! ```text
//! token  = "HSI2." ‖ base64url(postcard(Signed))
//! Signed = { invitation: Invitation, signature: [u8; 64] }
//! Invitation { genesis: [u8; 32], chain: [Certificate] (holder's first, root last), addrs: [multiaddr] }
//! signature = ed25519 by the invitee certificate's issuer over "hallsync/invitation/v1" 0x00 ‖
//!             postcard(Invitation)
//! ```
//! Every certificate in the chain is signed and must chain to the genesis key, which the joining
//! operator checks against the network id the administrator tells them (as with Syncthing device
//! ids, the out-of-band check is the root of trust). The whole token is signed too, addresses
//! included, so an address changed in transit cannot send the new node to someone else: one
//! changed character anywhere is refused (the encoding must be the one canonical encoding of what
//! it decodes to, so no change slips through as a different spelling of the same token).

use data_encoding::BASE64URL_NOPAD;
use hallsync_model::{Certificate, DeviceId, DeviceKey};
use serde::{Deserialize, Serialize};

use crate::error::NodeError;

const PREFIX: &str = "HSI2.";

/// The prefix of tokens made before tokens were signed.
const UNSIGNED_PREFIX: &str = "HSI1.";

const DOMAIN: &[u8] = b"hallsync/invitation/v1\0";

#[derive(Serialize, Deserialize)]
struct Signed {
    invitation: Invitation,
    #[serde(with = "serde_bytes_64")]
    signature: [u8; 64],
}

/// serde for a 64-byte array (serde derives arrays up to 32).
mod serde_bytes_64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let bytes: Vec<u8> = Vec::deserialize(d)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a signature is 64 bytes"))
    }
}

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
    fn signed_bytes(&self) -> Vec<u8> {
        // Plain data always encodes.
        [DOMAIN, &hallsync_model::encoding::postcard_bytes(self)].concat()
    }

    /// The device whose signature the token must carry: the issuer of the invitee's certificate.
    fn signer(&self) -> Option<DeviceId> {
        self.chain.first().map(|c| c.body.issuer)
    }

    /// The token text, signed with `key` (the inviter, which issued the invitee's certificate).
    pub fn encode(&self, key: &DeviceKey) -> String {
        let signed = Signed {
            invitation: self.clone(),
            signature: key.sign(&self.signed_bytes()),
        };
        // Plain data always encodes.
        let bytes = hallsync_model::encoding::postcard_bytes(&signed);
        format!("{PREFIX}{}", BASE64URL_NOPAD.encode(&bytes))
    }

    /// Parses a token and checks its signature.
    ///
    /// # Errors
    /// [`NodeError::BadToken`] for anything that is not a whole token signed by its inviter.
    pub fn decode(text: &str) -> Result<Self, NodeError> {
        let bad = |reason: String| NodeError::BadToken { reason };
        let text = text.trim();
        if text.len() > TOKEN_CHARS_MAX {
            return Err(bad(format!(
                "{} characters; at most {TOKEN_CHARS_MAX}",
                text.len()
            )));
        }
        if text.starts_with(UNSIGNED_PREFIX) {
            return Err(bad(
                "it was made by an older hallsync and is not signed; ask the administrator for a new one".into(),
            ));
        }
        let body = text.strip_prefix(PREFIX).ok_or_else(|| {
            bad(format!(
                "it does not start with {PREFIX}; copy the whole token"
            ))
        })?;
        let bytes = BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|e| bad(format!("not base64url: {e}; copy the whole token")))?;
        let signed: Signed = postcard::from_bytes(&bytes)
            .map_err(|e| bad(format!("does not decode: {e}; copy the whole token")))?;
        let changed = || {
            bad("its signature does not match its content: it was changed or cut; copy the whole token again, or ask for a new one".into())
        };
        if postcard::to_stdvec(&signed).ok().as_deref() != Some(bytes.as_slice()) {
            return Err(changed());
        }
        let invitation = signed.invitation;
        let signer = invitation
            .signer()
            .ok_or_else(|| bad("it holds no certificate".into()))?;
        if !signer.verify(&invitation.signed_bytes(), &signed.signature) {
            return Err(changed());
        }
        Ok(invitation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallsync_model::{CertBody, Level, Role};

    fn token() -> (Invitation, String) {
        let city = DeviceKey::from_seed([1; 32]);
        let village = DeviceKey::from_seed([2; 32]);
        let body = CertBody {
            holder: village.device_id(),
            hall: hallsync_model::HallId::new("440305001001").unwrap(),
            hall_name: "某村".into(),
            level: Level::Village,
            parent: Some(hallsync_model::HallId::new("440305001").unwrap()),
            role: Role::Operator,
            scope: hallsync_model::trust::cert::Scope::for_role(Role::Operator),
            valid_from_ms: 0,
            valid_until_ms: None,
            successor_of: None,
            issuer: city.device_id(),
            issued_at_ms: 1,
        };
        let invitation = Invitation {
            genesis: city.device_id(),
            chain: vec![Certificate::sign(body, &city).unwrap()],
            addrs: vec![
                "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
                    .into(),
            ],
        };
        let text = invitation.encode(&city);
        (invitation, text)
    }

    #[test]
    fn a_token_round_trips_and_one_changed_character_anywhere_is_refused() {
        let (invitation, text) = token();
        assert_eq!(Invitation::decode(&text).unwrap(), invitation);
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut refused = 0;
        for (at, c) in text.char_indices() {
            // Every other character of the alphabet, at every position.
            for other in alphabet.chars().filter(|o| *o != c).step_by(7) {
                let mut changed = text.clone();
                changed.replace_range(at..at + c.len_utf8(), &other.to_string());
                assert!(
                    Invitation::decode(&changed).is_err(),
                    "a change at {at} ({c} → {other}) was accepted"
                );
                refused += 1;
            }
        }
        assert!(refused > 1000, "{refused}");
        // Cut short, or signed by a key other than the issuer's.
        assert!(Invitation::decode(&text[..text.len() - 1]).is_err());
        let forged = invitation.encode(&DeviceKey::from_seed([9; 32]));
        assert!(Invitation::decode(&forged).is_err());
        assert!(Invitation::decode(&text.replacen("HSI2.", "HSI1.", 1))
            .unwrap_err()
            .to_string()
            .contains("older hallsync"));
    }
}
