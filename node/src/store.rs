//! The redb store: envelopes (the source of truth) and named values, one write transaction per batch.
//!
//! Tables are versioned by name (`-1`) so a future layout can migrate beside the old one.
//!
//! ```text
//! envelopes-1  u64 (arrival order)  → postcard(SignedChange)
//! digests-1    [u8; 32] (envelope)  → u64 (its arrival order), to skip stored ones
//! meta-1       &str                 → bytes (genesis, certificates, boot epoch, peers)
//! peer-sync-1  [u8; 32] (device)    → postcard(PeerState): what a peer last held, so a reconnect
//!                                     resumes (hallsync_model::sync::peer_state)
//! ```

use std::path::Path;

use hallsync_model::{SignedChange, Store};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::error::NodeError;

const ENVELOPES: TableDefinition<u64, &[u8]> = TableDefinition::new("envelopes-1");
const DIGESTS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("digests-1");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-1");
const PEER_SYNC: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("peer-sync-1");

/// The node's durable store.
pub struct RedbStore {
    db: Database,
    unreadable: std::cell::Cell<u64>,
}

impl RedbStore {
    /// Opens (or creates) the store at `path`.
    ///
    /// # Errors
    /// [`NodeError::StoreLocked`] when a running node holds it; [`NodeError::Store`] otherwise.
    pub fn open(path: &Path) -> Result<Self, NodeError> {
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => NodeError::StoreLocked {
                path: path.parent().unwrap_or(path).to_path_buf(),
            },
            other => NodeError::Store(format!("{}: {other}", path.display())),
        })?;
        let tx = db.begin_write()?;
        tx.open_table(ENVELOPES)?;
        tx.open_table(DIGESTS)?;
        tx.open_table(META)?;
        tx.open_table(PEER_SYNC)?;
        tx.commit()?;
        Ok(RedbStore {
            db,
            unreadable: std::cell::Cell::new(0),
        })
    }

    /// Stored rows the last load could not read (left on disk, skipped).
    pub fn unreadable_rows(&self) -> u64 {
        self.unreadable.get()
    }

    /// The stored sync state of a peer device, if any.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn peer_sync(&self, device: &[u8; 32]) -> Result<Option<Vec<u8>>, NodeError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(PEER_SYNC)?;
        Ok(table.get(device)?.map(|v| v.value().to_vec()))
    }

    /// Stores the sync state of a peer device.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn put_peer_sync(&mut self, device: &[u8; 32], state: &[u8]) -> Result<(), NodeError> {
        let tx = self.db.begin_write()?;
        tx.open_table(PEER_SYNC)?.insert(device, state)?;
        tx.commit()?;
        Ok(())
    }

    /// How many envelopes are stored.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn envelope_count(&self) -> Result<u64, NodeError> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(ENVELOPES)?.len()?)
    }
}

impl Store for RedbStore {
    type Error = NodeError;

    fn append(&mut self, envelopes: &[SignedChange]) -> Result<(), NodeError> {
        if envelopes.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write()?;
        {
            let mut rows = tx.open_table(ENVELOPES)?;
            let mut digests = tx.open_table(DIGESTS)?;
            let mut next = rows.last()?.map(|(k, _)| k.value() + 1).unwrap_or(0);
            for envelope in envelopes {
                let digest = envelope.digest();
                if digests.get(&digest)?.is_some() {
                    continue;
                }
                let bytes = postcard::to_stdvec(envelope)
                    .map_err(|e| NodeError::Store(format!("encode envelope: {e}")))?;
                rows.insert(next, bytes.as_slice())?;
                digests.insert(&digest, next)?;
                next += 1;
            }
        }
        // Immediate durability (redb's default): a change acknowledged to the user survives a crash.
        tx.commit()?;
        Ok(())
    }

    fn load_all(&self) -> Result<Vec<SignedChange>, NodeError> {
        let tx = self.db.begin_read()?;
        let rows = tx.open_table(ENVELOPES)?;
        let mut out = Vec::with_capacity(rows.len()? as usize);
        for row in rows.iter()? {
            let (key, value) = row?;
            match postcard::from_bytes(value.value()) {
                Ok(envelope) => out.push(envelope),
                // An unreadable row is left on disk untouched and skipped, so one bad row (a disk
                // fault, or a record written by an older bug) never stops the node from starting.
                Err(e) => {
                    tracing::warn!(
                        "stored envelope {} is unreadable and skipped: {e}",
                        key.value()
                    );
                    self.unreadable.set(self.unreadable.get() + 1);
                }
            }
        }
        Ok(out)
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, NodeError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(META)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), NodeError> {
        let tx = self.db.begin_write()?;
        tx.open_table(META)?.insert(key, value)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallsync_model::DeviceKey;

    fn envelope(n: i64) -> SignedChange {
        let key = DeviceKey::from_seed([9; 32]);
        let mut doc = automerge::AutoCommit::new();
        doc.set_actor(key.device_id().actor(0));
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "n", n).unwrap();
        let change = doc.get_last_local_change().unwrap();
        SignedChange::sign("item/X1".parse().unwrap(), &change, &key)
    }

    #[test]
    fn envelopes_survive_reopen_in_order_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let (a, b) = (envelope(1), envelope(2));
        {
            let mut store = RedbStore::open(&path).unwrap();
            store.append(&[a.clone(), b.clone()]).unwrap();
            store.append(std::slice::from_ref(&a)).unwrap();
            store.put_meta("epoch", &[1, 2]).unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.load_all().unwrap(), vec![a, b]);
        assert_eq!(store.get_meta("epoch").unwrap(), Some(vec![1, 2]));
        assert_eq!(store.get_meta("none").unwrap(), None);
    }

    #[test]
    fn a_peers_sync_state_survives_reopen_and_a_corrupt_one_is_an_error_not_a_panic() {
        // Goal: reconnecting after a restart resumes from what the peer last held.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let doc: hallsync_model::DocId = "item/X1".parse().unwrap();
        let mut state = hallsync_model::PeerState::default();
        state.note(&doc, vec![[7; 32]]);
        {
            let mut store = RedbStore::open(&path).unwrap();
            store.put_peer_sync(&[1; 32], &state.to_bytes()).unwrap();
            store.put_peer_sync(&[2; 32], &[0xff, 0xff, 0xff]).unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        let back = store.peer_sync(&[1; 32]).unwrap().unwrap();
        assert_eq!(hallsync_model::PeerState::from_bytes(&back).unwrap(), state);
        let corrupt = store.peer_sync(&[2; 32]).unwrap().unwrap();
        assert!(hallsync_model::PeerState::from_bytes(&corrupt).is_err());
        assert_eq!(store.peer_sync(&[3; 32]).unwrap(), None);
    }
}
