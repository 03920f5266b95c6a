//! Network namespaces and the commands run in them, named `hsl-<run>-<n>` so that `hallsync-lab
//! clean` can find what an interrupted run left.

use std::process::{Command, Output, Stdio};

use anyhow::{bail, Context, Result};

/// The prefix of every namespace the lab makes.
pub const PREFIX: &str = "hsl-";

/// Runs `ip` with `args`; an error names the command and what `ip` said.
pub fn ip(args: &[&str]) -> Result<()> {
    run("ip", args)
}

/// Runs `nft` in namespace `ns` with one ruleset script.
pub fn nft(ns: &str, script: &str) -> Result<()> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running nft (install Debian's nftables package)")?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "nft in {ns} failed: {}\n{script}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Runs `program args…`, failing with its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<()> {
    let out: Output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A namespace the lab made; deleted when dropped.
pub struct Netns {
    /// Its name.
    pub name: String,
}

impl Netns {
    /// Makes namespace `name` with its loopback up (each node's control API is on it).
    ///
    /// # Errors
    /// When `ip netns add` fails (not root, or the name exists).
    pub fn new(name: &str) -> Result<Netns> {
        ip(&["netns", "add", name]).context("making a network namespace (the lab needs root)")?;
        let ns = Netns { name: name.into() };
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        // Halls between others forward packets (a township between its villages and district).
        run(
            "ip",
            &[
                "netns",
                "exec",
                name,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ],
        )?;
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Deletes every namespace an earlier run left (`hsl-*`), and the processes in them.
///
/// # Errors
/// When `ip netns list` fails.
pub fn clean() -> Result<usize> {
    let out = Command::new("ip").args(["netns", "list"]).output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut n = 0;
    for name in text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(PREFIX))
    {
        // Processes in it die with `ip netns pids` + kill.
        if let Ok(pids) = Command::new("ip").args(["netns", "pids", name]).output() {
            for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                let _ = run("kill", &["-9", pid]);
            }
        }
        let _ = ip(&["netns", "del", name]);
        n += 1;
    }
    Ok(n)
}

/// Enters namespace `name` on the calling thread (its sockets and devices are made there after).
///
/// # Errors
/// When the namespace does not exist or `setns` fails.
pub fn enter(name: &str) -> Result<()> {
    let path = format!("/var/run/netns/{name}");
    let file = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
    use std::os::fd::AsRawFd;
    // SAFETY: setns with a namespace file descriptor we hold open; it changes only this thread's
    // network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        bail!("setns into {name}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}
