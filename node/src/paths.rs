//! The files of a data directory.

use std::path::{Path, PathBuf};

/// Where a node keeps its files: `config.toml`, `device.key` (0600), `store.redb`, and while it runs,
/// `control.json` (the control API's address and token, 0600).
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory at `root`.
    pub fn new(root: impl AsRef<Path>) -> Self {
        DataDir {
            root: root.as_ref().to_path_buf(),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The device key file.
    pub fn key_file(&self) -> PathBuf {
        self.root.join("device.key")
    }

    /// The redb store.
    pub fn store_file(&self) -> PathBuf {
        self.root.join("store.redb")
    }

    /// The control API's address and token, present while a node runs.
    pub fn control_file(&self) -> PathBuf {
        self.root.join("control.json")
    }
}
