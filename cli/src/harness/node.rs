//! One node: its data directory and, while it runs, its `hallsync run` child process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use hallsync_node::control::ControlInfo;
use hallsync_node::{Command, DataDir};
use serde_json::Value;

use super::wait_until;
use crate::client::{call, execute};

/// A node of a federation.
pub struct NodeProcess {
    /// A short name for narration (city, district, …).
    pub name: String,
    /// Its data directory.
    pub dir: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
}

impl NodeProcess {
    /// A node whose directory is `dir`, run with the `hallsync` binary at `bin`.
    pub fn new(name: &str, dir: PathBuf, bin: &Path) -> Self {
        NodeProcess {
            name: name.to_string(),
            dir,
            bin: bin.to_path_buf(),
            child: None,
        }
    }

    /// Runs `hallsync ARGS --json` to completion and returns its JSON output.
    ///
    /// # Errors
    /// The command's stderr when it exits non-zero.
    pub fn cli(&self, args: &[&str]) -> Result<Value> {
        let out = Process::new(&self.bin)
            .args(args)
            .arg("--json")
            .env_remove("HALLSYNC_DATA")
            .output()
            .with_context(|| format!("running {}", self.bin.display()))?;
        if !out.status.success() {
            bail!(
                "hallsync {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).context("hallsync printed no JSON")
    }

    /// A fresh invitation request for `device` as `role` of hall `hall` (level `level`) under
    /// `parent`, with every optional part at its default.
    pub fn invitation(
        device: String,
        hall: &str,
        level: &str,
        role: &str,
        parent: Option<&str>,
        hall_name: &str,
    ) -> Command {
        Command::Invite(hallsync_node::engine::InviteRequest {
            device,
            hall: hall.into(),
            level: level.into(),
            role: role.into(),
            parent: parent.map(String::from),
            hall_name: Some(hall_name.into()),
            kinds: None,
            subtree: None,
            may_certify: None,
            valid_days: None,
        })
    }

    /// Starts `hallsync run` and waits until its control API answers and it listens (if its
    /// config gives it addresses to listen on).
    ///
    /// # Errors
    /// When the process exits or does not come up within `timeout`.
    pub fn start(&mut self, timeout: Duration) -> Result<()> {
        // The harness runs nodes on 127.0.0.1 only: mDNS would multicast on every interface, so it
        // is off for the nodes it starts (the lab tries it inside network namespaces).
        if let Ok(mut config) = hallsync_config::Config::load(&self.dir) {
            if config.network.mdns {
                config.network.mdns = false;
                config.save(&self.dir)?;
            }
        }
        let child = spawn_run(Process::new(&self.bin), &self.dir)?;
        self.child = Some(child);
        let name = self.name.clone();
        // A node that listens nowhere (one behind NAT that only dials out) is up once it answers.
        let listens = hallsync_config::Config::load(&self.dir)
            .map(|c| !c.network.listen.is_empty())
            .unwrap_or(true);
        wait_until(
            &format!("{name} to start"),
            timeout,
            Duration::from_millis(50),
            || {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    let log =
                        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default();
                    bail!("{name} exited with {status}: {}", log.trim());
                }
                let status = self.call(Command::Status);
                Ok(status.is_ok_and(|s| {
                    !listens || s["listen_addrs"].as_array().is_some_and(|a| !a.is_empty())
                }))
            },
        )?;
        Ok(())
    }

    /// Sends a command to the running node's control API.
    ///
    /// # Errors
    /// When the node is not running or refuses.
    pub fn call(&self, command: Command) -> Result<Value> {
        let info = ControlInfo::read(&DataDir::new(&self.dir).control_file())?
            .ok_or_else(|| anyhow!("{} is not running", self.name))?;
        call(&self.dir, &info, &command).map_err(|e| match e {
            crate::client::CallError::Unreachable(m) => anyhow!("{} unreachable: {m}", self.name),
            crate::client::CallError::Refused(m) => anyhow!("{} refused: {m}", self.name),
            crate::client::CallError::Impostor(m) => anyhow!("{} impostor: {m}", self.name),
            crate::client::CallError::Unknown(m) => anyhow!("{} outcome unknown: {m}", self.name),
        })
    }

    /// Calls the running node and reads its answer as `T` (the node's answer types, see
    /// `hallsync_node::engine::response`).
    ///
    /// # Errors
    /// As [`NodeProcess::call`], or an answer not of the form `T`.
    pub fn call_as<T: serde::de::DeserializeOwned>(&self, command: Command) -> Result<T> {
        let value = self.call(command)?;
        serde_json::from_value(value)
            .map_err(|e| anyhow!("{}: the answer is not of the expected form: {e}", self.name))
    }

    /// Runs a command through the API when running, else on the store directly.
    ///
    /// # Errors
    /// What the node refuses.
    pub fn exec(&self, command: Command) -> Result<Value> {
        execute(&self.dir, command)
    }

    /// The node's `state_digest`.
    ///
    /// # Errors
    /// When the node cannot be asked.
    pub fn digest(&self) -> Result<String> {
        let status = self.exec(Command::Status)?;
        Ok(status["state_digest"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Asks the node to stop and waits for it (kills it after `timeout`).
    pub fn stop(&mut self, timeout: Duration) {
        let _ = self.call(Command::Shutdown);
        if let Some(mut child) = self.child.take() {
            let waited = wait_until("node exit", timeout, Duration::from_millis(20), || {
                Ok(child.try_wait()?.is_some())
            });
            if waited.is_err() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Kills the process at once (SIGKILL), as a crash or power cut would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// True while the child process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `program` (`hallsync`, or a wrapper that runs it, such as `ip netns exec NS hallsync`)
/// as `run --data DIR`, logging to `DIR/node.log` at `RUST_LOG` (info when unset). Any
/// `control.json` left from before is removed first, so a caller waiting for it waits for this run.
///
/// # Errors
/// When the log cannot be created or the process not started.
pub fn spawn_run(mut program: Process, dir: &Path) -> Result<std::process::Child> {
    let _ = std::fs::remove_file(DataDir::new(dir).control_file());
    let log = std::fs::File::create(dir.join("node.log"))?;
    program
        .args(["run", "--data"])
        .arg(dir)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting hallsync run")
}
