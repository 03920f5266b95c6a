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

    /// Cases' sealed parts (see [`crate::part_files`]).
    pub fn parts_dir(&self) -> PathBuf {
        self.root.join("parts")
    }

    /// The control API's address and token, present while a node runs.
    pub fn control_file(&self) -> PathBuf {
        self.root.join("control.json")
    }

    /// Makes the directory readable by its owner only (0700) and every file in it 0600: the store
    /// holds every record (cases carry personal data) and the key signs for the hall. Returns one
    /// line for each path that was wider and is now narrowed, for the caller to warn with; a path
    /// that cannot be changed (not the owner's) is named too. Nothing to do off Unix.
    pub fn secure(&self) -> Vec<String> {
        let mut fixed = Vec::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mut narrow = |path: &Path, mode: u32| {
                let Ok(meta) = std::fs::symlink_metadata(path) else {
                    return;
                };
                let now = meta.permissions().mode() & 0o777;
                if now & !mode == 0 {
                    return;
                }
                match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
                    Ok(()) => fixed.push(format!(
                        "{} was readable by others ({now:o}); it is {mode:o} now",
                        path.display()
                    )),
                    Err(e) => fixed.push(format!(
                        "{} is readable by others ({now:o}) and cannot be narrowed: {e}",
                        path.display()
                    )),
                }
            };
            narrow(&self.root, 0o700);
            if let Ok(entries) = std::fs::read_dir(&self.root) {
                for entry in entries.flatten() {
                    // Links are left alone: narrowing one would change what it points to.
                    if entry.file_type().is_ok_and(|t| t.is_file()) {
                        narrow(&entry.path(), 0o600);
                    }
                }
            }
        }
        fixed
    }
}
