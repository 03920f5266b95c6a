//! Device keys and device ids.
//!
//! A device id is the node's ed25519 public key in a readable encoding, as Syncthing does: base32 of the
//! 32 key bytes followed by a 4-character check, in groups of seven so a person can read it over the
//! phone. The same key is the libp2p identity and the automerge actor, so one id names the device
//! everywhere.

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::IdentityError;

/// Length in bytes of an automerge actor id: the 32-byte device key followed by a 4-byte boot epoch.
///
/// The epoch gives every boot (and every restore from a backup) a fresh actor, so a device restored
/// from an old copy never reuses a sequence number it already signed.
pub const ACTOR_BYTES: usize = 36;

/// The public half of a device key: who signed a change or holds a certificate.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeviceId(pub [u8; 32]);

impl DeviceId {
    /// The verifying key behind this id.
    ///
    /// # Errors
    /// [`IdentityError::NotAKey`] when the bytes are not a point on the curve (a forged or corrupt id).
    pub fn verifying_key(&self) -> Result<VerifyingKey, IdentityError> {
        VerifyingKey::from_bytes(&self.0).map_err(|_| IdentityError::NotAKey)
    }

    /// Checks `signature` over `message` with this key; false for any failure, including a bad key.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        match self.verifying_key() {
            Ok(key) => key
                .verify(message, &Signature::from_bytes(signature))
                .is_ok(),
            Err(_) => false,
        }
    }

    /// A short hex prefix for logs and record keys; not unique enough to identify a device alone.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }

    /// The automerge actor for this device in boot epoch `epoch`.
    pub fn actor(&self, epoch: u32) -> automerge::ActorId {
        let mut bytes = Vec::with_capacity(ACTOR_BYTES);
        bytes.extend_from_slice(&self.0);
        bytes.extend_from_slice(&epoch.to_be_bytes());
        automerge::ActorId::from(bytes)
    }

    /// True when `actor` belongs to this device (any epoch): the binding checked on every change.
    pub fn owns_actor(&self, actor: &automerge::ActorId) -> bool {
        let bytes = actor.to_bytes();
        bytes.len() == ACTOR_BYTES && bytes[..32] == self.0
    }

    fn check(&self) -> String {
        let digest = Sha256::digest(self.0);
        BASE32_NOPAD.encode(&digest[..3])[..4].to_string()
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut plain = BASE32_NOPAD.encode(&self.0);
        plain.push_str(&self.check());
        let groups: Vec<&str> = plain
            .as_bytes()
            .chunks(7)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        f.write_str(&groups.join("-"))
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.short())
    }
}

impl FromStr for DeviceId {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let plain: String = text
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !plain.is_ascii() || plain.len() != 56 {
            return Err(IdentityError::BadDeviceId {
                text: text.to_string(),
                reason: format!(
                    "expected 56 base32 characters, found {}",
                    plain.chars().count()
                ),
            });
        }
        let bytes = BASE32_NOPAD.decode(&plain.as_bytes()[..52]).map_err(|e| {
            IdentityError::BadDeviceId {
                text: text.to_string(),
                reason: format!("not base32: {e}"),
            }
        })?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| IdentityError::BadDeviceId {
            text: text.to_string(),
            reason: "wrong key length".into(),
        })?;
        let id = DeviceId(key);
        if id.check().as_bytes() != &plain.as_bytes()[52..] {
            return Err(IdentityError::BadDeviceId {
                text: text.to_string(),
                reason: "check characters do not match: a character was mistyped".into(),
            });
        }
        id.verifying_key()?;
        Ok(id)
    }
}

/// A device's signing key. Created from 32 random bytes that the caller supplies, because this crate
/// never reads an RNG.
#[derive(Clone)]
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    /// The key whose secret is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        DeviceKey(SigningKey::from_bytes(&seed))
    }

    /// The secret bytes, for writing the key file (mode 0600) and nothing else.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public id of this key.
    pub fn device_id(&self) -> DeviceId {
        DeviceId(self.0.verifying_key().to_bytes())
    }

    /// Signs `message`; ed25519 signing is deterministic, so no randomness is needed.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey({})", self.device_id().short())
    }
}

/// Builds a signed message: a domain tag, then each part with its length, so that no two different
/// lists of parts ever sign the same bytes.
pub(crate) fn signing_bytes(domain: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + parts.iter().map(|p| p.len() + 4).sum::<usize>());
    out.extend_from_slice(domain.as_bytes());
    out.push(0);
    for part in parts {
        // Parts are bounded by the message size limit, far below u32::MAX.
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_id_round_trips_through_text() {
        let key = DeviceKey::from_seed([7; 32]);
        let id = key.device_id();
        let text = id.to_string();
        assert_eq!(text.len(), 56 + 7);
        assert_eq!(text.parse::<DeviceId>().unwrap(), id);
        assert_eq!(text.to_lowercase().parse::<DeviceId>().unwrap(), id);
    }

    #[test]
    fn mistyped_device_id_is_caught_by_the_check() {
        let text = DeviceKey::from_seed([7; 32]).device_id().to_string();
        let mut chars: Vec<char> = text.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let bad: String = chars.into_iter().collect();
        assert!(bad.parse::<DeviceId>().is_err());
        assert!("short".parse::<DeviceId>().is_err());
        // Multibyte input of the right byte length must be refused, not sliced mid-character.
        assert!("设".repeat(18).parse::<DeviceId>().is_err());
        assert!(format!("{}设", &text[..53]).parse::<DeviceId>().is_err());
    }

    #[test]
    fn signatures_verify_only_for_the_signed_bytes() {
        let key = DeviceKey::from_seed([1; 32]);
        let sig = key.sign(b"hello");
        assert!(key.device_id().verify(b"hello", &sig));
        assert!(!key.device_id().verify(b"hellp", &sig));
        assert!(!DeviceKey::from_seed([2; 32])
            .device_id()
            .verify(b"hello", &sig));
    }

    #[test]
    fn actor_is_bound_to_the_key() {
        let id = DeviceKey::from_seed([3; 32]).device_id();
        let other = DeviceKey::from_seed([4; 32]).device_id();
        assert!(id.owns_actor(&id.actor(0)));
        assert!(id.owns_actor(&id.actor(9)));
        assert!(!other.owns_actor(&id.actor(0)));
    }

    #[test]
    fn signing_bytes_separate_parts() {
        assert_ne!(
            signing_bytes("d", &[b"ab", b"c"]),
            signing_bytes("d", &[b"a", b"bc"])
        );
    }
}
