//! The lab's nodes: real `hallsync run` processes, one per hall, each in its namespace. Commands
//! go to each node's control API on its namespace's loopback, from a thread that lives in that
//! namespace, with the CLI's own client.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use hallsync_node::control::ControlInfo;
use hallsync_node::{Command, DataDir};
use serde_json::Value;

/// A command for a node's thread, and where its answer goes.
type Call = (Command, mpsc::Sender<Result<Value>>);

/// One running node.
pub struct LabNode {
    /// Its hall id.
    pub hall: String,
    /// Its namespace.
    pub ns: String,
    /// Its data directory.
    pub dir: PathBuf,
    child: Option<Child>,
    calls: mpsc::Sender<Call>,
}

/// Runs `hallsync ARGS` in namespace `ns`; returns its JSON output.
///
/// # Errors
/// When it exits with an error (its stderr says why).
pub fn cli(bin: &Path, ns: &str, args: &[&str]) -> Result<Value> {
    let out = Process::new("ip")
        .args(["netns", "exec", ns])
        .arg(bin)
        .args(args)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running hallsync in {ns}"))?;
    if !out.status.success() {
        bail!(
            "hallsync {} in {ns}: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(serde_json::from_str(text.trim()).unwrap_or(Value::Null))
}

impl LabNode {
    /// A node (not started) of hall `hall` in `ns`, its data in `dir`; its command thread enters
    /// the namespace at once.
    ///
    /// # Errors
    /// When the thread cannot enter the namespace.
    pub fn new(hall: &str, ns: &str, dir: PathBuf) -> Result<LabNode> {
        let (calls, rx) = mpsc::channel::<Call>();
        let (ready, entered) = mpsc::channel::<Result<()>>();
        let thread_ns = ns.to_string();
        let thread_dir = dir.clone();
        std::thread::spawn(move || {
            let _ = ready.send(crate::netns::enter(&thread_ns));
            for (command, reply) in rx {
                let answer = ControlInfo::read(&DataDir::new(&thread_dir).control_file())
                    .map_err(|e| anyhow!("{e}"))
                    .and_then(|info| info.ok_or_else(|| anyhow!("the node is not running")))
                    .and_then(|info| {
                        hallsync::client::call(&thread_dir, &info, &command)
                            .map_err(|e| anyhow!("{e:?}"))
                    });
                let _ = reply.send(answer);
            }
        });
        entered
            .recv()
            .map_err(|_| anyhow!("the command thread for {ns} ended"))??;
        Ok(LabNode {
            hall: hall.into(),
            ns: ns.into(),
            dir,
            child: None,
            calls,
        })
    }

    /// Sends `command` to the running node.
    ///
    /// # Errors
    /// When the node does not answer or refuses.
    pub fn call(&self, command: Command) -> Result<Value> {
        let (tx, rx) = mpsc::channel();
        self.calls
            .send((command, tx))
            .map_err(|_| anyhow!("{}: the command thread ended", self.hall))?;
        rx.recv()
            .map_err(|_| anyhow!("{}: no answer", self.hall))?
            .with_context(|| format!("hall {}", self.hall))
    }

    /// Calls and reads the answer as `T`.
    ///
    /// # Errors
    /// As [`LabNode::call`], or an answer of another form.
    pub fn call_as<T: serde::de::DeserializeOwned>(&self, command: Command) -> Result<T> {
        Ok(serde_json::from_value(self.call(command)?)?)
    }

    /// Starts `hallsync run` in the namespace and waits (up to `timeout`) for it to answer.
    ///
    /// # Errors
    /// When it exits or does not answer in time.
    pub fn start(&mut self, bin: &Path, timeout: Duration) -> Result<()> {
        self.start_wrapped(bin, &[], timeout)
    }

    /// Starts the node as [`LabNode::start`] does, under `wrapper` (e.g. `faketime -f +2h`).
    ///
    /// # Errors
    /// When it exits or does not answer in time.
    pub fn start_wrapped(&mut self, bin: &Path, wrapper: &[&str], timeout: Duration) -> Result<()> {
        let mut program = Process::new("ip");
        program
            .args(["netns", "exec", &self.ns])
            .args(wrapper)
            .arg(bin);
        let child = hallsync::harness::spawn_run(program, &self.dir)?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let log = std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default();
                bail!("{} exited with {status}: {}", self.hall, log.trim());
            }
            if self.call(Command::Status).is_ok() {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!("{} did not start within {timeout:?}", self.hall);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the process at once (`kill -9`), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops the node: `shutdown` through the API, then a kill after `timeout`.
    pub fn stop(&mut self, timeout: Duration) {
        let _ = self.call(Command::Shutdown);
        let started = Instant::now();
        while let Some(c) = self.child.as_mut() {
            if c.try_wait().ok().flatten().is_some() || started.elapsed() > timeout {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }
}

impl Drop for LabNode {
    fn drop(&mut self) {
        self.kill();
    }
}
