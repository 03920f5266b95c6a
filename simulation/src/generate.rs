//! Histories as a city node holds them, for the node's store benchmark: a certified hall tree and a
//! number of records mixed as a city holds them — catalogue items (1 change each), stationings
//! proposed by villages and approved by their townships (2), window staff filed by villages and
//! approved (2), and cross-region cases between villages walked through their whole lifecycle by
//! the two parties (8 transitions after the opening: 9).
//!
//! Every change is authored through [`Replica::author`], so it is signed, authorized and valid;
//! the authoring replica keeps its records at rest in memory ([`MemRest`]) so that generating a
//! million changes needs about what they weigh, not every document open.

use std::sync::Arc;

use hallsync_model::records::case::Transition;
use hallsync_model::records::item::ItemFields;
use hallsync_model::records::staff::StaffFields;
use hallsync_model::records::station::StationFields;
use hallsync_model::replica::MemRest;
use hallsync_model::{
    Approval, Decision, DeviceId, DeviceKey, DocId, Genesis, ItemCode, Level, Replica, ScalarValue,
    SignedChange,
};

use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::world::{self, Node};

/// A generated history.
pub struct CityHistory {
    /// The network's genesis.
    pub genesis: Genesis,
    /// Every change, in an order that a node can ingest (trust first).
    pub changes: Vec<SignedChange>,
    /// The village operators' devices (one of them is the benchmark's revocation target).
    pub villages: Vec<DeviceId>,
    /// The township administrator supervising each village, by the same index as `villages`.
    pub township_of_village: Vec<DeviceKey>,
    /// Records generated (besides the trust record).
    pub records: usize,
    /// The city's device (the genesis key): what a node made of this history signs with.
    pub city: DeviceKey,
    /// The city's hall.
    pub city_hall: hallsync_model::HallId,
}

/// The shares of the mix, per 10 records: 2 items, 4 stationings, 2 staff filings, 2 cases.
const MIX: [Kind; 10] = [
    Kind::Item,
    Kind::Station,
    Kind::Staff,
    Kind::Case,
    Kind::Station,
    Kind::Item,
    Kind::Station,
    Kind::Staff,
    Kind::Case,
    Kind::Station,
];

#[derive(Clone, Copy)]
enum Kind {
    Item,
    Station,
    Staff,
    Case,
}

/// The hall tree: one city, 6 districts, 10 townships each, 8 villages each (541 halls).
const TREE: &str = r#"
name = "generated"
seed = 1
duration_s = 86400
sync_interval_s = 3600

[halls]
districts = 6
townships_per_parent = 10
villages_per_township = 8
"#;

/// Generates `records` records (plus the trust record) with `seed`; `progress` is told the
/// records done every thousand.
///
/// # Panics
/// Never on its own input: every change it writes is one the rules accept (a refusal would be a
/// bug in the model, and is reported as such).
pub fn city_history(records: usize, seed: u64, mut progress: impl FnMut(usize)) -> CityHistory {
    let scenario = Scenario::from_toml(TREE, "generated").unwrap_or_else(|e| {
        unreachable!("the built-in tree is a valid scenario: {e}");
    });
    let mut rng = Rng::new(seed);
    let (nodes, trust_log) = world::build(&scenario, &mut rng);
    let genesis = nodes[0].replica.trust().genesis().clone();
    let rest = Arc::new(MemRest::new());
    let mut origin = Replica::new(genesis.clone());
    origin.set_rest(rest.clone(), 256);
    origin.ingest(trust_log.clone());
    let mut changes = trust_log;
    let villages: Vec<usize> = (0..nodes.len())
        .filter(|i| nodes[*i].level == Level::Village)
        .collect();
    let township = |v: usize| -> &Node { &nodes[nodes[v].parent.unwrap_or(0)] };
    let city = &nodes[0];
    let mut items = 0u32;
    let mut write = |origin: &mut Replica,
                     key: &DeviceKey,
                     doc: &DocId,
                     puts: &[(String, ScalarValue)],
                     at: i64| {
        match origin.author(key, 1, doc, at, puts) {
            Ok(envelope) => Some(envelope),
            Err(e) => unreachable!("the generator writes only what the rules accept: {doc}: {e}"),
        }
    };
    let base_ms: i64 = 1_780_000_000_000;
    for n in 0..records {
        let at = base_ms + n as i64 * 1_000;
        let kind = if items == 0 {
            Kind::Item
        } else {
            MIX[n % MIX.len()]
        };
        match kind {
            Kind::Item => {
                let code = item_code(items);
                items += 1;
                let mut fields = ItemFields::minimal(
                    code.clone(),
                    format!("事项 {}", code.as_str()),
                    hallsync_model::records::item::ItemType::PublicService,
                    "民政局".into(),
                    5,
                );
                fields.cross_region = hallsync_model::records::item::CrossRegion::Citywide;
                fields.guide = format!("办事指南 {}", code.as_str());
                changes.extend(write(
                    &mut origin,
                    &city.key,
                    &DocId::item(&code),
                    &fields.writes(),
                    at,
                ));
            }
            Kind::Station | Kind::Staff => {
                // A village files it; its township approves it.
                let v = villages[rng.below(villages.len() as u64) as usize];
                let (doc, puts) = if matches!(kind, Kind::Station) {
                    let code = item_code(rng.below(u64::from(items)) as u32);
                    let doc = DocId::station(&nodes[v].hall, &code);
                    // Already stationed there: this record is an adjustment of it.
                    let adjust = origin.holds(&doc);
                    let fields = StationFields {
                        hall: nodes[v].hall.clone(),
                        item: code,
                        action: if adjust {
                            hallsync_model::records::station::StationAction::Adjust
                        } else {
                            hallsync_model::records::station::StationAction::Station
                        },
                        proposed_at_ms: at,
                        note: adjust.then(|| format!("调整 {n}")),
                        reason_kind: None,
                        reason: None,
                        basis: None,
                        executed_at: None,
                    };
                    (doc, fields.writes())
                } else {
                    let person = format!("P{n}");
                    let fields = StaffFields {
                        person: person.clone(),
                        name: format!("工作人员 {person}"),
                        department: "civil".into(),
                        window: format!("W{}", 1 + rng.below(6)),
                        role: "window_staff".into(),
                        ..Default::default()
                    };
                    (DocId::staff(&nodes[v].hall, &person), fields.writes())
                };
                changes.extend(write(&mut origin, &nodes[v].key, &doc, &puts, at));
                changes.extend(approve(
                    &mut origin,
                    &mut write,
                    township(v),
                    &doc,
                    at + 60_000,
                ));
            }
            Kind::Case => {
                let a = villages[rng.below(villages.len() as u64) as usize];
                let mut h = villages[rng.below(villages.len() as u64) as usize];
                if a == h {
                    h = villages
                        [(villages.iter().position(|x| *x == a).unwrap_or(0) + 1) % villages.len()];
                }
                let case_no = format!("GEN-{n}");
                let doc = DocId::case(&nodes[a].hall, &nodes[h].hall, &case_no);
                let code = item_code(rng.below(u64::from(items)) as u32);
                let open = [
                    ("item".to_string(), ScalarValue::Str(code.as_str().into())),
                    ("case_no".into(), ScalarValue::Str(case_no.clone().into())),
                    (
                        "applicant_ref".into(),
                        ScalarValue::Str("0000000000000000".into()),
                    ),
                    ("cross_region".into(), ScalarValue::Str("citywide".into())),
                ];
                changes.extend(write(&mut origin, &nodes[a].key, &doc, &open, at));
                use hallsync_model::records::case::CaseState::*;
                let steps = [
                    (Received, Accepted, a),
                    (Accepted, Transferred, a),
                    (Transferred, InReview, h),
                    (InReview, Decided, h),
                    (Decided, Issued, a),
                    (Issued, Delivered, a),
                    (Delivered, Archived, a),
                ];
                for (i, (from, to, by)) in steps.into_iter().enumerate() {
                    let t = Transition {
                        from,
                        to,
                        at_ms: at + (i as i64 + 1) * 3_600_000,
                        materials: Vec::new(),
                        note: String::new(),
                        supply_by: None,
                        mode: (to == Issued).then(|| "window".to_string()),
                        sealed_note: None,
                    };
                    let puts = [(
                        t.key(&nodes[by].key.device_id()),
                        ScalarValue::Str(t.to_value().into()),
                    )];
                    changes.extend(write(&mut origin, &nodes[by].key, &doc, &puts, t.at_ms));
                }
            }
        }
        if n % 1_000 == 999 {
            rest.write(&origin.unsettled());
            origin.settle();
            progress(n + 1);
        }
    }
    CityHistory {
        genesis,
        changes,
        villages: villages.iter().map(|v| nodes[*v].key.device_id()).collect(),
        township_of_village: villages.iter().map(|v| township(*v).key.clone()).collect(),
        records,
        city: nodes[0].key.clone(),
        city_hall: nodes[0].hall.clone(),
    }
}

/// The `n`th generated item's code (public services, GB39046 type 20): main items first, then
/// their sub-items 001–999.
fn item_code(n: u32) -> ItemCode {
    let (main, sub) = (n % 100_000, (n / 100_000) % 1_000);
    ItemCode::new(&format!("4420{main:05}{sub:03}"))
        .unwrap_or_else(|_| unreachable!("generated codes are well formed"))
}

/// The township approves what is pending in `doc`.
fn approve(
    origin: &mut Replica,
    write: &mut impl FnMut(
        &mut Replica,
        &DeviceKey,
        &DocId,
        &[(String, ScalarValue)],
        i64,
    ) -> Option<SignedChange>,
    township: &Node,
    doc: &DocId,
    at: i64,
) -> Option<SignedChange> {
    let heads = origin.heads_of(doc)?;
    let approval = Approval {
        decision: Decision::Approve,
        heads: heads.iter().map(|h| h.to_string()).collect(),
        reason: None,
        at_ms: at,
    };
    let puts = [(
        approval.key(&township.key.device_id()),
        ScalarValue::Str(approval.to_value().into()),
    )];
    write(origin, &township.key, doc, &puts, at)
}
