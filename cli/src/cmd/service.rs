//! `hallsync service install`: a systemd unit for one data directory (the template is
//! `deploy/hallsync.service`). It writes the unit and says what to run as root; it runs nothing
//! itself, so it never changes the system behind the operator's back.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cmd::out_path;

/// The template, shipped in the repo and in the binary.
const TEMPLATE: &str = include_str!("../../../deploy/hallsync.service");

/// The unit for the node in `data` (absolute), run as `user` from `bin` (absolute).
pub fn unit(data: &Path, user: &str, bin: &Path, hall: &str, name: &str) -> String {
    let data = data.display().to_string();
    let mut out = String::new();
    for line in TEMPLATE.lines() {
        if line.starts_with('#') {
            continue;
        }
        let line = match line {
            l if l.starts_with("Description=") => {
                format!("Description=hallsync node for hall {hall} {name} (政务服务同步节点)")
            }
            l if l.starts_with("User=") => format!("User={user}"),
            l if l.starts_with("Group=") => format!("Group={user}"),
            l if l.starts_with("ExecStart=") => {
                format!("ExecStart={} run --data {data}", bin.display())
            }
            l if l.starts_with("ReadWritePaths=") => format!("ReadWritePaths={data}"),
            // A data directory under /home would be hidden by ProtectHome.
            "ProtectHome=yes" if data.starts_with("/home/") || data.starts_with("/root/") => {
                "ProtectHome=no".into()
            }
            l => l.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_start().to_string()
}

/// Writes the unit for `data` to `out` (by default `/etc/systemd/system/hallsync-HALL.service`)
/// and prints what to run next.
pub fn install(
    data: &Path,
    user: &str,
    out: Option<PathBuf>,
    force: bool,
    json: bool,
) -> Result<()> {
    if user.is_empty()
        || !user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        bail!("--user `{user}`: give a system user name (letters, digits, '-', '_')");
    }
    let data = data
        .canonicalize()
        .with_context(|| format!("{} is not a data directory", data.display()))?;
    let config = hallsync_config::Config::load(&data).with_context(|| {
        format!(
            "{} holds no node (run `hallsync init` first)",
            data.display()
        )
    })?;
    let bin = std::env::current_exe().context("finding this program's path")?;
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "/etc/systemd/system/hallsync-{}.service",
            config.node.hall
        ))
    });
    out_path::check(&out, &data, force)?;
    let text = unit(&data, user, &bin, &config.node.hall, &config.node.name);
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    let service = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if json {
        outln!(
            "{}",
            serde_json::json!({ "unit": out, "service": service, "user": user, "data": data })
        );
        return Ok(());
    }
    outln!("已写入 wrote {}", out.display());
    outln!("接下来以 root 运行 next, as root:");
    outln!(
        "  useradd --system --home-dir {} --shell /usr/sbin/nologin {user}   # once",
        data.display()
    );
    outln!("  chown -R {user}: {}", data.display());
    outln!("  systemctl daemon-reload && systemctl enable --now {service}");
    outln!("  journalctl -u {service} -f    # 日志 logs");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_the_node_as_its_user_restarts_and_stops_with_sigterm() {
        let text = unit(
            Path::new("/var/lib/hallsync/v1"),
            "hallsync",
            Path::new("/usr/local/bin/hallsync"),
            "440305001001",
            "某村便民服务站",
        );
        for line in [
            "ExecStart=/usr/local/bin/hallsync run --data /var/lib/hallsync/v1",
            "User=hallsync",
            "Restart=on-failure",
            "KillSignal=SIGTERM",
            "ReadWritePaths=/var/lib/hallsync/v1",
            "ProtectHome=yes",
            "WantedBy=multi-user.target",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(
            !text.contains('#'),
            "the template's comments stay in the template"
        );
        let home = unit(
            Path::new("/home/op/node"),
            "op",
            Path::new("/usr/bin/hallsync"),
            "1",
            "n",
        );
        assert!(home.lines().any(|l| l == "ProtectHome=no"));
    }
}
