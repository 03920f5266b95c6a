//! Devices' sealing keys (X25519), announced in the trust record (issue #14; see DESIGN.md
//! "Sealing keys" for why an announcement beside the certificate rather than a field in it).
//!
//! A device announces its sealing key in a trust change it writes itself: the change's signature
//! is the device's, so nobody else can put a key in its name, and only a device with a certificate
//! may write to the trust record at all. A device that rotates its signing key announces a new
//! sealing key under its new id; one whose certificates are revoked is no longer sealed to, because
//! recipients are read from the standing certificates of a hall.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::TrustError;
use crate::identity::DeviceId;
use crate::seal::SealKey;

/// Prefix of sealing-key announcements in the trust record: `seal/<device>/<key id>`.
pub const SEAL_PREFIX: &str = "seal/";

/// Most sealing keys kept per device (rotations are rare; the newest count).
pub const SEAL_KEYS_PER_DEVICE_MAX: usize = 16;

/// A device's statement of its sealing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealAnnouncement {
    /// The device (the trust change's author must be this device).
    pub device: DeviceId,
    /// Its X25519 public key.
    pub key: SealKey,
    /// When the device says it made the key, ms since the Unix epoch: the newest is current.
    pub at_ms: i64,
}

impl SealAnnouncement {
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
        for a in announcements {
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
        let device = DeviceKey::from_seed([1; 32]).device_id();
        let mut keys = SealKeys::default();
        assert_eq!(keys.current(&device), None);
        keys.add((0..40).map(|i| SealAnnouncement {
            device,
            key: SealKey([i as u8; 32]),
            at_ms: i,
        }));
        assert_eq!(keys.current(&device), Some(SealKey([39; 32])));
        assert_eq!(keys.by_device[&device].len(), SEAL_KEYS_PER_DEVICE_MAX);
        let a = SealAnnouncement {
            device,
            key: SealKey([7; 32]),
            at_ms: 5,
        };
        assert_eq!(SealAnnouncement::from_bytes(&a.to_bytes()).unwrap(), a);
        assert!(SealAnnouncement::from_bytes(b"junk").is_err());
    }
}
