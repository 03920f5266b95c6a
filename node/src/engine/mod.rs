//! The engine: the replica, the store and the device key of one node, and every command on them.
//!
//! The running node's event loop owns one; the CLI opens one directly when no node runs. Every
//! change, local or remote, goes through [`hallsync_model::Replica::ingest`] and is written to the
//! store in one transaction before anyone is told it happened.

pub mod access_log;
mod cases;
mod command;
mod commands;
mod departments;
mod erasure;
mod membership;
mod net_view;
pub mod peers;
pub mod pipeline;
pub mod response;
mod seal;
mod staff;
mod stationing;
mod token;
mod trust_ops;

pub use command::{Command, ImportPart};
pub use commands::{decode_bundle, encode_bundle, store_check};
pub use membership::{init, InviteRequest};
pub use net_view::NetView;
pub use staff::StaffStep;
pub use stationing::StationRequest;
pub use token::Invitation;

use std::time::{SystemTime, UNIX_EPOCH};

use hallsync_config::Config;
use hallsync_model::replica::AtRest;
use hallsync_model::sync::wire::WireLimits;
use hallsync_model::{Certificate, DeviceKey, Genesis, IngestReport, Replica, SignedChange};

use crate::error::NodeError;
use crate::keyfile;
use crate::paths::DataDir;
use crate::store::{Found, RedbStore, META_EQUIVOCATIONS};

/// The store's record of the network's genesis key (a node that joined, or founded, one).
pub const META_GENESIS: &str = "genesis";
/// The store's record of the certificates a node learned outside the trust record (its invitation).
pub const META_CERTS: &str = "certs";
pub(crate) const META_EPOCH: &str = "epoch";

/// Milliseconds since the Unix epoch, from the system clock: the node's only clock.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Checks that the system clock reads a time after 1970: before it, timestamps are wrong and the
/// HTTP stack under the control API panics on every request, so the node refuses to start (and a
/// running node stops) with this error instead.
///
/// # Errors
/// [`NodeError::ClockBefore1970`].
pub fn check_clock() -> Result<(), NodeError> {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(_) => Ok(()),
        Err(e) => Err(NodeError::ClockBefore1970 {
            seconds_before: e.duration().as_secs(),
        }),
    }
}

/// One node's state, open.
pub struct Engine {
    pub(crate) dir: DataDir,
    pub(crate) config: Config,
    pub(crate) key: DeviceKey,
    pub(crate) store: RedbStore,
    pub(crate) replica: Option<Replica>,
    pub(crate) epoch: u32,
    /// What the store's writer thread is writing of the last sync step (see
    /// [`Engine::ingest_from_peer`]), to settle once it is written.
    pub(crate) settling: Option<hallsync_model::replica::Settling>,
    /// The parts received so far of a catalogue import sent in parts (see
    /// [`command::ImportPart`]); in memory only, so a crash leaves the import absent.
    pub(crate) staged: Option<commands::StagedImport>,
    /// Changes from peers applied since start (for the metrics).
    pub(crate) applied_from_peers: u64,
    /// Changes this node signed since start (for the metrics).
    pub(crate) authored: u64,
    /// Where the retention scan goes on (see `erasure.rs`).
    pub(crate) case_scan: Option<hallsync_model::DocId>,
    /// When the next pass of the retention scan may start (ms since the Unix epoch).
    pub(crate) case_scan_next_pass_ms: i64,
}

impl Engine {
    /// Opens the node in `dir`: reads config and key, starts a new boot epoch (a random automerge
    /// actor suffix, so a node restored from an old backup never reuses a sequence number), and
    /// reads the index of the records at rest (a schema-1 store is migrated once, here).
    ///
    /// # Errors
    /// [`NodeError::NotADataDir`], [`NodeError::Config`], [`NodeError::StoreLocked`], or a store error.
    pub fn open(dir: &DataDir) -> Result<Engine, NodeError> {
        check_clock()?;
        if !dir.key_file().exists() {
            return Err(NodeError::NotADataDir {
                path: dir.root().to_path_buf(),
                reason: "no device.key".into(),
            });
        }
        for fixed in dir.secure() {
            tracing::warn!("{fixed}");
        }
        let config = Config::load(dir.root())?;
        let key = keyfile::read(&dir.key_file())?;
        let cache = usize::try_from(config.limits.store_cache_mb.saturating_mul(1024 * 1024))
            .unwrap_or(crate::store::CACHE_BYTES_DEFAULT);
        let mut store = RedbStore::open_with_cache(&dir.store_file(), cache)?;
        // A fresh random actor per boot: a counter kept in the store would roll back with a restored
        // backup and reuse sequence numbers the device already signed (an equivocation).
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes)
            .map_err(|e| NodeError::Store(format!("no randomness for the boot epoch: {e}")))?;
        let epoch = u32::from_be_bytes(bytes);
        store.put_meta(META_EPOCH, &epoch.to_be_bytes())?;
        let mut engine = Engine {
            dir: dir.clone(),
            config,
            key,
            store,
            replica: None,
            epoch,
            settling: None,
            staged: None,
            applied_from_peers: 0,
            authored: 0,
            case_scan: None,
            case_scan_next_pass_ms: 0,
        };
        engine.load_replica()?;
        Ok(engine)
    }

    pub(crate) fn load_replica(&mut self) -> Result<(), NodeError> {
        self.finish_writing()?;
        let Some(genesis) = self.store.get_meta(META_GENESIS)? else {
            self.replica = None;
            return Ok(());
        };
        let key: [u8; 32] = genesis
            .try_into()
            .map_err(|_| NodeError::Store("stored genesis key is corrupt".into()))?;
        let genesis = Genesis {
            key: hallsync_model::DeviceId(key),
        };
        let open_max = usize::try_from(self.config.limits.open_records_max).unwrap_or(usize::MAX);
        let migrate = self.store.found() == Found::Schema1;
        let mut replica = if migrate {
            let mut replica = Replica::new(genesis);
            replica.set_rest(self.store.rest(), open_max);
            replica
        } else {
            let equivocations = self.store.get_meta(META_EQUIVOCATIONS)?;
            let at_rest = AtRest {
                rest: self.store.rest(),
                open_max,
                index: self.store.load_index()?,
                bootstrap: self.bootstrap_certs()?,
                equivocations,
                quarantine: Vec::new(),
            };
            let (replica, problem) = Replica::open_at_rest(genesis, at_rest);
            if let Some(e) = problem {
                tracing::warn!("the stored equivocations are unreadable and skipped: {e}");
            }
            replica
        };
        replica.set_quarantine_max(
            self.config.limits.quarantine_entries_max as usize,
            self.config.limits.quarantine_bytes_max as usize,
        );
        replica.set_local_device(self.key.device_id());
        let parts_dir = self.dir.parts_dir();
        let parts = crate::part_files::PartFiles::open(&parts_dir).map_err(|e| NodeError::Io {
            action: "create",
            path: parts_dir,
            source: e,
        })?;
        replica.set_parts(std::sync::Arc::new(parts));
        if migrate {
            // Schema 1 kept only the envelope log: judge every envelope once more, as every open
            // did then, and write the records at rest in the same transaction that drops the log.
            tracing::info!(
                "migrating {} from store schema 1 to {}: records are judged once and put at rest",
                self.store.path().display(),
                crate::store::SCHEMA
            );
            replica.add_certificates(self.bootstrap_certs()?);
            let envelopes = self.store.load_v1_envelopes()?;
            let (trust, other): (Vec<SignedChange>, Vec<SignedChange>) = envelopes
                .into_iter()
                .partition(|e| matches!(e.doc.kind(), hallsync_model::DocKind::Trust));
            replica.ingest(trust);
            replica.ingest(other);
        } else {
            // The quarantine is judged again (after the local device and its bound are set): what
            // waited for history or a certificate may have become valid; what was refused is
            // refused again, with its reason.
            replica.ingest(self.store.load_quarantine()?);
        }
        self.store.write(&replica.unsettled(), migrate)?;
        replica.settle();
        self.replica = Some(replica);
        Ok(())
    }

    pub(crate) fn bootstrap_certs(&self) -> Result<Vec<Certificate>, NodeError> {
        match self.store.get_meta(META_CERTS)? {
            Some(bytes) => postcard::from_bytes(&bytes)
                .map_err(|e| NodeError::Store(format!("stored certificates are corrupt: {e}"))),
            None => Ok(Vec::new()),
        }
    }

    /// Learns certificates a peer presented to prove membership (checked to the genesis key against
    /// this node's trust state by the admission): they join the trust state now, as the invitation's
    /// did at `join`, and are kept with them, so the peer is a member here before its certificate
    /// arrives in the trust record — offered the records its scope gives it, its changes judged.
    ///
    /// # Errors
    /// A store error; the certificates are then not kept.
    pub fn learn_certificates(&mut self, certs: Vec<Certificate>) -> Result<(), NodeError> {
        let mut kept = self.bootstrap_certs()?;
        let new: Vec<Certificate> = certs.into_iter().filter(|c| !kept.contains(c)).collect();
        if new.is_empty() {
            return Ok(());
        }
        kept.extend(new.iter().cloned());
        let bytes = hallsync_model::encoding::postcard_bytes(&kept);
        self.store.put_meta(META_CERTS, &bytes)?;
        self.replica_mut()?.add_certificates(new);
        self.persist()
    }

    /// The replica, or [`NodeError::NotJoined`].
    pub fn replica(&self) -> Result<&Replica, NodeError> {
        self.replica.as_ref().ok_or(NodeError::NotJoined)
    }

    pub(crate) fn replica_mut(&mut self) -> Result<&mut Replica, NodeError> {
        self.replica.as_mut().ok_or(NodeError::NotJoined)
    }

    /// The device key.
    pub fn key(&self) -> &DeviceKey {
        &self.key
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The data directory.
    pub fn dir(&self) -> &DataDir {
        &self.dir
    }

    /// The wire limits from config.
    pub fn wire_limits(&self) -> WireLimits {
        WireLimits {
            message_bytes_max: self.config.limits.message_bytes_max as usize,
            changes_per_message_max: self.config.limits.changes_per_message_max as usize,
        }
    }

    /// What this node last knew of `peer`'s records (empty when never synced, or when the stored
    /// state is unreadable: that costs an early push, never correctness).
    pub fn peer_state(&self, peer: &hallsync_model::DeviceId) -> hallsync_model::PeerState {
        match self.store.peer_sync(&peer.0) {
            Ok(Some(bytes)) => hallsync_model::PeerState::from_bytes(&bytes).unwrap_or_else(|e| {
                tracing::warn!(peer = %peer, "starting afresh: {e}");
                hallsync_model::PeerState::default()
            }),
            Ok(None) => hallsync_model::PeerState::default(),
            Err(e) => {
                tracing::warn!(peer = %peer, "could not read the peer's sync state: {e}");
                hallsync_model::PeerState::default()
            }
        }
    }

    /// Stores what this node knows of `peer`'s records, so the next connection resumes from it.
    ///
    /// # Errors
    /// A store error.
    pub fn save_peer_state(
        &mut self,
        peer: &hallsync_model::DeviceId,
        state: &hallsync_model::PeerState,
    ) -> Result<(), NodeError> {
        self.store.put_peer_sync(&peer.0, &state.to_bytes())
    }

    /// Takes in changes from a peer or a bundle and stores what was applied or quarantined.
    ///
    /// # Errors
    /// [`NodeError::NotJoined`] or a store error (then nothing of the batch is stored, and a restart
    /// rebuilds the replica from what was).
    pub fn ingest(&mut self, changes: Vec<SignedChange>) -> Result<IngestReport, NodeError> {
        let report = pipeline::ingest_pipelined(self.replica_mut()?, changes);
        self.persist()?;
        // Parts go once what erases them is committed: a crash between cannot lose an erasure
        // whose parts are gone.
        log_parts(
            &self
                .replica_mut()?
                .settle_parts(&report.applied, Vec::new()),
        );
        Ok(report)
    }

    /// [`Engine::ingest`] of a peer's sync step, written behind: the step is committed on the
    /// store's writer thread while the node answers and applies the next one, so applying and
    /// writing overlap. A crash before the commit loses the step whole, and sync finds it missing
    /// and receives it again; what a user acknowledges never goes this way.
    ///
    /// # Errors
    /// [`NodeError::NotJoined`], or the failure of the step written before (what it carried is
    /// written with the next write instead).
    pub fn ingest_from_peer(
        &mut self,
        changes: Vec<SignedChange>,
        parts: Vec<hallsync_model::replica::parts::CarriedPart>,
    ) -> Result<IngestReport, NodeError> {
        let replica = self.replica.as_mut().ok_or(NodeError::NotJoined)?;
        let evicted = replica.quarantine_evicted();
        let refused = replica.refusals().total();
        let report = pipeline::ingest_pipelined(replica, changes);
        // Before the write behind commits: if a crash loses this step, the peer holds what it sent
        // (an erasure included) and sends it again.
        log_parts(&replica.settle_parts(&report.applied, parts));
        self.applied_from_peers += report.applied.len() as u64;
        let now_evicted = replica.quarantine_evicted();
        if now_evicted > evicted {
            tracing::warn!(
                "the quarantine is at its bounds ({} entries, {} bytes): the {} oldest were evicted ({now_evicted} since start; sync brings back what peers still hold; raise limits.quarantine_entries_max or quarantine_bytes_max, or look at `hallsync quarantine`)",
                replica.quarantine().len(),
                replica.quarantine_bytes(),
                now_evicted - evicted
            );
        }
        let now_refused = replica.refusals().total();
        if now_refused > refused {
            tracing::info!(
                "refused {} received changes without keeping them (junk, forged or by devices not certified; {now_refused} since start; `hallsync quarantine` lists the last few)",
                now_refused - refused
            );
        }
        self.store.persist_behind(replica, &mut self.settling)?;
        Ok(report)
    }

    /// Waits for the step written behind, and lets what it wrote rest (or, if it failed, has the
    /// next write carry it).
    ///
    /// # Errors
    /// The write's failure.
    pub(crate) fn finish_writing(&mut self) -> Result<(), NodeError> {
        match self.replica.as_mut() {
            Some(replica) => self.store.settle_behind(replica, &mut self.settling),
            None => {
                self.settling = None;
                self.store.wait_behind()
            }
        }
    }

    /// Writes what the replica changed in one durable transaction (after the step written behind,
    /// if any), then lets it rest.
    pub(crate) fn persist(&mut self) -> Result<(), NodeError> {
        // A failed write behind is carried by this one: its error need not stop it.
        if let Err(e) = self.finish_writing() {
            tracing::warn!("writing received changes failed: {e}; writing them again now");
        }
        let replica = self.replica.as_mut().ok_or(NodeError::NotJoined)?;
        self.store.persist(replica)
    }

    /// Makes a local change and stores it before returning: once this returns, the change survives
    /// a crash.
    pub(crate) fn author(
        &mut self,
        doc: &hallsync_model::DocId,
        puts: &[(String, hallsync_model::ScalarValue)],
    ) -> Result<SignedChange, NodeError> {
        self.authored += 1;
        let key = self.key.clone();
        let epoch = self.epoch;
        let envelope = self
            .replica_mut()?
            .author(&key, epoch, doc, now_ms(), puts)?;
        self.persist()?;
        // After the commit: an erasure written here is durable before its parts are erased.
        log_parts(
            &self
                .replica_mut()?
                .settle_parts(std::slice::from_ref(&envelope), Vec::new()),
        );
        Ok(envelope)
    }
}

/// Says what keeping and erasing sealed parts did that an operator should know.
fn log_parts(report: &hallsync_model::case_parts::PartsReport) {
    if report.erased > 0 {
        tracing::info!(
            "erased {} sealed parts of cases whose personal data a party erased (D1)",
            report.erased
        );
    }
    if !report.refused.is_empty() {
        tracing::info!(
            "refused {} sealed parts from a peer without keeping them (first: {})",
            report.refused.len(),
            report.refused[0]
        );
    }
    for failure in &report.failures {
        tracing::warn!("{failure}; the part is asked of peers again");
    }
}
