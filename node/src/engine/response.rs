//! The answers of the control API, typed: the node builds them and the CLI reads them with the
//! same types, so a renamed or retyped field fails to compile or fails to read with an error that
//! names it — never a silent "-" in the output. Over the wire they are JSON (`--json` prints them).

use std::collections::BTreeMap;

use hallsync_model::cases::CaseView;
use hallsync_model::departments::DepartmentView;
use hallsync_model::records::item_table::CellError;
use hallsync_model::records::policy::ApprovalPolicy;
use hallsync_model::roster::StaffView;
use hallsync_model::{ItemView, Proposal, SignedChange, StationView};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Encodes an answer for the wire. Plain data of strings, numbers and maps with string keys always
/// encodes: a failure would be a bug in these types, which the tests would show at once.
pub fn encode<T: Serialize>(answer: &T) -> Value {
    serde_json::to_value(answer).unwrap_or_else(|e| unreachable!("an answer encodes: {e}"))
}

/// A signed change written and made durable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Written {
    /// The record it changed.
    pub doc: String,
    /// The first 8 bytes of its digest, in hex.
    pub change: String,
    /// Committed to the store before the answer was sent.
    pub durable: bool,
    /// The proposal it made or changed, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
    /// What this node could not check and the receiver will (K11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The case after the change, for case steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseView>,
    /// The decision signed, for approvals and rejections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<hallsync_model::Decision>,
}

impl Written {
    /// The answer for `envelope`, with nothing else to say.
    pub fn of(envelope: &SignedChange) -> Written {
        Written {
            doc: envelope.doc.to_string(),
            change: hex::encode(&envelope.digest()[..8]),
            durable: true,
            proposal: None,
            note: None,
            case: None,
            decision: None,
        }
    }
}

/// One peer as this node knows it (`peer list`, `status`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Its device id.
    pub device_id: String,
    /// Its libp2p peer id (the `/p2p/…` part of its address).
    pub peer_id: String,
    /// The halls its certificates name (empty while this node has not heard of it).
    pub halls: Vec<String>,
    /// Connected now.
    pub connected: bool,
    /// How: `direct` and the address, while connected.
    pub path: Option<String>,
    /// When anything was last heard from it, ms since the Unix epoch.
    pub last_seen_ms: Option<i64>,
    /// When its last sync round completed, ms since the Unix epoch.
    pub last_sync_ms: Option<i64>,
    /// The last completed round moved nothing either way: the two held the same records of their
    /// shared scope then. `None` before any round completed.
    pub in_sync: Option<bool>,
    /// A bound cut the last round short and another follows: a first sync or a long catch-up.
    #[serde(default)]
    pub catching_up: bool,
    /// Changes received from it since the node started.
    #[serde(default)]
    pub changes_received: u64,
    /// Changes it lacked from this node in the last completed round (sent to it).
    pub it_lacked: usize,
    /// Changes this node lacked from it in the last completed round (received).
    pub we_lacked: usize,
    /// Sync rounds completed with it.
    pub rounds_completed: u64,
    /// Sync rounds that failed or were refused.
    pub rounds_failed: u64,
    /// Bytes of sync frames received from it.
    pub bytes_in: u64,
    /// Bytes of sync frames sent to it.
    pub bytes_out: u64,
    /// A digest of what this node holds that it should hold too; the peer prints the same value
    /// for this node when their shared records agree.
    pub shared_digest: Option<String>,
    /// The last thing that went wrong with it, in words.
    pub last_error: Option<String>,
}

/// A certificate this device holds, as `status` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAt {
    /// The hall.
    pub hall: String,
    /// The role there.
    pub role: String,
}

/// What the network part of a node says of itself (only while `run` is running).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The network's id.
    pub network_id: String,
    /// This device's certificates.
    pub roles: Vec<RoleAt>,
    /// Records held.
    pub documents: usize,
    /// Changes waiting in quarantine.
    pub quarantined: usize,
    /// Their bytes.
    pub quarantine_bytes: usize,
    /// Quarantine entries evicted since start to stay within the bounds.
    pub quarantine_evicted: u64,
    /// Changes refused and not kept since start.
    pub refused_changes: u64,
    /// Equivocations seen.
    pub equivocations: usize,
    /// Certificates revoked.
    pub revoked_certificates: usize,
    /// The digest of the effective state.
    pub state_digest: String,
    /// Records open in memory.
    pub open_records: usize,
    /// The bound on them.
    pub open_records_max: u64,
    /// Stored records that could not be read.
    pub unreadable_records: u64,
    /// The id of this device's sealing key as the trust record announces it (issue #14); `None`
    /// until the node has announced it (it does so on its first tick once it holds a certificate).
    #[serde(default)]
    pub seal_key: Option<String>,
    /// Sealed parts of cases named by records held here but not held (asked of peers every round;
    /// they arrive from any holder that shares the case).
    #[serde(default)]
    pub missing_parts: usize,
}

/// `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// This device.
    pub device_id: String,
    /// Its hall.
    pub hall: String,
    /// The hall's name.
    pub hall_name: String,
    /// The hall's level.
    pub level: String,
    /// The store's epoch.
    pub epoch: u32,
    /// A node is running on this data directory.
    pub running: bool,
    /// It is online.
    pub online: bool,
    /// Peers connected now.
    pub connected_peers: Vec<String>,
    /// Addresses it listens on.
    pub listen_addrs: Vec<String>,
    /// Peers refused admission since start.
    pub admission_refusals: u64,
    /// Every peer known since start (empty when no node runs).
    #[serde(default)]
    pub peers: Vec<PeerStatus>,
    /// Whether other members can dial this node, and through which relay, in words.
    #[serde(default)]
    pub reach: Option<String>,
    /// Where `/metrics` is served (`metrics.listen`), while the node runs with it on.
    #[serde(default)]
    pub metrics_addr: Option<String>,
    /// The addresses peers should dial this node at (`network.announce`), with its peer id.
    #[serde(default)]
    pub announced: Vec<String>,
    /// The addresses in config (`network.peers`, `peer add`), dialled whatever happens.
    #[serde(default)]
    pub configured_peers: Vec<String>,
    /// Rows in the store.
    pub stored_records: u64,
    /// Rows that could not be read.
    pub unreadable_rows: u64,
    /// The node has joined a network.
    pub joined: bool,
    /// What it holds of the network, once joined.
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub membership: Option<Membership>,
}

/// A page of `items`: catalogue items first, then stationings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsPage {
    /// Catalogue items.
    pub items: Vec<ItemView>,
    /// Stationings in effect.
    pub stationed: Vec<StationView>,
    /// Stationings proposed or rejected.
    pub not_effective: Vec<StationView>,
    /// The cursor of the next page.
    pub next: Option<String>,
}

/// A page of `pending`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPage {
    /// Proposals this device may decide.
    pub pending: Vec<Proposal>,
    /// The cursor of the next page.
    pub next: Option<String>,
}

/// A page of `case list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CasesPage {
    /// The cases.
    pub cases: Vec<CaseView>,
    /// The cursor of the next page.
    pub next: Option<String>,
}

/// `dept list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentList {
    /// The departments.
    pub departments: Vec<DepartmentView>,
}

/// `staff list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffList {
    /// The roster.
    pub staff: Vec<StaffView>,
}

/// A change waiting in quarantine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRow {
    /// The first 8 bytes of its digest, in hex.
    pub id: String,
    /// Its record.
    pub doc: String,
    /// Its author.
    pub author: String,
    /// Why it waits, as a code.
    pub reason_code: String,
    /// Why, in words.
    pub reason: String,
}

/// A change refused and not kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedRow {
    /// Its record.
    pub doc: String,
    /// Its author.
    pub author: String,
    /// Why, as a code.
    pub reason_code: String,
    /// Why, in words.
    pub reason: String,
}

/// A page of `quarantine`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinePage {
    /// Waiting changes.
    pub quarantined: Vec<QuarantineRow>,
    /// How many wait in all.
    pub total: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Evicted since start.
    pub evicted: u64,
    /// The cursor of the next page.
    pub next: Option<String>,
    /// The latest refusals, newest first.
    pub refused: Vec<RefusedRow>,
    /// Refusals since start by reason code.
    pub refused_counts: BTreeMap<String, u64>,
    /// Refusals since start.
    pub refused_total: u64,
}

/// `catalogue import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Every row is good (and, unless a dry run, written).
    pub ok: bool,
    /// Nothing was written, by request.
    #[serde(default)]
    pub dry_run: bool,
    /// Rows staged so far, for an import sent in parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged: Option<usize>,
    /// Items written.
    pub imported: usize,
    /// Items already as given.
    #[serde(default)]
    pub unchanged: usize,
    /// Rows read.
    pub rows: usize,
    /// Every bad cell.
    pub errors: Vec<CellError>,
}

/// `policy show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReport {
    /// The policy in effect for each action.
    pub effective: BTreeMap<String, ApprovalPolicy>,
    /// A change of policy awaiting approval.
    pub pending: Option<Proposal>,
}

/// `calendar due`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueReport {
    /// The first day.
    pub from: String,
    /// Working days counted.
    pub days: u32,
    /// The due day.
    pub due: String,
    /// The count crosses a year whose arrangement is not published (W6).
    pub provisional: bool,
    /// Working days from today to the due day.
    pub working_days_left: i64,
}

/// `revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// The revocation's id.
    pub revocation: String,
    /// Certificates it revokes.
    pub certificates_revoked: usize,
    /// Records whose changes it keeps.
    pub kept_records: usize,
    /// Certificates it keeps.
    pub kept_certificates: usize,
    /// The trust record.
    pub doc: String,
    /// Committed before the answer.
    pub durable: bool,
}

/// `rotate-key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    /// The retired device id.
    pub old_device_id: String,
    /// The new one.
    pub device_id: String,
    /// The successor certificates.
    pub certificates: Vec<String>,
    /// Where the old key file was moved.
    pub retired_key_file: String,
}

/// `invite`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteToken {
    /// The signed invitation token, to give the invitee.
    pub token: String,
}

/// `store check`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreCheck {
    /// The store equals a rebuild from its signed changes.
    pub ok: bool,
    /// Records held.
    pub records: usize,
    /// Changes in quarantine.
    pub quarantined: usize,
    /// Stored records that could not be read.
    pub unreadable_records: u64,
    /// Where the store and the rebuild differ.
    pub differences: Vec<String>,
    /// How long the check took.
    pub seconds: f64,
}

/// `bundle import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleImported {
    /// Changes applied.
    pub applied: usize,
    /// Changes waiting in quarantine.
    pub quarantined: usize,
    /// Changes refused.
    pub refused: usize,
    /// Changes already held.
    pub duplicates: usize,
}

/// `backup`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupWritten {
    /// The backup file.
    pub file: String,
    /// Bytes of the store it holds.
    pub store_bytes: u64,
    /// When it was taken, ms since the Unix epoch.
    pub created_ms: i64,
}

/// `restore`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    /// The data directory restored into.
    pub restored: String,
    /// The node's hall.
    pub hall: String,
    /// Its device id.
    pub device_id: String,
    /// When the backup was taken, ms since the Unix epoch.
    pub backup_taken_ms: i64,
}

/// `bundle export`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleExported {
    /// Changes in the bundle.
    pub changes: usize,
    /// The bundle, hex.
    pub bundle: String,
}

/// `halls`: the hall tree at and below this node's hall.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HallTree {
    /// Depth first, each hall after its parent.
    pub halls: Vec<HallRow>,
}

/// One hall of [`HallTree`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HallRow {
    /// Its id.
    pub id: String,
    /// Its certified name.
    pub name: String,
    /// Its level, in Chinese.
    pub level: String,
    /// The hall above it.
    pub parent: Option<String>,
    /// How far below this node's hall.
    pub depth: usize,
}
