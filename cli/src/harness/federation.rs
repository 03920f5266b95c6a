//! A federation of real nodes on 127.0.0.1: a genesis city and members invited down the tree.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hallsync_config::Config;

use super::node::NodeProcess;
use super::wait_until;

/// How long a node may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A hall level, for building federations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// 市.
    City,
    /// 区县.
    District,
    /// 镇街.
    Township,
    /// 村社区.
    Village,
}

impl Tier {
    fn as_str(self) -> &'static str {
        match self {
            Tier::City => "city",
            Tier::District => "district",
            Tier::Township => "township",
            Tier::Village => "village",
        }
    }
}

/// Nodes under one folder; dropped, every process is killed and a temporary folder removed.
pub struct Federation {
    /// The folder holding one data directory per node.
    pub root: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    bin: PathBuf,
    /// The nodes, in the order added.
    pub nodes: Vec<NodeProcess>,
}

impl Federation {
    /// A federation run with the binary `bin`, in `root` or a temporary folder.
    ///
    /// # Errors
    /// When the folder cannot be made or the binary is missing.
    pub fn new(bin: &Path, root: Option<PathBuf>) -> Result<Self> {
        if !bin.exists() {
            bail!(
                "the hallsync binary is not at {}: build it first (cargo build -p hallsync)",
                bin.display()
            );
        }
        let (root, tmp) = match root {
            Some(r) => {
                std::fs::create_dir_all(&r)?;
                (r, None)
            }
            None => {
                let t = tempfile::Builder::new().prefix("hallsync-").tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        Ok(Federation {
            root,
            _tmp: tmp,
            bin: bin.to_path_buf(),
            nodes: Vec::new(),
        })
    }

    /// The node at `index`.
    pub fn node(&self, index: usize) -> &NodeProcess {
        &self.nodes[index]
    }

    /// The node at `index`, mutably.
    pub fn node_mut(&mut self, index: usize) -> &mut NodeProcess {
        &mut self.nodes[index]
    }

    fn init(
        &self,
        name: &str,
        hall: &str,
        tier: Tier,
        hall_name: &str,
        parent: Option<&str>,
        genesis: bool,
    ) -> Result<(NodeProcess, String)> {
        let dir = self.root.join(name);
        let node = NodeProcess::new(name, dir.clone(), &self.bin);
        let dir_s = dir.to_string_lossy().to_string();
        let mut args = vec![
            "init",
            "--data",
            &dir_s,
            "--hall",
            hall,
            "--level",
            tier.as_str(),
            "--name",
            hall_name,
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ];
        if let Some(p) = parent {
            args.extend(["--parent", p]);
        }
        if genesis {
            args.push("--genesis");
        }
        let out = node.cli(&args)?;
        let device = out["device_id"]
            .as_str()
            .context("init printed no device id")?
            .to_string();
        // Demo and test nodes sync and redial quickly; real nodes keep the defaults.
        let mut config = Config::load(&dir)?;
        config.network.sync_interval_ms = 250;
        config.network.reconnect_backoff_min_ms = 100;
        config.network.reconnect_backoff_max_ms = 1000;
        config.save(&dir)?;
        Ok((node, device))
    }

    /// Creates and starts the genesis city node; returns its index.
    ///
    /// # Errors
    /// When init or start fails.
    pub fn add_city(&mut self, name: &str, hall: &str, hall_name: &str) -> Result<usize> {
        let (mut node, _) = self.init(name, hall, Tier::City, hall_name, None, true)?;
        node.start(START_TIMEOUT)?;
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    /// Creates a node, has the running node `inviter` invite it, joins and starts it.
    ///
    /// # Errors
    /// When any step fails (e.g. the inviter has no jurisdiction over `hall`).
    #[allow(clippy::too_many_arguments)]
    pub fn add_member(
        &mut self,
        name: &str,
        hall: &str,
        tier: Tier,
        hall_name: &str,
        parent: &str,
        role: &str,
        inviter: usize,
    ) -> Result<usize> {
        let (mut node, device) = self.init(name, hall, tier, hall_name, Some(parent), false)?;
        let invited = self.nodes[inviter].call(NodeProcess::invitation(
            device,
            hall,
            tier.as_str(),
            role,
            Some(parent),
            hall_name,
        ))?;
        let token = invited["token"]
            .as_str()
            .context("invite printed no token")?;
        let dir = node.dir.to_string_lossy().to_string();
        node.cli(&["join", "--data", &dir, token])?;
        node.start(START_TIMEOUT)?;
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    /// The `state_digest` of each node.
    ///
    /// # Errors
    /// When a node cannot be asked.
    pub fn digests(&self) -> Result<Vec<String>> {
        self.nodes.iter().map(|n| n.digest()).collect()
    }

    /// Waits until every node reports the same `state_digest`; returns the time taken and the digest.
    ///
    /// # Errors
    /// When they have not converged within `timeout`.
    pub fn wait_converged(&self, timeout: Duration) -> Result<(Duration, String)> {
        let took = wait_until(
            "every node to reach the same state digest",
            timeout,
            Duration::from_millis(100),
            || {
                let d = self.digests()?;
                Ok(d.windows(2).all(|w| w[0] == w[1]))
            },
        )?;
        Ok((took, self.digests()?.first().cloned().unwrap_or_default()))
    }

    /// Waits until the nodes at `indices` report the same `state_digest` (nodes with other replication
    /// scopes, e.g. halls that are not parties to a case, hold other records).
    ///
    /// # Errors
    /// When they have not converged within `timeout`.
    pub fn wait_converged_among(&self, indices: &[usize], timeout: Duration) -> Result<Duration> {
        wait_until(
            "the nodes to reach the same state digest",
            timeout,
            Duration::from_millis(100),
            || {
                let d: Vec<String> = indices
                    .iter()
                    .map(|i| self.nodes[*i].digest())
                    .collect::<Result<_>>()?;
                Ok(d.windows(2).all(|w| w[0] == w[1]))
            },
        )
    }

    /// Stops every node.
    pub fn stop_all(&mut self) {
        for node in &mut self.nodes {
            node.stop(Duration::from_secs(10));
        }
    }
}
