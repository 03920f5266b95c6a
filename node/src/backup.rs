//! `backup` and `restore`: one file that holds a node — its config, its device key and a
//! consistent copy of its store — and the way back from it.
//!
//! ```text
//! file  = MAGIC (16 bytes) | header length (u32 LE) | header (JSON) | store bytes | SHA-256(store)
//!         | parts: (length (u32 LE) | sealed part)* | SHA-256(parts)      (when header.parts > 0)
//! ```
//! The cases' sealed parts (`DIR/parts/`, see [`crate::part_files`]) follow the store: a case local
//! to one hall has no other holder to fetch them from. A part whose case was erased after the
//! backup was taken is erased again once the restored node holds the erasure (its retention scan,
//! or sync), so keep backups no longer than `cases.retention_days`.
//! The store is copied while nothing writes it: the engine finishes the write it has behind, and
//! the event loop (the store's only writer) is busy with this command until the copy is done, so
//! the file copied is redb's last committed state. A running node is therefore paused for the time
//! the copy takes (about a second per 100 MB).
//!
//! The file holds the device key: keep it as safe as the key itself (it is written 0600). A node
//! restored from it is the same device; it starts with a new boot epoch (so it never reuses an
//! automerge sequence number, whatever it signed after the backup) and a new control token, and
//! takes what it lacks from its peers. Restored from an old backup, it has lost only what it
//! signed after the backup and no peer received; everything else comes back by sync.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::NodeError;
use crate::paths::DataDir;

/// The first bytes of every backup file.
pub const MAGIC: &[u8; 16] = b"HALLSYNC-BACKUP1";

/// Largest header accepted, in bytes (a config and a key are a few KB).
const HEADER_BYTES_MAX: u32 = 1024 * 1024;

/// What a backup says about itself, besides the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    /// When it was taken, ms since the Unix epoch.
    pub created_ms: i64,
    /// The hall of the node.
    pub hall: String,
    /// The device id.
    pub device_id: String,
    /// `config.toml` as it was.
    pub config: String,
    /// `device.key` as it was, hex.
    pub key: String,
    /// Bytes of the store that follow the header.
    pub store_bytes: u64,
    /// Sealed parts that follow the store (none in backups made before parts existed).
    #[serde(default)]
    pub parts: u64,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> NodeError + 'a {
    move |source| NodeError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a backup of `dir` (whose store is quiescent: see the module doc) to `out`, which must not
/// exist. Returns the header.
///
/// # Errors
/// [`NodeError::Io`] when a file cannot be read or written.
pub fn write(
    dir: &DataDir,
    hall: &str,
    device_id: &str,
    out: &Path,
) -> Result<BackupHeader, NodeError> {
    let config_path = dir.root().join(hallsync_config::CONFIG_FILE_NAME);
    let config = std::fs::read_to_string(&config_path).map_err(io("read", &config_path))?;
    let key_path = dir.key_file();
    let key = std::fs::read(&key_path).map_err(io("read", &key_path))?;
    let store_path = dir.store_file();
    let mut store = std::fs::File::open(&store_path).map_err(io("read", &store_path))?;
    let store_bytes = store.metadata().map_err(io("read", &store_path))?.len();
    let parts = crate::part_files::PartFiles::open(&dir.parts_dir())
        .map_err(io("read", &dir.parts_dir()))?;
    let part_ids = parts.ids();
    let header = BackupHeader {
        created_ms: crate::engine::now_ms(),
        hall: hall.to_string(),
        device_id: device_id.to_string(),
        config,
        key: hex::encode(key),
        store_bytes,
        parts: part_ids.len() as u64,
    };
    let json = serde_json::to_vec(&header)
        .unwrap_or_else(|e| unreachable!("a backup header encodes: {e}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(out).map_err(io("create", out))?;
    let mut w = std::io::BufWriter::new(file);
    let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
    w.write_all(MAGIC).map_err(io("write", out))?;
    w.write_all(&len.to_le_bytes()).map_err(io("write", out))?;
    w.write_all(&json).map_err(io("write", out))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = store_bytes;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = store
            .read(&mut buf[..want])
            .map_err(io("read", &store_path))?;
        if n == 0 {
            return Err(NodeError::Io {
                action: "read",
                path: store_path,
                source: std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the store shrank while it was copied",
                ),
            });
        }
        hasher.update(&buf[..n]);
        w.write_all(&buf[..n]).map_err(io("write", out))?;
        left -= n as u64;
    }
    w.write_all(&hasher.finalize()).map_err(io("write", out))?;
    if !part_ids.is_empty() {
        use hallsync_model::replica::parts::PartStore;
        let mut hasher = Sha256::new();
        for id in &part_ids {
            // A part that went between listing and reading (none should: nothing writes now) is
            // written empty, and restore skips it.
            let bytes = parts.get(id).ok().flatten().unwrap_or_default();
            let len = u32::try_from(bytes.len()).unwrap_or(0).to_le_bytes();
            hasher.update(len);
            hasher.update(&bytes);
            w.write_all(&len).map_err(io("write", out))?;
            w.write_all(&bytes).map_err(io("write", out))?;
        }
        w.write_all(&hasher.finalize()).map_err(io("write", out))?;
    }
    let file = w.into_inner().map_err(|e| NodeError::Io {
        action: "write",
        path: out.to_path_buf(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io("write", out))?;
    Ok(header)
}

/// Restores the backup `from` into `dir`, which must not hold a node (a key): the store, checked
/// against the backup's digest before it is kept, then the config, then the key (0600). Returns the
/// header.
///
/// # Errors
/// [`NodeError::NotAllowed`] for a file that is not a whole backup (bad magic, a header out of
/// bounds, a digest that differs) or a directory that holds a node; [`NodeError::Io`].
pub fn restore(from: &Path, dir: &DataDir) -> Result<BackupHeader, NodeError> {
    // A directory holds a node once it holds a key, which restore writes last: a restore killed
    // halfway leaves no key, and running it again finishes it.
    if dir.key_file().exists() {
        return Err(NodeError::AlreadyInitialised {
            path: dir.root().to_path_buf(),
        });
    }
    let bad = |what: &str| {
        NodeError::NotAllowed(format!(
            "{} is not a whole hallsync backup: {what}; nothing was restored",
            from.display()
        ))
    };
    let mut r = std::io::BufReader::new(std::fs::File::open(from).map_err(io("read", from))?);
    let mut magic = [0u8; 16];
    r.read_exact(&mut magic).map_err(|_| bad("too short"))?;
    if &magic != MAGIC {
        return Err(bad("it does not start as one"));
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(|_| bad("too short"))?;
    let len = u32::from_le_bytes(len);
    if len > HEADER_BYTES_MAX {
        return Err(bad("its header is too long"));
    }
    let mut json = vec![0u8; len as usize];
    r.read_exact(&mut json)
        .map_err(|_| bad("its header is cut short"))?;
    let header: BackupHeader =
        serde_json::from_slice(&json).map_err(|_| bad("its header does not read"))?;
    let key = hex::decode(&header.key).map_err(|_| bad("its key does not read"))?;
    hallsync_config::Config::from_toml_str(&header.config, "the backup's config")?;
    std::fs::create_dir_all(dir.root()).map_err(io("create", dir.root()))?;
    let _ = dir.secure();
    // The store goes to a temporary name first: only a store whose digest matches is kept.
    let store_path = dir.store_file();
    let partial = store_path.with_extension("redb.partial");
    let mut out = std::fs::File::create(&partial).map_err(io("create", &partial))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = header.store_bytes;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = r.read(&mut buf[..want]).map_err(io("read", from))?;
        if n == 0 {
            let _ = std::fs::remove_file(&partial);
            return Err(bad("its store is cut short"));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io("write", &partial))?;
        left -= n as u64;
    }
    let mut digest = [0u8; 32];
    let whole = r.read_exact(&mut digest).is_ok() && digest == hasher.finalize().as_slice();
    if !whole {
        let _ = std::fs::remove_file(&partial);
        return Err(bad("its store's digest differs (damaged or cut short)"));
    }
    out.sync_all().map_err(io("write", &partial))?;
    // The parts are read whole and checked before the store is kept.
    let parts = read_parts(&mut r, header.parts).map_err(|what| {
        let _ = std::fs::remove_file(&partial);
        bad(what)
    })?;
    let files = crate::part_files::PartFiles::open(&dir.parts_dir())
        .map_err(io("create", &dir.parts_dir()))?;
    for bytes in &parts {
        use hallsync_model::replica::parts::{part_id, PartStore};
        files
            .put(&part_id(bytes), bytes)
            .map_err(NodeError::Store)?;
    }
    std::fs::rename(&partial, &store_path).map_err(io("rename", &store_path))?;
    std::fs::write(
        dir.root().join(hallsync_config::CONFIG_FILE_NAME),
        &header.config,
    )
    .map_err(io("write", dir.root()))?;
    // Last: the key makes the directory a node (see above).
    crate::keyfile::write_private(&dir.key_file(), &key)?;
    let _ = dir.secure();
    Ok(header)
}

/// Most parts a backup may carry (a hall's cases over decades are far fewer).
const BACKUP_PARTS_MAX: u64 = 50_000_000;

/// Reads `count` sealed parts and their digest; `Err` names what is wrong.
fn read_parts(r: &mut impl Read, count: u64) -> Result<Vec<Vec<u8>>, &'static str> {
    use hallsync_model::replica::parts::PART_BYTES_MAX;
    if count == 0 {
        return Ok(Vec::new());
    }
    if count > BACKUP_PARTS_MAX {
        return Err("it claims more sealed parts than any node holds");
    }
    let mut hasher = Sha256::new();
    let mut parts = Vec::new();
    for _ in 0..count {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)
            .map_err(|_| "its sealed parts are cut short")?;
        let n = u32::from_le_bytes(len) as usize;
        if n > PART_BYTES_MAX {
            return Err("a sealed part in it is larger than any part");
        }
        let mut bytes = vec![0u8; n];
        r.read_exact(&mut bytes)
            .map_err(|_| "its sealed parts are cut short")?;
        hasher.update(len);
        hasher.update(&bytes);
        if n > 0 {
            parts.push(bytes);
        }
    }
    let mut digest = [0u8; 32];
    r.read_exact(&mut digest)
        .map_err(|_| "its sealed parts are cut short")?;
    if digest != hasher.finalize().as_slice() {
        return Err("its sealed parts' digest differs (damaged or cut short)");
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallsync_model::replica::parts::{part_id, PartStore};

    /// A data directory with a config, a key, a store's bytes and two sealed parts.
    fn node_dir(root: &Path) -> DataDir {
        let dir = DataDir::new(root);
        std::fs::create_dir_all(root).unwrap();
        hallsync_config::Config::new(hallsync_config::NodeSection {
            hall: "4403".into(),
            level: "city".into(),
            name: "市中心".into(),
            parent: None,
        })
        .save(root)
        .unwrap();
        std::fs::write(dir.key_file(), [9u8; 32]).unwrap();
        std::fs::write(dir.store_file(), b"store bytes as redb left them").unwrap();
        let parts = crate::part_files::PartFiles::open(&dir.parts_dir()).unwrap();
        for bytes in [b"sealed applicant".as_slice(), b"sealed note"] {
            parts.put(&part_id(bytes), bytes).unwrap();
        }
        dir
    }

    #[test]
    fn a_backup_carries_the_sealed_parts_and_a_damaged_one_restores_nothing() {
        // Goal (issue #14): a case local to one hall has no other holder of its sealed parts, so
        // the backup carries them; restore checks them before it keeps anything.
        let tmp = tempfile::tempdir().unwrap();
        let from = node_dir(&tmp.path().join("node"));
        let file = tmp.path().join("node.hsbk");
        let header = write(&from, "4403", "device", &file).unwrap();
        assert_eq!(header.parts, 2);
        let to = DataDir::new(tmp.path().join("restored"));
        restore(&file, &to).unwrap();
        let restored = crate::part_files::PartFiles::open(&to.parts_dir()).unwrap();
        assert_eq!(
            restored.ids(),
            crate::part_files::PartFiles::open(&from.parts_dir())
                .unwrap()
                .ids()
        );
        assert_eq!(
            restored.get(&part_id(b"sealed note")).unwrap().unwrap(),
            b"sealed note"
        );
        // One byte of a part flipped: nothing is restored, the directory is not a node.
        let mut bytes = std::fs::read(&file).unwrap();
        let at = bytes.windows(11).position(|w| w == b"sealed note").unwrap();
        bytes[at] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        let again = DataDir::new(tmp.path().join("again"));
        let err = restore(&file, &again).unwrap_err().to_string();
        assert!(err.contains("sealed parts"), "{err}");
        assert!(!again.key_file().exists() && !again.store_file().exists());
    }
}
