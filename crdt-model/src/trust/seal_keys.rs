//! Devices' sealing keys (X25519), announced in the trust record (issue #14; see DESIGN.md
//! "Sealing keys" for why an announcement beside the certificate rather than a field in it).
//!
//! An announcement is signed by the device whose key it is, so nobody else can put a key in its
//! name; any certified member may publish it in the trust record (a node publishes its own; an
//! issuer may publish its new members' with their certificates, in one change). A device that
//! rotates its signing key announces a new sealing key under its new id; one whose certificates are
//! revoked is no longer sealed to, because recipients are read from the standing certificates of a
//! hall.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::TrustError;
use crate::identity::DeviceId;
use crate::seal::SealKey;

/// Prefix of sealing-key announcements in the trust record: `seal/<device>/<key id>`.
pub const SEAL_PREFIX: &str = "seal/";

/// Most sealing keys kept per device (rotations are rare; the newest count).
pub const SEAL_KEYS_PER_DEVICE_MAX: usize = 16;

/// The signature domain of announcements.
const SEAL_DOMAIN: &str = "hallsync/seal-key/v1";

/// A device's signed statement of its sealing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealAnnouncement {
    /// The device.
    pub device: DeviceId,
    /// Its X25519 public key.
    pub key: SealKey,
    /// When the device says it made the key, ms since the Unix epoch: the newest is current.
    pub at_ms: i64,
    /// The device's signature over the three fields above.
    #[serde(with = "serde_bytes")]
    pub signature: [u8; 64],
}

impl SealAnnouncement {
    fn signed_bytes(device: &DeviceId, key: &SealKey, at_ms: i64) -> Vec<u8> {
        crate::identity::signing_bytes(
            SEAL_DOMAIN,
            &[device.to_string().as_bytes(), &key.0, &at_ms.to_be_bytes()],
        )
    }

    /// `device`'s announcement of `key`, made at `at_ms`.
    pub fn sign(device: &crate::identity::DeviceKey, key: SealKey, at_ms: i64) -> Self {
        let id = device.device_id();
        SealAnnouncement {
            device: id,
            key,
            at_ms,
            signature: device.sign(&Self::signed_bytes(&id, &key, at_ms)),
        }
    }

    /// True when the device signed it.
    pub fn signature_ok(&self) -> bool {
        self.device.verify(
            &Self::signed_bytes(&self.device, &self.key, self.at_ms),
            &self.signature,
        )
    }

    /// The trust-record key it is stored under.
    pub fn record_key(&self) -> String {
        format!("{SEAL_PREFIX}{}/{}", self.device, self.key.id())
    }

    /// The stored bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::encoding::postcard_bytes(self)
    }

    /// Decodes stored or received bytes.
    ///
    /// # Errors
    /// [`TrustError::Encoding`] for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TrustError> {
        postcard::from_bytes(bytes).map_err(|e| TrustError::Encoding {
            what: "sealing-key announcement",
            reason: e.to_string(),
        })
    }
}

/// Every device's announced sealing keys, newest last.
#[derive(Clone, Debug, Default)]
pub struct SealKeys {
    by_device: BTreeMap<DeviceId, BTreeMap<(i64, SealKey), ()>>,
}

impl SealKeys {
    /// Adds announcements (already judged: written by their device), keeping the newest
    /// [`SEAL_KEYS_PER_DEVICE_MAX`] per device.
    pub fn add(&mut self, announcements: impl IntoIterator<Item = SealAnnouncement>) {
        for a in announcements
            .into_iter()
            .filter(SealAnnouncement::signature_ok)
        {
            let keys = self.by_device.entry(a.device).or_default();
            keys.insert((a.at_ms, a.key), ());
            while keys.len() > SEAL_KEYS_PER_DEVICE_MAX {
                keys.pop_first();
            }
        }
    }

    /// The device's current sealing key: its newest announcement (ties go to the larger key, the
    /// same on every node).
    pub fn current(&self, device: &DeviceId) -> Option<SealKey> {
        self.by_device
            .get(device)
            .and_then(|keys| keys.keys().next_back())
            .map(|(_, key)| *key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::DeviceKey;

    #[test]
    fn the_newest_announcement_is_current_and_old_ones_are_bounded() {
        let signer = DeviceKey::from_seed([1; 32]);
        let device = signer.device_id();
        let mut keys = SealKeys::default();
        assert_eq!(keys.current(&device), None);
        keys.add((0..40).map(|i| SealAnnouncement::sign(&signer, SealKey([i as u8; 32]), i)));
        assert_eq!(keys.current(&device), Some(SealKey([39; 32])));
        assert_eq!(keys.by_device[&device].len(), SEAL_KEYS_PER_DEVICE_MAX);
        let a = SealAnnouncement::sign(&signer, SealKey([7; 32]), 5);
        assert_eq!(SealAnnouncement::from_bytes(&a.to_bytes()).unwrap(), a);
        assert!(SealAnnouncement::from_bytes(b"junk").is_err());
    }

    #[test]
    fn an_announcement_in_another_devices_name_is_ignored() {
        let (device, thief) = (DeviceKey::from_seed([1; 32]), DeviceKey::from_seed([2; 32]));
        let mut forged = SealAnnouncement::sign(&thief, SealKey([9; 32]), 100);
        forged.device = device.device_id();
        assert!(!forged.signature_ok());
        let mut keys = SealKeys::default();
        keys.add([forged]);
        assert_eq!(keys.current(&device.device_id()), None);
    }
}
