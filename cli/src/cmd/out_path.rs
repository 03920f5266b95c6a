//! Where a command may write a file: never inside the node's data directory (its store and its key,
//! on the city node the network's root of trust, live there), and never over an existing file unless
//! the user says `--force`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The absolute path `out` names: its directory resolved (links followed), its file name kept. The
/// directory must exist.
fn resolved(out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .with_context(|| format!("{} names no file to write", out.display()))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = parent
        .canonicalize()
        .with_context(|| format!("the folder of {} does not exist", out.display()))?;
    let path = parent.join(name);
    // An existing path may be a link: where it leads is what would be written.
    Ok(path.canonicalize().unwrap_or(path))
}

/// Checks that `out` may be written for a node whose data directory is `data`.
///
/// # Errors
/// `out` is inside the data directory, exists without `force`, or its folder does not exist.
pub fn check(out: &Path, data: &Path, force: bool) -> Result<()> {
    let target = resolved(out)?;
    if let Ok(data) = data.canonicalize() {
        if target.starts_with(&data) {
            bail!(
                "refusing to write {} inside the node's data directory {}: its store and device key live there; \
                 choose a path outside it (拒绝写入节点数据目录)",
                out.display(),
                data.display()
            );
        }
    }
    if !force && target.exists() {
        bail!(
            "{} exists; pass --force to overwrite it (文件已存在)",
            out.display()
        );
    }
    Ok(())
}
