//! The configuration's sections, with their defaults.

use serde::{Deserialize, Serialize};

/// A node's whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which hall this node serves.
    pub node: NodeSection,
    /// libp2p addresses, peers and timing.
    #[serde(default)]
    pub network: NetworkSection,
    /// The local control API.
    #[serde(default)]
    pub control: ControlSection,
    /// Bounds that protect the node from peers and from itself.
    #[serde(default)]
    pub limits: LimitsSection,
    /// The Prometheus endpoint (off unless given).
    #[serde(default)]
    pub metrics: MetricsSection,
    /// Where and how `run` logs.
    #[serde(default)]
    pub log: LogSection,
    /// The administrators' web console.
    #[serde(default)]
    pub console: ConsoleSection,
    /// Cross-region cases: how long personal data is kept.
    #[serde(default)]
    pub cases: CasesSection,
}

/// `[cases]`: cross-region cases (通办件).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesSection {
    /// Days after a case is archived that its personal data (the applicant, notes) is kept; then
    /// this node, where it is a party, erases it everywhere (D1, PIPL 19). The seeds set no
    /// period (DG 6.5 and 6.7 say only that leftover materials are destroyed and archives kept
    /// confidential); the handling hall's archive copy lives in its archive system (D4). 0: erase as
    /// soon as the case is archived.
    pub retention_days: u32,
}

impl Default for CasesSection {
    fn default() -> Self {
        CasesSection {
            retention_days: 365,
        }
    }
}

/// `[console]`: the administrators' web console (see `hallsync console`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSection {
    /// Where to serve the console; empty: beside the control API, on loopback. An address the hall's
    /// LAN reaches (`192.168.1.10:8080`) lets an administrator's PC sign in with a link; the
    /// console speaks plain HTTP, so keep it to a network the hall trusts.
    pub listen: String,
    /// How long a sign-in link stays good, in minutes.
    pub link_minutes: u32,
    /// How long a session lasts from sign-in, in minutes (a working day by default).
    pub session_minutes: u32,
    /// Most sessions at once; past it the oldest is signed out.
    pub sessions_max: u32,
}

impl Default for ConsoleSection {
    fn default() -> Self {
        ConsoleSection {
            listen: String::new(),
            link_minutes: 5,
            session_minutes: 600,
            sessions_max: 32,
        }
    }
}

/// `[metrics]`: Prometheus text at `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Where to serve `/metrics` (`127.0.0.1:9464`, or an address a monitoring host reaches); empty:
    /// off. It shows counts only, no records, and needs no token.
    pub listen: String,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// `text` for people, `json` (one object a line) for log collectors; `run --log-format`
    /// overrides it.
    pub format: String,
    /// A directory to log into as well as stderr, one file a day (`hallsync.log.YYYY-MM-DD`);
    /// empty: stderr only. Relative paths are under the data directory.
    pub dir: String,
    /// Daily files kept in `dir`; older ones are deleted.
    pub files_max: u32,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            format: "text".into(),
            dir: String::new(),
            files_max: 14,
        }
    }
}

/// `[node]`: the hall this node serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// The hall's id (division code or another short id).
    pub hall: String,
    /// city, district, township or village.
    pub level: String,
    /// The hall's name.
    pub name: String,
    /// The parent hall (all levels but the city).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// libp2p listen addresses.
    pub listen: Vec<String>,
    /// Peers to keep connected to (multiaddrs ending in `/p2p/PEER_ID`).
    pub peers: Vec<String>,
    /// Addresses other nodes should dial this one at (a public or extranet address, a router's
    /// forwarded port): announced to peers and put in invitation tokens, before the listen
    /// addresses.
    pub announce: Vec<String>,
    /// How often to start a sync round with each connected peer.
    pub sync_interval_ms: u64,
    /// First wait before redialling a lost peer; doubles up to the max.
    pub reconnect_backoff_min_ms: u64,
    /// Longest wait between redials.
    pub reconnect_backoff_max_ms: u64,
    /// How long an idle connection is kept.
    pub idle_timeout_ms: u64,
    /// Most connections open at once, in and out (libp2p's connection limits).
    pub connections_max: u32,
    /// Most incoming connections still in their handshake.
    pub connections_pending_max: u32,
    /// Most connections to one peer.
    pub connections_per_peer_max: u32,
    /// Most connections open at once from devices not admitted yet; each speaks only the admission
    /// protocol and is closed after `admission_timeout_ms`.
    pub strangers_max: u32,
    /// How long a connection may take to prove membership before it is closed.
    pub admission_timeout_ms: u64,
    /// Find other nodes on the local network with mDNS (two nodes in one hall find each other).
    /// Only nodes the trust record names are dialled.
    pub mdns: bool,
    /// Serve as a relay (circuit relay v2) for member nodes that cannot be dialled: on for the
    /// city, district and township nodes `init` makes, which have reachable addresses.
    pub relay_serve: bool,
    /// `auto`: ask peers whether this node can be dialled (AutoNAT) and, when not, reserve a
    /// relay slot at the supervising hall's node — unless it serves as a relay or announces an
    /// address, which count as reachable; `no`: reserve one at once (a 4G router's NAT); `yes`:
    /// never.
    pub reachable: String,
    /// Most relay reservations this node holds for others, when it serves as a relay.
    pub relay_reservations_max: u32,
    /// Longest a relayed connection lasts before it is closed (and made again), in seconds.
    pub relay_circuit_seconds_max: u64,
    /// Most bytes one relayed connection carries before it is closed (and made again).
    pub relay_circuit_bytes_max: u64,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            listen: vec![
                "/ip4/127.0.0.1/tcp/0".into(),
                "/ip4/127.0.0.1/udp/0/quic-v1".into(),
            ],
            peers: Vec::new(),
            announce: Vec::new(),
            sync_interval_ms: 2000,
            reconnect_backoff_min_ms: 500,
            reconnect_backoff_max_ms: 30_000,
            idle_timeout_ms: 60_000,
            connections_max: 64,
            connections_pending_max: 16,
            connections_per_peer_max: 4,
            strangers_max: 8,
            admission_timeout_ms: 10_000,
            mdns: true,
            relay_serve: false,
            reachable: "auto".into(),
            relay_reservations_max: 128,
            relay_circuit_seconds_max: 3600,
            relay_circuit_bytes_max: 256 * 1024 * 1024,
        }
    }
}

/// `[control]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSection {
    /// Where the control API listens; loopback only.
    pub listen: String,
}

impl Default for ControlSection {
    fn default() -> Self {
        ControlSection {
            listen: "127.0.0.1:0".into(),
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Largest sync message sent or accepted, in bytes.
    pub message_bytes_max: u64,
    /// Most signed changes in one sync message.
    pub changes_per_message_max: u64,
    /// Most changes held in quarantine; past it the oldest are evicted (sync brings them again).
    pub quarantine_entries_max: u64,
    /// Most bytes of changes held in quarantine, on disk and in memory; past it the oldest go.
    pub quarantine_bytes_max: u64,
    /// Most concurrent sync streams one connection may open to this node.
    pub streams_per_connection_max: u32,
    /// Most bytes of sync messages read from peers and not yet handled, over all connections: what
    /// peers can make the node buffer. A frame that does not fit is refused and sent again later.
    pub inbound_bytes_max: u64,
    /// Most records kept open in memory (the rest stay on disk until read): bounds a node's memory
    /// whatever it holds, at about 30 KB an open record.
    pub open_records_max: u64,
    /// The store's page cache in MiB: what reading every record (an export, `store check`) may
    /// hold in memory besides the open records.
    pub store_cache_mb: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            message_bytes_max: 8 * 1024 * 1024,
            changes_per_message_max: 10_000,
            quarantine_entries_max: 10_000,
            quarantine_bytes_max: 64 * 1024 * 1024,
            streams_per_connection_max: 8,
            inbound_bytes_max: 128 * 1024 * 1024,
            open_records_max: 2_048,
            store_cache_mb: 64,
        }
    }
}

impl Config {
    /// A configuration for `node` with every other section at its default.
    pub fn new(node: NodeSection) -> Config {
        Config {
            node,
            network: NetworkSection::default(),
            metrics: MetricsSection::default(),
            log: LogSection::default(),
            console: ConsoleSection::default(),
            cases: CasesSection::default(),
            control: ControlSection::default(),
            limits: LimitsSection::default(),
        }
    }
}
