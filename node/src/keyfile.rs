//! The device key on disk: 32 secret bytes in hex, readable only by the owner (mode 0600).

use std::io::Write;
use std::path::Path;

use hallsync_model::DeviceKey;

use crate::error::NodeError;

/// Makes a new key from the operating system's RNG and writes it with mode 0600.
///
/// # Errors
/// [`NodeError::Io`] when the file exists or cannot be written.
pub fn create(path: &Path) -> Result<DeviceKey, NodeError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| NodeError::Io {
        action: "get random bytes for",
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let key = DeviceKey::from_seed(seed);
    write_private(path, hex::encode(seed).as_bytes())?;
    Ok(key)
}

/// Reads the device key.
///
/// # Errors
/// [`NodeError::Io`] or [`NodeError::BadKeyFile`].
pub fn read(path: &Path) -> Result<DeviceKey, NodeError> {
    let text = std::fs::read_to_string(path).map_err(|source| NodeError::Io {
        action: "read the device key",
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = hex::decode(text.trim()).map_err(|e| NodeError::BadKeyFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| NodeError::BadKeyFile {
        path: path.to_path_buf(),
        reason: "expected 32 bytes".into(),
    })?;
    Ok(DeviceKey::from_seed(seed))
}

/// Writes a file only the owner can read, failing if it exists (never overwrite a key).
///
/// # Errors
/// [`NodeError::Io`].
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    let io = |source| NodeError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(())
}
