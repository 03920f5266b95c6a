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
use hallsync_sim::scenario::{Fault, FaultKind};
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
    /// Per `[[fault]]` (and the partition), when it ran and how long convergence took after.
    pub faults: Vec<LabFault>,
}

/// Everything a run made, taken down in reverse when dropped: nodes, links, namespaces, and the
/// small filesystems of halls whose disk a fault fills.
struct Lab {
    nodes: Vec<LabNode>,
    wires: Vec<Wire>,
    namespaces: Vec<Netns>,
    mounts: Vec<PathBuf>,
    plan: Plan,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
        self.wires.clear();
        self.namespaces.clear();
        for m in &self.mounts {
            // The node's log lives on the filesystem about to go: keep it beside.
            let _ = std::fs::copy(m.join("node.log"), m.with_extension("node.log"));
            let _ = netns::run("umount", &["-l", &m.display().to_string()]);
        }
    }
}

impl Lab {
    /// Nothing built yet, for `scenario`; namespaces are named after this process (and `salt`), so
    /// two runs at once do not collide.
    fn new(scenario: &Scenario, salt: u32) -> Lab {
        let tag = format!("{:x}", (std::process::id() ^ salt) % 0xfff);
        Lab {
            nodes: Vec::new(),
            wires: Vec::new(),
            namespaces: Vec::new(),
            mounts: Vec::new(),
            plan: Plan::new(scenario, &tag),
        }
    }
}

/// The size of the filesystem a `disk_full` fault fills, in MiB.
const DISK_MB: u64 = 256;

/// Fills the filesystem at `dir` (a tmpfs of its own) with a file, as a disk that fills does.
fn fill_disk(dir: &Path) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join(".lab-fill"))?;
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..DISK_MB + 1 {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    Ok(())
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
    let mut lab = Lab::new(scenario, 0);
    let plan = lab.plan.clone();
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
    let (authored, fault_reports) = work(&mut lab, scenario, bin, stop)?;
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
        faults: fault_reports,
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
        if scenario
            .fault
            .iter()
            .any(|f| f.kind == FaultKind::DiskFull && f.hall == h.id)
        {
            // A filesystem of its own, for the fault to fill.
            std::fs::create_dir_all(&dir)?;
            netns::run(
                "mount",
                &[
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={DISK_MB}m,mode=0700"),
                    "tmpfs",
                    &dir_s,
                ],
            )?;
            lab.mounts.push(dir.clone());
        }
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

/// What the lab says of one `[[fault]]` (or the scenario's partition), in real seconds.
#[derive(Debug, Serialize)]
pub struct LabFault {
    /// Kind and hall.
    pub name: String,
    /// When it began, in real seconds from the start of the work.
    pub start_s: f64,
    /// When it ended.
    pub end_s: f64,
    /// Seconds from its end until its hall agreed with its parent and children on what they
    /// share; `None` if not by the end of the run.
    pub converged_after_s: Option<f64>,
    /// Why the lab did not run it, when it did not.
    pub skipped: Option<String>,
}

/// A fault as the lab runs it: which hall, when (real time), in what state.
struct Running {
    fault: Fault,
    hall: usize,
    start: Duration,
    end: Duration,
    /// The fault's process change (crash, clock) is in force.
    applied: bool,
    report: LabFault,
}

/// The scenario's faults, and its partition as a cut of the district's uplink.
fn faults(lab: &Lab, scenario: &Scenario) -> Result<Vec<Running>> {
    let plan = &lab.plan;
    let mut all: Vec<Fault> = scenario.fault.clone();
    if let Some(p) = &scenario.availability.partition {
        if let Some(h) = plan
            .halls
            .iter()
            .find(|h| h.level == Level::District && h.district == Some(p.district))
        {
            all.push(Fault {
                kind: FaultKind::Cut,
                hall: h.id.clone(),
                start_s: p.start_s,
                end_s: p.end_s,
                direction: None,
                period_s: None,
                offset_s: None,
            });
        }
    }
    let faketime = netns::run("faketime", &["--version"]).is_ok()
        || std::process::Command::new("faketime")
            .arg("-h")
            .output()
            .is_ok();
    all.into_iter()
        .map(|fault| {
            let hall = plan
                .halls
                .iter()
                .position(|h| h.id == fault.hall)
                .with_context(|| {
                    format!("fault {}: no hall {} in the lab", fault.name(), fault.hall)
                })?;
            let start = Duration::from_secs_f64(scenario.lab.real_s(fault.start_s));
            let end = Duration::from_secs_f64(scenario.lab.real_s(fault.end_s));
            let skipped = match fault.kind {
                FaultKind::Clock if !faketime => Some("faketime is not installed".into()),
                FaultKind::Crash | FaultKind::Clock if hall == 0 => {
                    Some("the city's node drives the workload; strike another hall".into())
                }
                _ => None,
            };
            Ok(Running {
                report: LabFault {
                    name: fault.name(),
                    start_s: start.as_secs_f64(),
                    end_s: end.as_secs_f64(),
                    converged_after_s: None,
                    skipped,
                },
                fault,
                hall,
                start,
                end,
                applied: false,
            })
        })
        .collect()
}

/// Sets every link as the faults say at simulated second `t_sim`: down while a cut, flap or
/// crash holds it, one direction closed while a one-way cut does.
fn shape_links(lab: &Lab, faults: &[Running], t_sim: u64) {
    for (k, wire) in lab.wires.iter().enumerate() {
        let link = &lab.plan.links[k];
        if link.behind_nat {
            continue;
        }
        let on: Vec<&Running> = faults
            .iter()
            .filter(|f| f.report.skipped.is_none() && f.hall == link.child)
            .collect();
        let parent_down = faults.iter().any(|f| {
            f.report.skipped.is_none()
                && f.fault.kind == FaultKind::Crash
                && f.fault.active(t_sim)
                && lab.plan.halls[f.hall].ns == link.upper
        });
        wire.set_up(!parent_down && !on.iter().any(|f| f.fault.link_down(t_sim)));
        wire.set_direction(1, !on.iter().any(|f| f.fault.blocks(t_sim, true)));
        wire.set_direction(0, !on.iter().any(|f| f.fault.blocks(t_sim, false)));
    }
}

/// True when hall `i` agrees with its parent and its children on what they share.
fn settled(lab: &Lab, i: usize) -> bool {
    let status = |n: usize| lab.nodes[n].call_as::<StatusReport>(Command::Status).ok();
    let digest = |a: &StatusReport, b: &StatusReport| {
        a.peers
            .iter()
            .find(|p| p.device_id == b.device_id)
            .and_then(|p| p.shared_digest.clone())
    };
    let mut pairs: Vec<(usize, usize)> = lab.plan.halls[i]
        .parent
        .map(|p| (i, p))
        .into_iter()
        .collect();
    pairs.extend(
        lab.plan
            .halls
            .iter()
            .enumerate()
            .filter(|(_, h)| h.parent == Some(i))
            .map(|(c, _)| (c, i)),
    );
    pairs.iter().all(|(a, b)| match (status(*a), status(*b)) {
        (Some(sa), Some(sb)) => {
            let (x, y) = (digest(&sa, &sb), digest(&sb, &sa));
            x.is_some() && x == y
        }
        _ => false,
    })
}

/// The workload in real time — the city adds catalogue items, villages propose stationings,
/// townships approve — with the scenario's faults at their scaled times: links cut, flapping or
/// one-way, nodes killed and restarted, clocks run ahead (under faketime). Runs until the work and
/// every fault are over and each fault's hall has caught up (or the settle time ran out).
fn work(
    lab: &mut Lab,
    scenario: &Scenario,
    bin: &Path,
    stop: &AtomicBool,
) -> Result<(u64, Vec<LabFault>)> {
    let mut running = faults(lab, scenario)?;
    let started = Instant::now();
    let work = Duration::from_secs(scenario.lab.work_s);
    let settle = Duration::from_secs(scenario.lab.settle_timeout_s);
    let last_end = running.iter().map(|f| f.end).max().unwrap_or_default();
    let mut authored = 0u64;
    let mut n = 0u32;
    let mut next_work = Duration::ZERO;
    let mut online = vec![true; lab.nodes.len()];
    loop {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        let t = started.elapsed();
        let t_sim = (t.as_secs_f64() * scenario.lab.time_scale as f64) as u64;
        shape_links(lab, &running, t_sim);
        for f in running.iter_mut().filter(|f| f.report.skipped.is_none()) {
            let active = t >= f.start && t < f.end;
            match f.fault.kind {
                FaultKind::Crash if active && !f.applied => {
                    eprintln!("lab: kill -9 {}", lab.plan.halls[f.hall].id);
                    lab.nodes[f.hall].kill();
                    f.applied = true;
                }
                FaultKind::Clock if active && !f.applied => {
                    let offset = f.fault.offset_s.unwrap_or(0);
                    lab.nodes[f.hall].stop(Duration::from_secs(10));
                    lab.nodes[f.hall].start_wrapped(
                        bin,
                        &["faketime", "-f", &format!("{offset:+}s")],
                        START_TIMEOUT,
                    )?;
                    f.applied = true;
                }
                FaultKind::DiskFull if active && !f.applied => {
                    eprintln!("lab: the disk of {} fills", lab.plan.halls[f.hall].id);
                    fill_disk(&lab.nodes[f.hall].dir)?;
                    f.applied = true;
                }
                FaultKind::DiskFull if !active && f.applied => {
                    eprintln!(
                        "lab: the disk of {} has room again",
                        lab.plan.halls[f.hall].id
                    );
                    std::fs::remove_file(lab.nodes[f.hall].dir.join(".lab-fill"))?;
                    f.applied = false;
                }
                FaultKind::Crash | FaultKind::Clock if !active && f.applied => {
                    eprintln!("lab: restart {}", lab.plan.halls[f.hall].id);
                    lab.nodes[f.hall].stop(Duration::from_secs(10));
                    lab.nodes[f.hall].start(bin, START_TIMEOUT)?;
                    f.applied = false;
                }
                _ => {}
            }
        }
        for f in running.iter_mut() {
            if f.report.skipped.is_none()
                && t >= f.end
                && f.report.converged_after_s.is_none()
                && !f.applied
                && settled(lab, f.hall)
            {
                f.report.converged_after_s = Some((t - f.end).as_secs_f64());
            }
        }
        set_availability(lab, scenario, &mut online, t_sim, &running);
        if t < work && t >= next_work {
            next_work = t + Duration::from_secs(1);
            authored += work_step(lab, n)?;
            n += 1;
        }
        let faults_done = running
            .iter()
            .all(|f| f.report.skipped.is_some() || f.report.converged_after_s.is_some());
        if t >= work.max(last_end) && (faults_done || t >= last_end.max(work) + settle) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    shape_links(lab, &[], 0);
    for (i, on) in online.iter().enumerate() {
        if !on {
            let _ = lab.nodes[i].call(Command::Net { online: true });
        }
    }
    Ok((authored, running.into_iter().map(|f| f.report).collect()))
}

/// Villages are online `availability.village_online_h` hours a (scaled) day from their window's
/// start, as in the simulator: outside it the node is taken off the network (`net offline`).
fn set_availability(
    lab: &Lab,
    scenario: &Scenario,
    online: &mut [bool],
    t_sim: u64,
    running: &[Running],
) {
    let window_s = (scenario.availability.village_online_h * 3600.0) as u64;
    if window_s >= 86_400 {
        return;
    }
    for (i, h) in lab.plan.halls.iter().enumerate() {
        if h.level != Level::Village {
            continue;
        }
        // A node a crash or clock fault took down is not there to be told.
        if running
            .iter()
            .any(|f| f.hall == i && f.applied && f.fault.kind != FaultKind::DiskFull)
        {
            continue;
        }
        let want = (t_sim + 86_400 - h.online_from_s) % 86_400 < window_s;
        if want != online[i] && lab.nodes[i].call(Command::Net { online: want }).is_ok() {
            online[i] = want;
        }
    }
}

/// One second of work: an item at the city, a proposal at each village, approvals.
fn work_step(lab: &Lab, n: u32) -> Result<u64> {
    let mut authored = 0;
    if lab.nodes[0]
        .call(Command::ItemCreate(item(1000 + n)))
        .is_ok()
    {
        authored += 1;
    }
    for (i, h) in lab.plan.halls.iter().enumerate() {
        if h.level == Level::Village && n > 0 {
            // Last round's item, which has had a second to arrive; a node that is down or
            // struck refuses, as a person would find it.
            let proposed = lab.nodes[i].call(Command::StationPropose(StationRequest::station(
                &hallsync::harness::public_service_code(1000 + n - 1),
                None,
            )));
            if proposed.is_ok() {
                authored += 1;
            }
        }
        if h.level == Level::Township {
            let Ok(pending) = lab.nodes[i].call_as::<PendingPage>(Command::pending()) else {
                continue;
            };
            for p in pending.pending {
                if lab.nodes[i].call(Command::Approve { id: p.id }).is_ok() {
                    authored += 1;
                }
            }
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
    let mut lab = Lab::new(scenario, 0x5a5);
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
