//! The redb store: records at rest, their index, the quarantine and named values, with a schema
//! version. Everything one ingest or command changed is written in one transaction.
//!
//! ```text
//! schema 2 (this version)
//! meta-1        &str                → bytes (schema, genesis, certificates, boot epoch, peers,
//!                                      equivocations)
//! records-2     &str (record id)    → the record at rest (hallsync_model DocState::to_rest): its
//!                                      applied envelopes, which are content, its waiting changes
//! index-2       &str (record id)    → IndexEntry (heads, signers): what opening a node reads
//! quarantine-2  [u8; 32] (digest)   → postcard(SignedChange): changes received but not applied
//! peer-sync-1   [u8; 32] (device)   → postcard(PeerState): what a peer last held
//!
//! schema 1 (hallsync 0.1.0 before records rested on disk; read once, then migrated)
//! envelopes-1   u64 (arrival)       → postcard(SignedChange), applied and quarantined alike
//! digests-1     [u8; 32]            → u64
//! ```
//!
//! A store without a `schema` value is schema 1 when it has an `envelopes-1` table, else new. A
//! store of a newer schema than this version reads is refused with both versions named: nothing
//! is written to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hallsync_model::replica::{IndexEntry, RecordRest, Settling, Unsettled};
use hallsync_model::{DocId, Replica, SignedChange};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};

use crate::error::NodeError;

/// The store schema this version writes and reads.
pub const SCHEMA: u32 = 2;

/// redb's page cache when the caller names none (`limits.store_cache_mb`): redb's own default is
/// 1 GiB, which a node reading every record (an export, `store check`) would fill.
pub const CACHE_BYTES_DEFAULT: usize = 64 * 1024 * 1024;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-1");
const PEER_SYNC: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("peer-sync-1");
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records-2");
const INDEX: TableDefinition<&str, &[u8]> = TableDefinition::new("index-2");
const QUARANTINE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("quarantine-2");
const V1_ENVELOPES: TableDefinition<u64, &[u8]> = TableDefinition::new("envelopes-1");
const V1_DIGESTS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("digests-1");

const META_SCHEMA: &str = "schema";
/// The equivocations the replica knows (hallsync_model `Replica::equivocations_bytes`).
pub const META_EQUIVOCATIONS: &str = "equivocations";

/// What a store held when it was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// A new store, or one of this schema.
    Current,
    /// A schema-1 store: its envelope log must be migrated (see [`RedbStore::load_v1_envelopes`]).
    Schema1,
}

/// The node's durable store.
pub struct RedbStore {
    db: Arc<Db>,
    /// The write started by [`RedbStore::write_behind`], until waited for.
    behind: Option<std::thread::JoinHandle<Result<(), NodeError>>>,
    path: PathBuf,
    found: Found,
    unreadable: std::cell::Cell<u64>,
}

/// The database, closed under [`guarded`]: redb writes its allocator state when the last handle
/// goes, and panics there on some damaged files.
struct Db(Option<Database>);

impl std::ops::Deref for Db {
    type Target = Database;

    fn deref(&self) -> &Database {
        // Some until dropped: only `drop` takes it.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("the database is open until dropped"))
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let db = self.0.take();
        if let Err(e) = guarded(move || {
            drop(db);
            Ok(())
        }) {
            tracing::warn!("closing the store: {e}");
        }
    }
}

/// Records read back from the store on demand: the replica's [`RecordRest`].
struct RedbRest {
    db: Arc<Db>,
}

impl RecordRest for RedbRest {
    fn load(&self, doc: &DocId) -> Result<Option<Vec<u8>>, String> {
        let read = || -> Result<Option<Vec<u8>>, NodeError> {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(RECORDS)?;
            Ok(table.get(doc.as_str())?.map(|v| v.value().to_vec()))
        };
        guarded(read).map_err(|e| e.to_string())
    }
}

thread_local! {
    /// Set while redb runs under [`guarded`]: its panics are reported as errors, not printed.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, which calls redb, turning a panic into [`NodeError::Store`].
///
/// redb panics on some damaged files (a bit flip in its allocator state, a truncated page)
/// instead of returning an error. A damaged file is input like any other: the command that meets
/// it says so and exits non-zero, and a running node refuses that read or write and goes on. The
/// panic hook stays quiet inside, so the user sees the error, not a backtrace.
fn guarded<T>(f: impl FnOnce() -> Result<T, NodeError>) -> Result<T, NodeError> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    outcome.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown damage".into());
        Err(NodeError::Store(format!(
            "the store file is damaged ({what}): restore the data directory from a backup, or make a new node and let it sync from its peers"
        )))
    })
}

fn has_table(tx: &redb::ReadTransaction, name: &str) -> Result<bool, NodeError> {
    Ok(tx.list_tables()?.any(|t| t.name() == name))
}

impl RedbStore {
    /// Opens (or creates) the store at `path` and checks its schema.
    ///
    /// # Errors
    /// [`NodeError::StoreLocked`] when a running node holds it; [`NodeError::StoreSchema`] when a
    /// newer version wrote it; [`NodeError::Store`] otherwise.
    pub fn open(path: &Path) -> Result<Self, NodeError> {
        RedbStore::open_with_cache(path, CACHE_BYTES_DEFAULT)
    }

    /// [`RedbStore::open`] with a page cache of `cache_bytes`.
    ///
    /// # Errors
    /// As [`RedbStore::open`].
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Self, NodeError> {
        guarded(|| {
            let db = redb::Builder::new()
                .set_cache_size(cache_bytes)
                .create(path)
                .map_err(|e| match e {
                    redb::DatabaseError::DatabaseAlreadyOpen => NodeError::StoreLocked {
                        path: path.parent().unwrap_or(path).to_path_buf(),
                    },
                    other => NodeError::Store(format!("{}: {other}", path.display())),
                })?;
            let found = {
                let tx = db.begin_read()?;
                let schema = if has_table(&tx, "meta-1")? {
                    let meta = tx.open_table(META)?;
                    let value = meta.get(META_SCHEMA)?.map(|v| v.value().to_vec());
                    match value {
                        Some(bytes) => Some(
                            <[u8; 4]>::try_from(bytes.as_slice())
                                .map(u32::from_be_bytes)
                                .map_err(|_| {
                                    NodeError::Store(format!(
                                        "{}: the schema version is unreadable",
                                        path.display()
                                    ))
                                })?,
                        ),
                        None => None,
                    }
                } else {
                    None
                };
                match schema {
                    Some(found) if found > SCHEMA => {
                        return Err(NodeError::StoreSchema {
                            path: path.to_path_buf(),
                            found,
                            supported: SCHEMA,
                        })
                    }
                    Some(_) => Found::Current,
                    None if has_table(&tx, "envelopes-1")? => Found::Schema1,
                    None => Found::Current,
                }
            };
            let tx = db.begin_write()?;
            tx.open_table(META)?;
            tx.open_table(PEER_SYNC)?;
            tx.open_table(RECORDS)?;
            tx.open_table(INDEX)?;
            tx.open_table(QUARANTINE)?;
            if found == Found::Current {
                tx.open_table(META)?
                    .insert(META_SCHEMA, SCHEMA.to_be_bytes().as_slice())?;
            }
            tx.commit()?;
            Ok(RedbStore {
                db: Arc::new(Db(Some(db))),
                behind: None,
                path: path.to_path_buf(),
                found,
                unreadable: std::cell::Cell::new(0),
            })
        })
    }

    /// What the store held when opened.
    pub fn found(&self) -> Found {
        self.found
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stored rows the last load could not read (left on disk, skipped).
    pub fn unreadable_rows(&self) -> u64 {
        self.unreadable.get()
    }

    /// The replica's view of the records at rest: reads one record at a time.
    pub fn rest(&self) -> Arc<dyn RecordRest> {
        Arc::new(RedbRest {
            db: self.db.clone(),
        })
    }

    /// Every record's index entry: what opening a node reads. Unreadable rows are skipped, counted
    /// and left on disk.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn load_index(&self) -> Result<Vec<(DocId, IndexEntry)>, NodeError> {
        guarded(|| {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(INDEX)?;
            let mut out = Vec::with_capacity(usize::try_from(table.len()?).unwrap_or(0));
            for row in table.iter()? {
                let (key, value) = row?;
                let parsed = key
                    .value()
                    .parse::<DocId>()
                    .map_err(|e| e.to_string())
                    .and_then(|doc| IndexEntry::from_bytes(value.value()).map(|e| (doc, e)));
                match parsed {
                    Ok(entry) => out.push(entry),
                    Err(e) => {
                        tracing::warn!(
                            "stored index row {} is unreadable and skipped: {e}",
                            key.value()
                        );
                        self.unreadable.set(self.unreadable.get() + 1);
                    }
                }
            }
            Ok(out)
        })
    }

    /// The quarantined envelopes.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn load_quarantine(&self) -> Result<Vec<SignedChange>, NodeError> {
        guarded(|| {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(QUARANTINE)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (_, value) = row?;
                match postcard::from_bytes(value.value()) {
                    Ok(envelope) => out.push(envelope),
                    Err(e) => {
                        tracing::warn!("a quarantined envelope is unreadable and skipped: {e}");
                        self.unreadable.set(self.unreadable.get() + 1);
                    }
                }
            }
            Ok(out)
        })
    }

    /// Every envelope of a schema-1 store, in arrival order (for the one-time migration).
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn load_v1_envelopes(&self) -> Result<Vec<SignedChange>, NodeError> {
        guarded(|| {
            let tx = self.db.begin_read()?;
            if !has_table(&tx, "envelopes-1")? {
                return Ok(Vec::new());
            }
            let rows = tx.open_table(V1_ENVELOPES)?;
            let mut out = Vec::with_capacity(usize::try_from(rows.len()?).unwrap_or(0));
            for row in rows.iter()? {
                let (key, value) = row?;
                match postcard::from_bytes(value.value()) {
                    Ok(envelope) => out.push(envelope),
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
        })
    }

    /// Writes what the replica changed, in one durable transaction: once this returns, the change
    /// survives a crash. With `finish_migration`, the schema-1 tables go in the same transaction
    /// and the schema becomes this version's, so a crash leaves either store whole.
    ///
    /// # Errors
    /// [`NodeError::Store`]; nothing of `unsettled` is kept then.
    pub fn write(
        &mut self,
        unsettled: &Unsettled,
        finish_migration: bool,
    ) -> Result<(), NodeError> {
        commit(&self.db, unsettled, finish_migration)?;
        if finish_migration {
            self.found = Found::Current;
        }
        Ok(())
    }

    /// Starts writing `unsettled` on a writer thread (one write at a time: the one before is waited
    /// for first), so that a node commits one sync step while it applies the next. Readers see the
    /// write once it is committed; a crash before that loses it whole, which sync recovers (what a
    /// peer sent is found missing and sent again). Local writes never go this way: they are durable
    /// before they are acknowledged.
    ///
    /// # Errors
    /// The failure of the write before, if it failed.
    pub fn write_behind(&mut self, unsettled: Unsettled) -> Result<(), NodeError> {
        self.wait_behind()?;
        let db = self.db.clone();
        self.behind = Some(
            std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || commit(&db, &unsettled, false))
                .map_err(|e| NodeError::Store(format!("cannot start the store writer: {e}")))?,
        );
        Ok(())
    }

    /// Writes what `replica` changed behind ([`RedbStore::write_behind`]), after settling the write
    /// before (`settling`, which then holds this one's).
    ///
    /// # Errors
    /// The failure of the write before; what it carried goes with this write instead.
    pub fn persist_behind(
        &mut self,
        replica: &mut Replica,
        settling: &mut Option<Settling>,
    ) -> Result<(), NodeError> {
        self.settle_behind(replica, settling)?;
        let (unsettled, written) = replica.take_unsettled();
        if let Err(e) = self.write_behind(unsettled) {
            replica.unsettle(written);
            return Err(e);
        }
        *settling = Some(written);
        Ok(())
    }

    /// Waits for the write behind and lets what it wrote rest; if it failed, what it carried is
    /// the replica's next write's.
    ///
    /// # Errors
    /// The write's failure.
    pub fn settle_behind(
        &mut self,
        replica: &mut Replica,
        settling: &mut Option<Settling>,
    ) -> Result<(), NodeError> {
        let Some(written) = settling.take() else {
            return Ok(());
        };
        match self.wait_behind() {
            Ok(()) => {
                replica.settle_written(written);
                Ok(())
            }
            Err(e) => {
                replica.unsettle(written);
                Err(e)
            }
        }
    }

    /// Waits for the write [`RedbStore::write_behind`] started, if any.
    ///
    /// # Errors
    /// Its failure: nothing of it was kept.
    pub fn wait_behind(&mut self) -> Result<(), NodeError> {
        match self.behind.take() {
            None => Ok(()),
            Some(writer) => writer
                .join()
                .unwrap_or_else(|_| Err(NodeError::Store("the store writer stopped".into()))),
        }
    }

    /// Writes what `replica` changed ([`RedbStore::write`]) and lets it settle.
    ///
    /// # Errors
    /// [`NodeError::Store`]; the replica is not settled then, so the next write carries it all.
    pub fn persist(&mut self, replica: &mut Replica) -> Result<(), NodeError> {
        self.write(&replica.unsettled(), false)?;
        replica.settle();
        Ok(())
    }

    /// How many records are stored.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn record_count(&self) -> Result<u64, NodeError> {
        guarded(|| {
            let tx = self.db.begin_read()?;
            Ok(tx.open_table(INDEX)?.len()?)
        })
    }

    /// The stored sync state of a peer device, if any.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn peer_sync(&self, device: &[u8; 32]) -> Result<Option<Vec<u8>>, NodeError> {
        guarded(|| {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(PEER_SYNC)?;
            Ok(table.get(device)?.map(|v| v.value().to_vec()))
        })
    }

    /// Stores the sync state of a peer device.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn put_peer_sync(&mut self, device: &[u8; 32], state: &[u8]) -> Result<(), NodeError> {
        guarded(|| {
            let tx = self.db.begin_write()?;
            tx.open_table(PEER_SYNC)?.insert(device, state)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Reads a named value (identity, network, boot epoch, peers).
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, NodeError> {
        guarded(|| {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(META)?;
            Ok(table.get(key)?.map(|v| v.value().to_vec()))
        })
    }

    /// Writes a named value durably.
    ///
    /// # Errors
    /// [`NodeError::Store`].
    pub fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), NodeError> {
        guarded(|| {
            let tx = self.db.begin_write()?;
            tx.open_table(META)?.insert(key, value)?;
            tx.commit()?;
            Ok(())
        })
    }
}

/// One write transaction kept open across several writes, committed (or dropped, and with it
/// everything written) as one: what an import writes becomes visible, and durable, all at once.
pub struct Batch {
    tx: redb::WriteTransaction,
}

impl RedbStore {
    /// Starts a batch, after the write behind (if any) has finished.
    ///
    /// # Errors
    /// [`NodeError::Store`], or the failure of the write behind.
    pub fn begin_batch(&mut self) -> Result<Batch, NodeError> {
        guarded(|| {
            self.wait_behind()?;
            Ok(Batch {
                tx: self.db.begin_write()?,
            })
        })
    }
}

impl Batch {
    /// Adds `unsettled` to the batch. Readers do not see it until [`Batch::commit`].
    ///
    /// # Errors
    /// [`NodeError::Store`]; the batch must then be dropped.
    pub fn write(&self, unsettled: &Unsettled) -> Result<(), NodeError> {
        guarded(|| write_into(&self.tx, unsettled))
    }

    /// Commits everything the batch holds, durably.
    ///
    /// # Errors
    /// [`NodeError::Store`]: nothing of the batch was kept.
    pub fn commit(self) -> Result<(), NodeError> {
        guarded(|| {
            self.tx.commit()?;
            Ok(())
        })
    }
}

/// Writes `unsettled` in one durable transaction (see [`RedbStore::write`]).
fn commit(db: &Database, unsettled: &Unsettled, finish_migration: bool) -> Result<(), NodeError> {
    guarded(|| commit_unguarded(db, unsettled, finish_migration))
}

fn commit_unguarded(
    db: &Database,
    unsettled: &Unsettled,
    finish_migration: bool,
) -> Result<(), NodeError> {
    if unsettled.is_empty() && !finish_migration {
        return Ok(());
    }
    let tx = db.begin_write()?;
    write_into(&tx, unsettled)?;
    if finish_migration {
        tx.delete_table(V1_ENVELOPES)?;
        tx.delete_table(V1_DIGESTS)?;
        tx.open_table(META)?
            .insert(META_SCHEMA, SCHEMA.to_be_bytes().as_slice())?;
    }
    // Immediate durability (redb's default): a change acknowledged to the user survives a crash.
    tx.commit()?;
    Ok(())
}

/// Writes `unsettled`'s rows into `tx`.
fn write_into(tx: &redb::WriteTransaction, unsettled: &Unsettled) -> Result<(), NodeError> {
    {
        let mut records = tx.open_table(RECORDS)?;
        let mut index = tx.open_table(INDEX)?;
        for (doc, row, entry) in &unsettled.records {
            records.insert(doc.as_str(), row.as_slice())?;
            index.insert(doc.as_str(), entry.to_bytes().as_slice())?;
        }
        for doc in &unsettled.removed {
            records.remove(doc.as_str())?;
            index.remove(doc.as_str())?;
        }
        let mut quarantine = tx.open_table(QUARANTINE)?;
        for (digest, envelope) in &unsettled.quarantined {
            let bytes = postcard::to_stdvec(envelope)
                .map_err(|e| NodeError::Store(format!("encode envelope: {e}")))?;
            quarantine.insert(digest, bytes.as_slice())?;
        }
        for digest in &unsettled.released {
            quarantine.remove(digest)?;
        }
        if let Some(equivocations) = &unsettled.equivocations {
            tx.open_table(META)?
                .insert(META_EQUIVOCATIONS, equivocations.as_slice())?;
        }
    }
    Ok(())
}

impl Drop for RedbStore {
    /// A node that stops waits for its last sync step to be written.
    fn drop(&mut self) {
        if let Err(e) = self.wait_behind() {
            tracing::warn!("the last write of received changes failed: {e}; peers send them again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_of_a_newer_schema_is_refused_naming_both_versions() {
        // Goal: a node never reads (or writes) a store layout it does not know.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let mut store = RedbStore::open(&path).unwrap();
            store
                .put_meta(META_SCHEMA, &(SCHEMA + 1).to_be_bytes())
                .unwrap();
        }
        for _ in 0..2 {
            // Refused every time: the first refusal changed nothing this version would read.
            let err = RedbStore::open(&path).err().unwrap().to_string();
            assert!(err.contains(&format!("schema {}", SCHEMA + 1)), "{err}");
            assert!(err.contains(&format!("schema {SCHEMA}")), "{err}");
        }
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
        assert_eq!(store.found(), Found::Current);
        let back = store.peer_sync(&[1; 32]).unwrap().unwrap();
        assert_eq!(hallsync_model::PeerState::from_bytes(&back).unwrap(), state);
        let corrupt = store.peer_sync(&[2; 32]).unwrap().unwrap();
        assert!(hallsync_model::PeerState::from_bytes(&corrupt).is_err());
        assert_eq!(store.peer_sync(&[3; 32]).unwrap(), None);
    }
}
