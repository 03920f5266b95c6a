//! This device's sealing keys (X25519; issue #14): made once, kept in the store's private metadata
//! (so a backup carries them and a restore reads what was sealed before), announced in the trust
//! record, retired — never deleted — when the signing key rotates, so what was sealed to an old key
//! still opens.

use hallsync_model::seal::OpenKey;
use hallsync_model::trust::seal_keys::SealAnnouncement;
use hallsync_model::{DocId, ScalarValue};

use super::{now_ms, Engine};
use crate::error::NodeError;

/// Store key of the current sealing secret.
const META_SEAL_KEY: &str = "seal-key";

/// Store key of the retired sealing secrets, 32 bytes each.
const META_SEAL_RETIRED: &str = "seal-keys-retired";

/// Most retired sealing keys kept: one per rotation, and rotations are rare.
const RETIRED_MAX: usize = 64;

impl Engine {
    /// The current sealing secret, made on first use.
    ///
    /// # Errors
    /// The store, or an OS with no randomness.
    pub fn seal_secret(&mut self) -> Result<OpenKey, NodeError> {
        if let Some(bytes) = self.store.get_meta(META_SEAL_KEY)? {
            if let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(OpenKey::from_bytes(secret));
            }
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| NodeError::Store(format!("no randomness for the sealing key: {e}")))?;
        self.store.put_meta(META_SEAL_KEY, &secret)?;
        Ok(OpenKey::from_bytes(secret))
    }

    /// Every sealing secret this device holds, the current one first: what opens content sealed
    /// to it before and after rotations.
    ///
    /// # Errors
    /// As [`Engine::seal_secret`].
    pub fn open_keys(&mut self) -> Result<Vec<OpenKey>, NodeError> {
        let mut keys = vec![self.seal_secret()?];
        let retired = self.store.get_meta(META_SEAL_RETIRED)?.unwrap_or_default();
        keys.extend(
            retired
                .chunks_exact(32)
                .filter_map(|c| <[u8; 32]>::try_from(c).ok())
                .map(OpenKey::from_bytes),
        );
        Ok(keys)
    }

    /// The sealing secrets this device holds now, without making one: what a read opens with.
    ///
    /// # Errors
    /// The store.
    pub fn held_open_keys(&self) -> Result<Vec<OpenKey>, NodeError> {
        let current = self.store.get_meta(META_SEAL_KEY)?.unwrap_or_default();
        let retired = self.store.get_meta(META_SEAL_RETIRED)?.unwrap_or_default();
        Ok(current
            .chunks_exact(32)
            .chain(retired.chunks_exact(32))
            .filter_map(|c| <[u8; 32]>::try_from(c).ok())
            .map(OpenKey::from_bytes)
            .collect())
    }

    /// Retires the current sealing key (on a signing-key rotation): it is kept for opening, and a
    /// new one is made and announced by the new device.
    ///
    /// # Errors
    /// The store.
    pub(crate) fn retire_seal_key(&mut self) -> Result<(), NodeError> {
        let Some(current) = self.store.get_meta(META_SEAL_KEY)? else {
            return Ok(());
        };
        let mut retired = self.store.get_meta(META_SEAL_RETIRED)?.unwrap_or_default();
        retired.extend_from_slice(&current);
        let keep = RETIRED_MAX * 32;
        if retired.len() > keep {
            retired.drain(..retired.len() - keep);
        }
        self.store.put_meta(META_SEAL_RETIRED, &retired)?;
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh)
            .map_err(|e| NodeError::Store(format!("no randomness for the sealing key: {e}")))?;
        self.store.put_meta(META_SEAL_KEY, &fresh)
    }

    /// Announces this device's sealing key in the trust record, once this device holds a standing
    /// certificate and the record does not already carry the key. Cheap when there is nothing to
    /// do (two lookups): the node calls it at start and on every tick.
    ///
    /// # Errors
    /// The store, or the change could not be authored.
    pub fn announce_seal_key(&mut self) -> Result<bool, NodeError> {
        let me = self.key.device_id();
        let key = self.seal_secret()?.seal_key();
        let Some(replica) = self.replica.as_ref() else {
            return Ok(false);
        };
        let trust = replica.trust();
        if trust.active_certs_of(&me).next().is_none() || trust.seal_key_of(&me) == Some(key) {
            return Ok(false);
        }
        let announcement = SealAnnouncement::sign(&self.key, key, now_ms());
        self.author(
            &DocId::trust(),
            &[(
                announcement.record_key(),
                ScalarValue::Bytes(announcement.to_bytes()),
            )],
        )?;
        Ok(true)
    }
}
