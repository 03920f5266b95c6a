//! Where signed changes are kept: the [`Store`] trait, and an in-memory store for tests and the
//! simulator. The node's redb store implements the same trait.
//!
//! The store holds envelopes, the source of truth; everything else (documents, trust state,
//! quarantine) is derived by feeding them to [`crate::Replica::ingest`] again on start.

use std::collections::BTreeMap;

use crate::change::envelope::SignedChange;

/// Durable storage of envelopes and small named values.
pub trait Store {
    /// The error a backend reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores envelopes (applied or quarantined) in one durable step; stored ones are skipped.
    ///
    /// # Errors
    /// The backend's error; nothing of the batch is kept then.
    fn append(&mut self, envelopes: &[SignedChange]) -> Result<(), Self::Error>;

    /// Every stored envelope, in the order first stored.
    ///
    /// # Errors
    /// The backend's error, or a corrupt row.
    fn load_all(&self) -> Result<Vec<SignedChange>, Self::Error>;

    /// Reads a named value (identity, network, boot epoch, peer cursors).
    ///
    /// # Errors
    /// The backend's error.
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, Self::Error>;

    /// Writes a named value durably.
    ///
    /// # Errors
    /// The backend's error.
    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), Self::Error>;
}

/// A store in memory.
#[derive(Default, Debug, Clone)]
pub struct MemStore {
    order: Vec<[u8; 32]>,
    envelopes: BTreeMap<[u8; 32], SignedChange>,
    meta: BTreeMap<String, Vec<u8>>,
}

impl Store for MemStore {
    type Error = std::convert::Infallible;

    fn append(&mut self, envelopes: &[SignedChange]) -> Result<(), Self::Error> {
        for e in envelopes {
            let digest = e.digest();
            if self.envelopes.insert(digest, e.clone()).is_none() {
                self.order.push(digest);
            }
        }
        Ok(())
    }

    fn load_all(&self) -> Result<Vec<SignedChange>, Self::Error> {
        Ok(self
            .order
            .iter()
            .filter_map(|d| self.envelopes.get(d).cloned())
            .collect())
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.meta.get(key).cloned())
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), Self::Error> {
        self.meta.insert(key.to_string(), value.to_vec());
        Ok(())
    }
}
