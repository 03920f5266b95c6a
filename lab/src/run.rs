//! One lab run: build the namespaces and links of a plan, start a real node per hall (the city
//! founds the network, each parent invites its children), run the workload and the scenario's cut
//! in scaled real time, wait for convergence, and report — in the simulator's report's terms where
//! they apply — then take everything down, also when interrupted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hallsync_model::Level;
use hallsync_node::engine::response::{ItemsPage, PendingPage, StatusReport};
use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_sim::Scenario;
use serde::Serialize;

use crate::netns::{self, Netns};
use crate::nodes::{cli, LabNode};
use crate::plan::Plan;
use crate::wire::{Shape, Wire};

/// How long a node may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Delay percentiles of one level, in real seconds.
#[derive(Debug, Serialize)]
pub struct LevelDelay {
    /// Median.
    pub p50_s: f64,
    /// Slowest.
    pub max_s: f64,
    /// Nodes measured.
    pub samples: usize,
}

/// What a lab run reports. The fields the simulator's report also has mean the same; times are
/// real seconds.
#[derive(Debug, Serialize)]
pub struct LabReport {
    /// Scenario name.
    pub scenario: String,
    /// Nodes run.
    pub nodes: usize,
    /// `none` or `villages`.
    pub nat: String,
    /// Every parent–child pair agrees on what both should hold.
    pub converged: bool,
    /// Seconds from the last change (or the end of the cut, if later) to convergence.
    pub convergence_s: Option<f64>,
    /// Per level, the delay from a catalogue change at the city to its arrival at each node.
    pub delay: BTreeMap<&'static str, LevelDelay>,
    /// Changes the workload made.
    pub changes_authored: u64,
    /// Bytes the links carried (IP packets, both ways).
    pub bytes_sent: u64,
    /// Packets the links dropped (loss, cuts, full queues).
    pub packets_dropped: u64,
    /// Per peer pair that had a connection at the end: `direct` or `relayed`, as the nodes see it.
    pub paths: BTreeMap<String, String>,
    /// When not converged: the pairs that disagree.
    pub lagging: Vec<String>,
}

/// Everything a run made, taken down in reverse when dropped: nodes, links, namespaces.
struct Lab {
    nodes: Vec<LabNode>,
    wires: Vec<Wire>,
    namespaces: Vec<Netns>,
    plan: Plan,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
        self.wires.clear();
        self.namespaces.clear();
    }
}

/// The sample catalogue item number `n` (a public-service code, complete for stationing).
fn item(n: u32) -> hallsync_model::records::item::ItemFields {
    hallsync::harness::sample_item(
        &hallsync::harness::public_service_code(n),
        &format!("实验事项 {n}"),
        hallsync_model::records::item::ItemType::PublicService,
        "市民政局",
        5,
    )
}

/// Builds the lab for `scenario` under `root` (data directories), runs it, and reports. `stop`
/// ends it early (Ctrl-C). Everything made is taken down before this returns.
///
/// # Errors
/// When the lab cannot be built (not root, no `nft`), or a node will not start.
pub fn run(
    scenario: &Scenario,
    bin: &Path,
    root: &Path,
    stop: &Arc<AtomicBool>,
) -> Result<LabReport> {
    let tag = format!("{:x}", std::process::id() % 0xfff);
    let plan = Plan::new(scenario, &tag);
    let mut lab = Lab {
        nodes: Vec::new(),
        wires: Vec::new(),
        namespaces: Vec::new(),
        plan: plan.clone(),
    };
    build_network(&mut lab, scenario)?;
    eprintln!(
        "lab: {} halls, {} links{} — starting nodes",
        plan.halls.len(),
        plan.links.len(),
        if plan.nats.is_empty() {
            ""
        } else {
            ", villages behind NAT"
        }
    );
    start_nodes(&mut lab, scenario, bin, root, stop)?;
    eprintln!(
        "lab: every node runs; working for {} s",
        scenario.lab.work_s
    );
    let authored = work(&lab, scenario, stop)?;
    let settle_from = Instant::now();
    let probe = probe_delays(&lab, stop)?;
    let converged_in = wait_converged(
        &lab,
        Duration::from_secs(scenario.lab.settle_timeout_s),
        stop,
    )?;
    let lagging = if converged_in.is_some() {
        Vec::new()
    } else {
        disagreements(&lab)?
    };
    Ok(LabReport {
        scenario: scenario.name.clone(),
        nodes: plan.halls.len(),
        nat: scenario.lab.nat.clone(),
        converged: converged_in.is_some(),
        convergence_s: converged_in.map(|_| settle_from.elapsed().as_secs_f64()),
        delay: probe,
        changes_authored: authored,
        bytes_sent: lab.wires.iter().map(Wire::bytes).sum(),
        packets_dropped: lab
            .wires
            .iter()
            .flat_map(|w| w.counters.iter())
            .map(|c| c.dropped.load(Ordering::Relaxed))
            .sum(),
        paths: paths(&lab)?,
        lagging,
    })
}

fn build_network(lab: &mut Lab, scenario: &Scenario) -> Result<()> {
    let plan = lab.plan.clone();
    for ns in plan.halls.iter().map(|h| &h.ns).chain(&plan.nats) {
        lab.namespaces.push(Netns::new(ns)?);
    }
    let shape = Shape {
        latency: Duration::from_millis(scenario.link.latency_ms),
        loss: scenario.link.loss,
        rate_bps: scenario.link.bandwidth_kbps * 1000,
    };
    for (k, l) in plan.links.iter().enumerate() {
        let up = crate::tun::make(&l.upper, &l.upper_dev, &l.upper_addr.to_string())?;
        let down = crate::tun::make(&l.lower, &l.lower_dev, &l.lower_addr.to_string())?;
        lab.wires.push(Wire::start(
            up,
            down,
            shape,
            scenario.seed.wrapping_add(k as u64),
        )?);
    }
    for r in &plan.routes {
        netns::ip(&[
            "-n",
            &r.ns,
            "route",
            "replace",
            &r.to,
            "via",
            &r.via.to_string(),
            "dev",
            &r.dev,
        ])?;
    }
    for l in plan.links.iter().filter(|l| l.behind_nat) {
        // The NAT namespace: its village's packets leave masqueraded; nothing starts from above.
        let uplink = plan
            .links
            .iter()
            .find(|u| u.lower == l.upper)
            .context("a NAT namespace has an uplink")?;
        netns::nft(
            &l.upper,
            &format!(
                "table ip nat {{\n  chain post {{\n    type nat hook postrouting priority 100;\n    oifname \"{}\" masquerade\n  }}\n}}\n\
                 table inet filter {{\n  chain lab_forward {{\n    type filter hook forward priority 0; policy drop;\n    ct state established,related accept\n    iifname \"{}\" accept\n  }}\n}}\n",
                uplink.lower_dev, l.upper_dev
            ),
        )?;
    }
    Ok(())
}

fn start_nodes(
    lab: &mut Lab,
    scenario: &Scenario,
    bin: &Path,
    root: &Path,
    stop: &AtomicBool,
) -> Result<()> {
    let plan = lab.plan.clone();
    for (i, h) in plan.halls.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        let dir: PathBuf = root.join(format!("{i}-{}", h.id));
        let dir_s = dir.display().to_string();
        let level = h.level.as_str();
        let name = format!("{level} {}", h.id);
        let mut args = vec![
            "init",
            "--data",
            &dir_s,
            "--hall",
            &h.id,
            "--level",
            level,
            "--name",
            &name,
            "--listen",
            "/ip4/0.0.0.0/tcp/4001",
        ];
        let parent_id = h.parent.map(|p| plan.halls[p].id.clone());
        if let Some(p) = &parent_id {
            args.extend(["--parent", p]);
        } else {
            args.push("--genesis");
        }
        let announce = plan.address_of(i).map(|a| format!("/ip4/{a}/tcp/4001"));
        if let Some(a) = &announce {
            args.extend(["--announce", a]);
        }
        let init = cli(bin, &h.ns, &args)?;
        let device = init["device_id"]
            .as_str()
            .context("init printed no device id")?
            .to_string();
        let mut config = hallsync_config::Config::load(&dir)?;
        config
            .network
            .listen
            .push("/ip4/0.0.0.0/udp/4001/quic-v1".into());
        config.network.sync_interval_ms = scenario.lab.sync_interval_ms;
        config.network.reconnect_backoff_min_ms = 200;
        config.network.reconnect_backoff_max_ms = 2000;
        config.network.mdns = false;
        config.save(&dir)?;
        if let Some(p) = h.parent {
            let role = if h.level == Level::Village {
                "operator"
            } else {
                "admin"
            };
            let invited = lab.nodes[p].call(hallsync::harness::NodeProcess::invitation(
                device,
                &h.id,
                level,
                role,
                parent_id.as_deref(),
                &name,
            ))?;
            let token = invited["token"]
                .as_str()
                .context("invite printed no token")?;
            cli(bin, &h.ns, &["join", "--data", &dir_s, token])?;
        }
        let mut node = LabNode::new(&h.id, &h.ns, dir)?;
        node.start(bin, START_TIMEOUT)?;
        lab.nodes.push(node);
    }
    Ok(())
}

/// The workload in real time: the city adds catalogue items, villages propose stationings,
/// townships approve; the scenario's cut (a district's uplink) happens at its scaled times.
fn work(lab: &Lab, scenario: &Scenario, stop: &AtomicBool) -> Result<u64> {
    let plan = &lab.plan;
    let started = Instant::now();
    let work = Duration::from_secs(scenario.lab.work_s);
    let cut = scenario.availability.partition.as_ref().and_then(|p| {
        let district = plan
            .halls
            .iter()
            .position(|h| h.level == Level::District && h.district == Some(p.district))?;
        let link = plan.uplink_of(district)?;
        Some((
            link,
            Duration::from_secs_f64(scenario.lab.real_s(p.start_s)),
            Duration::from_secs_f64(scenario.lab.real_s(p.end_s)),
        ))
    });
    let mut authored = 0u64;
    let mut n = 0u32;
    let mut cut_state = false;
    let end = cut.map_or(work, |(_, _, until)| work.max(until));
    while started.elapsed() < end {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        let t = started.elapsed();
        if let Some((link, from, until)) = cut {
            let want = t >= from && t < until;
            if want != cut_state {
                lab.wires[link].set_up(!want);
                cut_state = want;
                eprintln!(
                    "lab: {} the uplink of {}",
                    if want { "cut" } else { "healed" },
                    plan.halls[plan.links[link].child].id
                );
            }
        }
        if t < work {
            lab.nodes[0].call(Command::ItemCreate(item(1000 + n)))?;
            authored += 1;
            for (i, h) in plan.halls.iter().enumerate() {
                if h.level == Level::Village && n > 0 {
                    // Last round's item, which has had a second to arrive.
                    let proposed =
                        lab.nodes[i].call(Command::StationPropose(StationRequest::station(
                            &hallsync::harness::public_service_code(1000 + n - 1),
                            None,
                        )));
                    // The item may not have reached the village yet: a real operator would wait.
                    if proposed.is_ok() {
                        authored += 1;
                    }
                }
                if h.level == Level::Township {
                    let pending: PendingPage = lab.nodes[i].call_as(Command::pending())?;
                    for p in pending.pending {
                        if lab.nodes[i].call(Command::Approve { id: p.id }).is_ok() {
                            authored += 1;
                        }
                    }
                }
            }
            n += 1;
        }
        std::thread::sleep(Duration::from_millis(1000));
    }
    if cut_state {
        if let Some((link, _, _)) = cut {
            lab.wires[link].set_up(true);
        }
    }
    Ok(authored)
}

/// Creates one more item at the city and times its arrival at every node, per level.
fn probe_delays(lab: &Lab, stop: &AtomicBool) -> Result<BTreeMap<&'static str, LevelDelay>> {
    let code = hallsync::harness::public_service_code(99_999);
    lab.nodes[0].call(Command::ItemCreate(item(99_999)))?;
    let started = Instant::now();
    let mut arrived: Vec<Option<f64>> = vec![None; lab.nodes.len()];
    while arrived.iter().any(Option::is_none) && started.elapsed() < Duration::from_secs(120) {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        for (i, n) in lab.nodes.iter().enumerate() {
            if arrived[i].is_some() {
                continue;
            }
            let page: Result<ItemsPage> = n.call_as(Command::Items {
                hall: None,
                search: Some(code.clone()),
                after: None,
                limit: Some(10),
            });
            if page.is_ok_and(|p| p.items.iter().any(|it| it.fields.code.as_str() == code)) {
                arrived[i] = Some(started.elapsed().as_secs_f64());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut by_level: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for (i, t) in arrived.iter().enumerate() {
        if let Some(t) = t {
            by_level
                .entry(lab.plan.halls[i].level.as_str())
                .or_default()
                .push(*t);
        }
    }
    Ok(by_level
        .into_iter()
        .map(|(level, mut v)| {
            v.sort_by(f64::total_cmp);
            let delay = LevelDelay {
                p50_s: v[v.len() / 2],
                max_s: v[v.len() - 1],
                samples: v.len(),
            };
            (level, delay)
        })
        .collect())
}

/// Every parent–child pair: each side's digest of what both should hold, as each prints it.
fn disagreements(lab: &Lab) -> Result<Vec<String>> {
    let statuses: Vec<StatusReport> = lab
        .nodes
        .iter()
        .map(|n| n.call_as(Command::Status))
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (i, h) in lab.plan.halls.iter().enumerate() {
        let Some(p) = h.parent else { continue };
        let of = |s: &StatusReport, other: &StatusReport| {
            s.peers
                .iter()
                .find(|x| x.device_id == other.device_id)
                .and_then(|x| x.shared_digest.clone())
        };
        let down = of(&statuses[p], &statuses[i]);
        let up = of(&statuses[i], &statuses[p]);
        if down.is_none() || down != up {
            out.push(format!("{} ↔ {}", lab.plan.halls[p].id, h.id));
        }
    }
    Ok(out)
}

fn wait_converged(lab: &Lab, timeout: Duration, stop: &AtomicBool) -> Result<Option<Duration>> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        if disagreements(lab)?.is_empty() {
            return Ok(Some(started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(None)
}

fn paths(lab: &Lab) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for n in &lab.nodes {
        let s: StatusReport = n.call_as(Command::Status)?;
        for p in s.peers.iter().filter(|p| p.connected) {
            let hall = p
                .halls
                .first()
                .cloned()
                .unwrap_or_else(|| p.device_id.clone());
            let path = p.path.as_deref().unwrap_or("");
            let kind = if path.starts_with("relayed") {
                "relayed"
            } else {
                "direct"
            };
            out.insert(format!("{} → {hall}", n.hall), kind.to_string());
        }
    }
    Ok(out)
}

/// Exposed for tests: builds the lab, starts the nodes, and hands the running lab to `f` before
/// taking it down.
///
/// # Errors
/// As [`run`], or what `f` returns.
pub fn with_lab<T>(
    scenario: &Scenario,
    bin: &Path,
    root: &Path,
    f: impl FnOnce(&RunningLab<'_>) -> Result<T>,
) -> Result<T> {
    let tag = format!("{:x}", (std::process::id() ^ 0x5a5) % 0xfff);
    let plan = Plan::new(scenario, &tag);
    let mut lab = Lab {
        nodes: Vec::new(),
        wires: Vec::new(),
        namespaces: Vec::new(),
        plan,
    };
    build_network(&mut lab, scenario)?;
    let stop = AtomicBool::new(false);
    start_nodes(&mut lab, scenario, bin, root, &stop)?;
    f(&RunningLab { lab: &lab })
}

/// A built, running lab, for tests to drive.
pub struct RunningLab<'a> {
    lab: &'a Lab,
}

impl RunningLab<'_> {
    /// The nodes, in the plan's hall order.
    pub fn nodes(&self) -> &[LabNode] {
        &self.lab.nodes
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.lab.plan
    }

    /// Cuts or heals link `k`.
    pub fn set_link(&self, k: usize, up: bool) {
        self.lab.wires[k].set_up(up);
    }

    /// Waits until every parent–child pair agrees; the time taken.
    ///
    /// # Errors
    /// When a node cannot be asked.
    pub fn wait_converged(&self, timeout: Duration) -> Result<Option<Duration>> {
        wait_converged(self.lab, timeout, &AtomicBool::new(false))
    }

    /// The pairs that disagree now.
    ///
    /// # Errors
    /// When a node cannot be asked.
    pub fn lagging(&self) -> Result<Vec<String>> {
        disagreements(self.lab)
    }

    /// Who each node is connected to, and how.
    ///
    /// # Errors
    /// When a node cannot be asked.
    pub fn paths(&self) -> Result<BTreeMap<String, String>> {
        paths(self.lab)
    }
}
