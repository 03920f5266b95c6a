//! Scenario files (TOML): the hall tree, links, availability, workload and adversaries.

use serde::Deserialize;

/// Most halls a scenario may have: a province of 28 041 halls converges in 8.9 GB here.
pub const HALLS_MAX: usize = 30_000;
/// A whole scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for the report.
    pub name: String,
    /// Default seed (overridden by `--seed`).
    #[serde(default)]
    pub seed: u64,
    /// Simulated time, in seconds.
    pub duration_s: u64,
    /// The hall tree, by counts per level.
    pub halls: Halls,
    /// Links between a hall and its parent.
    #[serde(default)]
    pub link: Link,
    /// When halls are online.
    #[serde(default)]
    pub availability: Availability,
    /// What people do.
    #[serde(default)]
    pub workload: Workload,
    /// Hostile peers.
    #[serde(default)]
    pub adversaries: Adversaries,
    /// How often each online node starts a sync round with each online neighbour, in seconds.
    #[serde(default = "default_sync_interval_s")]
    pub sync_interval_s: u64,
    /// How `hallsync-lab` runs this scenario with real nodes (the simulator ignores it).
    #[serde(default)]
    pub lab: LabSection,
    /// Faults a tester scripts (`[[fault]]`), any number, overlapping as they like; the simulator
    /// and the lab both run them and report, per fault, how long convergence took after it ended.
    #[serde(default)]
    pub fault: Vec<Fault>,
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The hall's uplink is down (the hall and everything below it cut off), both ways.
    Cut,
    /// Only one direction of the hall's uplink carries nothing (`direction`: up or down).
    OneWay,
    /// The hall's uplink goes down and up every `period_s` (down for the first half).
    Flap,
    /// The hall's clock runs `offset_s` ahead (negative: behind).
    Clock,
    /// The hall's node is killed (kill -9 in the lab) and restarted at `end_s`.
    Crash,
    /// The hall's disk is full: it stores nothing new (it neither takes in nor writes changes).
    DiskFull,
}

/// One `[[fault]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// The hall it strikes, by id (as the simulator names halls: `C`, `D0`, `D0T1`, `D0T1V2`).
    pub hall: String,
    /// From, in (simulated) seconds.
    pub start_s: u64,
    /// To, in (simulated) seconds.
    pub end_s: u64,
    /// For `one_way`: `up` (nothing from the hall to its parent) or `down`.
    #[serde(default)]
    pub direction: Option<String>,
    /// For `flap`: the period in seconds.
    #[serde(default)]
    pub period_s: Option<u64>,
    /// For `clock`: how far ahead the hall's clock runs, in seconds (negative: behind).
    #[serde(default)]
    pub offset_s: Option<i64>,
}

impl Fault {
    /// A name for reports: kind and hall.
    pub fn name(&self) -> String {
        let kind = match self.kind {
            FaultKind::Cut => "cut",
            FaultKind::OneWay => "one_way",
            FaultKind::Flap => "flap",
            FaultKind::Clock => "clock",
            FaultKind::Crash => "crash",
            FaultKind::DiskFull => "disk_full",
        };
        format!("{kind} {}", self.hall)
    }

    /// True while it is in force at `t_s`.
    pub fn active(&self, t_s: u64) -> bool {
        t_s >= self.start_s && t_s < self.end_s
    }

    /// True while a flap (or cut) keeps the link down at `t_s`.
    pub fn link_down(&self, t_s: u64) -> bool {
        match self.kind {
            FaultKind::Cut | FaultKind::Crash => self.active(t_s),
            FaultKind::Flap => {
                let period = self.period_s.unwrap_or(60).max(2);
                self.active(t_s) && (t_s - self.start_s) % period < period / 2
            }
            _ => false,
        }
    }

    /// True when it drops what goes `up` (from the hall to its parent) or down, at `t_s`.
    pub fn blocks(&self, t_s: u64, up: bool) -> bool {
        if self.link_down(t_s) {
            return true;
        }
        self.kind == FaultKind::OneWay
            && self.active(t_s)
            && match self.direction.as_deref() {
                Some("down") => !up,
                _ => up,
            }
    }
}

/// `[lab]`: real nodes in network namespaces run in real time, so the lab scales the scenario's
/// time down and says which halls sit behind NAT.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabSection {
    /// Simulated seconds per real second: a partition from 3600 s to 18000 s at 3600 runs from
    /// the 1st to the 5th real second.
    pub time_scale: u64,
    /// Real seconds the workload runs.
    pub work_s: u64,
    /// `none`, or `villages`: each village behind its own NAT (nftables masquerade), dialling out
    /// only, as a 4G router would.
    pub nat: String,
    /// Real seconds to wait for convergence after the work and every cut ended.
    pub settle_timeout_s: u64,
    /// The nodes' sync interval, in milliseconds (real nodes; the scenario's is simulated).
    pub sync_interval_ms: u64,
}

impl Default for LabSection {
    fn default() -> Self {
        LabSection {
            time_scale: 3600,
            work_s: 10,
            nat: "none".into(),
            settle_timeout_s: 120,
            sync_interval_ms: 1000,
        }
    }
}

impl LabSection {
    /// Real seconds for `sim_s` simulated ones.
    pub fn real_s(&self, sim_s: u64) -> f64 {
        sim_s as f64 / self.time_scale.max(1) as f64
    }
}

fn default_sync_interval_s() -> u64 {
    30
}

/// The hall tree: counts per level (the city, then so many districts, townships per district,
/// villages per township), or every hall listed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Halls {
    /// Districts under the city (0: townships sit under the city, as in Dongguan).
    pub districts: u32,
    /// Townships per district (or under the city when there are no districts).
    pub townships_per_parent: u32,
    /// Villages per township.
    pub villages_per_township: u32,
    /// Every hall, parents before children, the city first; when given, the counts must be 0.
    pub list: Vec<ListedHall>,
}

/// One hall of a listed tree.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedHall {
    /// Its id (letters, digits, '-').
    pub id: String,
    /// `city`, `district`, `township` or `village`.
    pub level: String,
    /// The hall above it (none for the city).
    #[serde(default)]
    pub parent: Option<String>,
}

/// Link properties.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Link {
    /// One-way latency, in milliseconds.
    pub latency_ms: u64,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Bandwidth of every link in kbit/s: a message arrives `latency_ms` plus its size over this
    /// after it is sent (0: unlimited).
    pub bandwidth_kbps: u64,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            latency_ms: 50,
            loss: 0.0,
            bandwidth_kbps: 0,
        }
    }
}

/// Availability schedules.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Availability {
    /// Hours per day a village station is online, at a random time of day.
    pub village_online_h: f64,
    /// A district cut off from `start` to `end` (seconds), by index, if any.
    pub partition: Option<Partition>,
}

impl Default for Availability {
    fn default() -> Self {
        Availability {
            village_online_h: 24.0,
            partition: None,
        }
    }
}

/// A cut.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// The district (0-based).
    pub district: u32,
    /// From, in seconds.
    pub start_s: u64,
    /// To, in seconds.
    pub end_s: u64,
}

/// Work done per simulated hour.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Catalogue items created or edited by the city per hour.
    pub catalogue_edits_per_h: f64,
    /// Stationing proposals per hour (by random villages), each approved by its township.
    pub proposals_per_h: f64,
    /// Cross-region cases (通办件) opened per hour, each by a random village for another random
    /// village to handle: they travel only through the halls between the two (store and forward).
    pub cases_per_h: f64,
    /// Staff filings (进驻/调整备案) per hour, each by a random village and approved by its township.
    pub staff_changes_per_h: f64,
    /// Workload stops this many seconds before the end, to measure convergence.
    pub quiet_tail_s: u64,
    /// Cases go through their whole lifecycle: every five minutes each online village takes its
    /// side's next steps on the cases it is a party to (accept and transfer; review and decide;
    /// issue, deliver and archive), until half the quiet tail has passed.
    pub case_lifecycle: bool,
    /// With the lifecycle: this long after a case is archived (simulated seconds), its accepting
    /// village erases its personal data everywhere (D1; the node's `cases.retention_days`).
    pub case_retention_s: u64,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            catalogue_edits_per_h: 4.0,
            proposals_per_h: 10.0,
            cases_per_h: 0.0,
            staff_changes_per_h: 0.0,
            quiet_tail_s: 3600,
            case_lifecycle: false,
            case_retention_s: 3600,
        }
    }
}

/// Hostile peers.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Adversaries {
    /// Forged changes injected per hour (signed by keys without certificates, or with broken signatures).
    pub forgeries_per_h: f64,
    /// Garbage messages sent to random nodes per hour; one in eight is larger than any message may be.
    pub garbage_per_h: f64,
    /// Valid changes replayed to random nodes per hour (must change nothing).
    pub replays_per_h: f64,
    /// Equivocations per hour: a village key signs two versions of one change, handed to two
    /// different halls above it (neither may be effective anywhere once both are known).
    pub equivocations_per_h: f64,
    /// Villages whose township revokes them an hour into the run; they keep writing every hour
    /// (a stolen device), and nothing they write after the revocation may become effective.
    pub revoked_writers: u32,
}

/// A scenario that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("scenario {origin}: {message}")]
pub struct ScenarioError {
    /// Where it came from.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl Scenario {
    /// Parses and checks a scenario.
    ///
    /// # Errors
    /// [`ScenarioError`] naming the key.
    pub fn from_toml(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        let bad = |m: &str| {
            Err(ScenarioError {
                origin: origin.into(),
                message: m.into(),
            })
        };
        let halls = if s.halls.list.is_empty() {
            1 + s.halls.districts.max(1) as usize
                * s.halls.townships_per_parent as usize
                * (1 + s.halls.villages_per_township as usize)
        } else {
            if s.halls.districts + s.halls.townships_per_parent + s.halls.villages_per_township > 0
            {
                return bad("halls: give either the counts or halls.list, not both");
            }
            if let Err(m) = check_list(&s.halls.list) {
                return bad(&format!("halls.list: {m}"));
            }
            s.halls.list.len()
        };
        if halls > HALLS_MAX {
            return bad(&format!(
                "at most {HALLS_MAX} halls (a province; about 0.3 MB of memory a hall)"
            ));
        }
        if !(0.0..=1.0).contains(&s.link.loss) {
            return bad("link.loss is a probability, 0 to 1");
        }
        if !(0.0..=24.0).contains(&s.availability.village_online_h) {
            return bad("availability.village_online_h is 0 to 24");
        }
        if s.duration_s == 0 || s.duration_s > 30 * 86_400 || s.sync_interval_s == 0 {
            return bad("duration_s is 1 s to 30 days, sync_interval_s at least 1");
        }
        if s.fault.len() > 64 {
            return bad("at most 64 [[fault]] entries");
        }
        for (i, f) in s.fault.iter().enumerate() {
            if f.end_s <= f.start_s {
                return bad(&format!(
                    "fault {i} ({}): end_s must come after start_s",
                    f.name()
                ));
            }
            if f.kind == FaultKind::OneWay
                && !matches!(f.direction.as_deref(), Some("up") | Some("down"))
            {
                return bad(&format!(
                    "fault {i}: a one_way fault needs direction = \"up\" or \"down\""
                ));
            }
            if f.kind == FaultKind::Flap && f.period_s.is_none_or(|p| p < 2) {
                return bad(&format!("fault {i}: a flap needs period_s of at least 2"));
            }
            if f.kind == FaultKind::Clock && f.offset_s.is_none() {
                return bad(&format!("fault {i}: a clock fault needs offset_s"));
            }
        }
        Ok(s)
    }
}

/// A listed tree is usable: valid ids, the city first and only once, every other hall under an
/// earlier hall of the level just above... or, for townships, under the city (no districts).
fn check_list(list: &[ListedHall]) -> Result<(), String> {
    use hallsync_model::{HallId, Level};
    let mut seen: std::collections::BTreeMap<&str, Level> = std::collections::BTreeMap::new();
    for (i, hall) in list.iter().enumerate() {
        HallId::new(&hall.id).map_err(|e| format!("entry {i}: {e}"))?;
        let level: Level = hall.level.parse().map_err(|_| {
            format!(
                "entry {i} ({}): level `{}`: use city, district, township or village",
                hall.id, hall.level
            )
        })?;
        match (i, level, hall.parent.as_deref()) {
            (0, Level::City, None) => {}
            (0, _, _) => return Err("the first hall is the city, with no parent".into()),
            (_, Level::City, _) => return Err(format!("entry {i} ({}): one city only", hall.id)),
            (_, _, None) => return Err(format!("entry {i} ({}): give its parent", hall.id)),
            (_, _, Some(parent)) => {
                let Some(above) = seen.get(parent) else {
                    return Err(format!(
                        "entry {i} ({}): parent `{parent}` is not listed before it",
                        hall.id
                    ));
                };
                let fits = matches!(
                    (above, level),
                    (Level::City, Level::District | Level::Township)
                        | (Level::District, Level::Township)
                        | (Level::Township, Level::Village)
                );
                if !fits {
                    return Err(format!(
                        "entry {i} ({}): a {} cannot sit under a {}",
                        hall.id,
                        hall.level,
                        above.as_str()
                    ));
                }
            }
        }
        if seen.insert(hall.id.as_str(), level).is_some() {
            return Err(format!("entry {i}: hall `{}` is listed twice", hall.id));
        }
    }
    if list.is_empty() {
        return Err("list at least the city".into());
    }
    Ok(())
}
