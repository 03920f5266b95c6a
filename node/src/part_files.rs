//! Cases' sealed parts on disk (`DIR/parts/`): one file per part, named by its address, outside the
//! redb store on purpose. redb copies pages on write and leaves freed pages as they were, so a
//! value deleted from it can linger in the file; a part must be erasable for good (D1,
//! crypto-shredding: the part holds the only wraps of its content key), so each is its own file,
//! overwritten with zeros and synced before it is unlinked.
//!
//! Files are written to a temporary name, synced and renamed, so a crash leaves a whole part or
//! none; a file whose digest differs from its name (damage) reads as not held and is fetched again.

use std::io::Write;
use std::path::{Path, PathBuf};

use hallsync_model::replica::parts::{part_id, PartId, PartStore, PART_BYTES_MAX};

/// Parts as files under one directory, fanned out by their first byte.
pub struct PartFiles {
    dir: PathBuf,
}

impl PartFiles {
    /// The parts under `dir`, which is created (0700) if missing.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn open(dir: &Path) -> std::io::Result<PartFiles> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(PartFiles {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, id: &PartId) -> PathBuf {
        let name = hex::encode(id);
        self.dir.join(&name[..2]).join(name)
    }

    /// The addresses of every part held, in order.
    pub fn ids(&self) -> Vec<PartId> {
        let mut ids = Vec::new();
        for fan in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            for entry in std::fs::read_dir(fan.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let id = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| hex::decode(n).ok())
                    .and_then(|b| PartId::try_from(b.as_slice()).ok());
                ids.extend(id);
            }
        }
        ids.sort_unstable();
        ids
    }

    /// How many parts are held and their bytes.
    pub fn count(&self) -> (u64, u64) {
        let mut files = 0;
        let mut bytes = 0;
        for fan in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            for entry in std::fs::read_dir(fan.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let is_part = entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.len() == 64 && !n.contains('.'));
                if is_part {
                    files += 1;
                    bytes += entry.metadata().map_or(0, |m| m.len());
                }
            }
        }
        (files, bytes)
    }
}

fn said(action: &str, path: &Path, e: &std::io::Error) -> String {
    format!("cannot {action} sealed part {}: {e}", path.display())
}

impl PartStore for PartFiles {
    fn get(&self, id: &PartId) -> Result<Option<Vec<u8>>, String> {
        let path = self.path(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(said("read", &path, &e)),
        };
        if bytes.len() > PART_BYTES_MAX || part_id(&bytes) != *id {
            tracing::warn!(
                "sealed part {} is damaged (its digest differs from its name); it is fetched again from peers",
                path.display()
            );
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    fn holds(&self, id: &PartId) -> Result<bool, String> {
        Ok(self.path(id).is_file())
    }

    fn put(&self, id: &PartId, bytes: &[u8]) -> Result<(), String> {
        let path = self.path(id);
        if path.is_file() {
            return Ok(());
        }
        let Some(fan) = path.parent() else {
            return Err(format!("{} has no directory", path.display()));
        };
        std::fs::create_dir_all(fan).map_err(|e| said("create the directory of", &path, &e))?;
        let partial = path.with_extension("partial");
        let mut file = std::fs::File::create(&partial).map_err(|e| said("write", &partial, &e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| said("write", &partial, &e))?;
        std::fs::rename(&partial, &path).map_err(|e| said("rename", &partial, &e))?;
        // The rename is durable once the directory is.
        if let Ok(d) = std::fs::File::open(fan) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn erase(&self, id: &PartId) -> Result<(), String> {
        let path = self.path(id);
        let len = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(said("erase", &path, &e)),
        };
        // Overwrite in place first: an unlinked file's blocks keep their bytes until reused.
        let zeros = vec![
            0u8;
            usize::try_from(len)
                .unwrap_or(PART_BYTES_MAX)
                .min(PART_BYTES_MAX)
        ];
        let overwrite = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| {
                f.write_all(&zeros)?;
                f.sync_all()
            });
        overwrite.map_err(|e| said("overwrite", &path, &e))?;
        std::fs::remove_file(&path).map_err(|e| said("erase", &path, &e))?;
        if let Some(Ok(d)) = path.parent().map(std::fs::File::open) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_kept_read_and_erased_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let parts = PartFiles::open(&dir.path().join("parts")).unwrap();
        let bytes = b"sealed bytes of an applicant".to_vec();
        let id = part_id(&bytes);
        assert_eq!(parts.get(&id).unwrap(), None);
        parts.put(&id, &bytes).unwrap();
        assert!(parts.holds(&id).unwrap());
        assert_eq!(parts.get(&id).unwrap(), Some(bytes.clone()));
        assert_eq!(parts.count(), (1, bytes.len() as u64));
        parts.erase(&id).unwrap();
        assert!(!parts.holds(&id).unwrap());
        assert_eq!(parts.count(), (0, 0));
        parts.erase(&id).unwrap();
    }

    #[test]
    fn a_damaged_part_reads_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let parts = PartFiles::open(&dir.path().join("parts")).unwrap();
        let bytes = b"sealed".to_vec();
        let id = part_id(&bytes);
        parts.put(&id, &bytes).unwrap();
        std::fs::write(parts.path(&id), b"tampered").unwrap();
        assert_eq!(parts.get(&id).unwrap(), None);
    }
}
