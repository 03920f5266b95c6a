//! The node's error enum: what went wrong and what to do.

use std::path::PathBuf;

use hallsync_model::{IdentityError, RecordError, Rejection, TrustError};

/// Everything the node can fail at, for the CLI to print.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The data directory is missing or not a hallsync directory.
    #[error("{path} is not a hallsync data directory ({reason}); create one with `hallsync init --data {path}`", path = path.display())]
    NotADataDir {
        /// The directory.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// `init` into a directory that already holds a node.
    #[error("{path} already holds a node; pick an empty directory or remove it first", path = path.display())]
    AlreadyInitialised {
        /// The directory.
        path: PathBuf,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}", path = path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The key file is corrupt.
    #[error("the device key in {path} is corrupt: {reason}; restore it from a backup", path = path.display())]
    BadKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store could not be opened or written.
    #[error("store error: {0}")]
    Store(String),
    /// A proposal breaks an entry rule (the message names the rule).
    #[error(transparent)]
    Entry(#[from] hallsync_model::entry::EntryError),
    /// The system clock reads a time before 1970: every timestamp the node would sign is wrong.
    #[error("the system clock reads {seconds_before} s before 1970-01-01: set the clock (timedatectl set-ntp true, or date -s) and start again; nothing was done")]
    ClockBefore1970 {
        /// How far before the Unix epoch it reads.
        seconds_before: u64,
    },
    /// A newer hallsync wrote the store: this version does not know its layout and touches nothing.
    #[error("the store {path} has store schema {found}, written by a newer hallsync; this version reads store schema {supported}: upgrade hallsync, or restore a backup this version made", path = path.display())]
    StoreSchema {
        /// The store file.
        path: PathBuf,
        /// The schema the store has.
        found: u32,
        /// The schema this version reads.
        supported: u32,
    },
    /// The store is held by a running node.
    #[error("the store in {path} is in use by a running node, and its control API did not answer; stop that node or wait for it", path = path.display())]
    StoreLocked {
        /// The directory.
        path: PathBuf,
    },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] hallsync_config::ConfigError),
    /// This node has not joined a network yet.
    #[error("this node has not joined a network: run `hallsync join --data DIR TOKEN` with a token from your administrator")]
    NotJoined,
    /// The node already belongs to a network.
    #[error("this node already belongs to network {network}")]
    AlreadyJoined {
        /// Its network.
        network: String,
    },
    /// An invitation token that does not decode or does not verify.
    #[error("invalid invitation token: {reason}")]
    BadToken {
        /// What is wrong.
        reason: String,
    },
    /// A bad device id.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A bad record id or field.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A certificate that may not be issued.
    #[error("cannot issue that certificate: {0}")]
    Trust(TrustError),
    /// The change was refused by the same checks every peer applies.
    #[error("refused: {0}")]
    Refused(Rejection),
    /// The user may not do this.
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// A named thing does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The network layer failed to start.
    #[error("network: {0}")]
    Network(String),
}

// Written out rather than `#[from]`, which would also make the inner error the `source` and print
// its message twice in `{:#}` chains.
impl From<TrustError> for NodeError {
    fn from(e: TrustError) -> Self {
        NodeError::Trust(e)
    }
}

impl From<Rejection> for NodeError {
    fn from(e: Rejection) -> Self {
        NodeError::Refused(e)
    }
}

impl From<redb::Error> for NodeError {
    fn from(e: redb::Error) -> Self {
        NodeError::Store(e.to_string())
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for NodeError {
            fn from(e: $t) -> Self {
                NodeError::Store(e.to_string())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
