//! Window staff: P1/P2 at entry, P3 warning, and first-in-then-out (P4) under concurrent edits.

use hallsync_model::records::staff::StaffFields;
use hallsync_model::{Decision, DeviceKey, DocId, Level, Replica, Role, ScalarValue, SignedChange};
use proptest::prelude::*;

use crate::fixture::{cert, fresh, hall, key, Fed, TOWNSHIP, VILLAGE};

fn staff_doc(person: &str) -> DocId {
    DocId::staff(&hall(VILLAGE), person)
}

/// A branch: a replica that sees only its own writes (one operator device and the township admin
/// on its own boot epoch), as a hall cut off from the other operator would.
struct Branch {
    replica: Replica,
    operator: DeviceKey,
    township: DeviceKey,
    epoch: u32,
    log: Vec<SignedChange>,
    now_ms: i64,
}

impl Branch {
    fn write(&mut self, person: &str, puts: Vec<(String, ScalarValue)>) {
        self.now_ms += 1000;
        let doc = staff_doc(person);
        let Ok(env) = self
            .replica
            .author(&self.operator, self.epoch, &doc, self.now_ms, &puts)
        else {
            return;
        };
        self.log.push(env);
        // The township approves at once on this branch.
        let Some(state) = self.replica.record(&doc) else {
            return;
        };
        let heads = state.heads().iter().map(|h| h.to_string()).collect();
        let approval = hallsync_model::Approval {
            decision: Decision::Approve,
            heads,
            reason: None,
            at_ms: self.now_ms,
        };
        let key = approval.key(&self.township.device_id());
        let value = ScalarValue::Str(approval.to_value().into());
        if let Ok(env) = self.replica.author(
            &self.township,
            self.epoch,
            &doc,
            self.now_ms,
            &[(key, value)],
        ) {
            self.log.push(env);
        }
    }
}

fn setup() -> (Fed, DeviceKey) {
    let mut fed = Fed::new();
    let (township, operator2) = (fed.township.clone(), key(90));
    let c = cert(
        &township,
        &operator2,
        VILLAGE,
        Level::Village,
        Some(TOWNSHIP),
        Role::Operator,
    );
    fed.publish_cert(&township, &c).unwrap();
    (fed, operator2)
}

fn branch(fed: &Fed, operator: DeviceKey, epoch: u32) -> Branch {
    let mut replica = fresh(fed);
    replica.ingest(fed.log.clone());
    Branch {
        replica,
        operator,
        township: fed.township.clone(),
        epoch,
        log: Vec::new(),
        now_ms: 1_800_000_000_000,
    }
}

fn s(v: &str) -> ScalarValue {
    ScalarValue::Str(v.into())
}

fn filing(person: &str, window: &str) -> Vec<(String, ScalarValue)> {
    let f = StaffFields {
        person: person.into(),
        name: format!("员工{person}"),
        department: "civil".into(),
        window: window.into(),
        role: "window_staff".into(),
        ..StaffFields::default()
    };
    f.writes()
}

#[test]
fn p4_the_last_person_at_a_window_cannot_leave() {
    // Goal: with two people on duty, both leaving concurrently leaves exactly one held.
    let (fed, operator2) = setup();
    let mut base = branch(&fed, fed.village.clone(), 1);
    for p in ["a", "b"] {
        base.write(p, filing(p, "w1"));
        base.write(
            p,
            vec![
                ("trained_on".into(), s("2026-11-02")),
                ("on_duty_from".into(), s("2026-11-03")),
            ],
        );
    }
    let mut x = branch(&fed, fed.village.clone(), 2);
    let mut y = branch(&fed, operator2, 3);
    for b in [&mut x, &mut y] {
        b.replica.ingest(base.log.clone());
    }
    x.write(
        "a",
        vec![
            ("left_on".into(), s("2026-11-20")),
            ("leave_reason".into(), s("appointment")),
        ],
    );
    y.write(
        "b",
        vec![
            ("left_on".into(), s("2026-11-20")),
            ("leave_reason".into(), s("appointment")),
        ],
    );
    let mut merged = fresh(&fed);
    merged.ingest(
        [
            fed.log.clone(),
            base.log.clone(),
            y.log.clone(),
            x.log.clone(),
        ]
        .concat(),
    );
    let roster = merged.roster(None);
    let states: Vec<(&str, &str)> = roster
        .iter()
        .map(|v| (v.filing.as_ref().unwrap().person.as_str(), v.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [("a", "left"), ("b", "on_duty")],
        "b, later in (date, person) order, is held"
    );
    assert!(roster[1].held.as_deref().unwrap().starts_with("P4"));
    assert!(
        roster[0].warnings.iter().any(|w| w.starts_with("P3")),
        "left within a year"
    );
}

#[test]
fn p4_a_held_departure_takes_effect_when_a_replacement_goes_on_duty() {
    // Goal (issue #11, P4): the last person at a window asks to leave and is held; when a
    // replacement goes on duty at that window later, the departure takes effect that day, as the
    // message promised, and the record says so.
    let (fed, _) = setup();
    let mut b = branch(&fed, fed.village.clone(), 1);
    b.write("a", filing("a", "w1"));
    b.write(
        "a",
        vec![
            ("trained_on".into(), s("2026-11-02")),
            ("on_duty_from".into(), s("2026-11-03")),
        ],
    );
    b.write(
        "a",
        vec![
            ("left_on".into(), s("2026-11-20")),
            ("leave_reason".into(), s("appointment")),
        ],
    );
    let held = b.replica.roster(None);
    assert_eq!(held[0].state, "on_duty");
    assert!(held[0].held.as_deref().unwrap().starts_with("P4"));
    b.write("c", filing("c", "w1"));
    b.write(
        "c",
        vec![
            ("trained_on".into(), s("2026-11-25")),
            ("on_duty_from".into(), s("2026-11-27")),
        ],
    );
    let roster = b.replica.roster(None);
    let a = roster
        .iter()
        .find(|v| v.filing.as_ref().unwrap().person == "a")
        .unwrap();
    assert_eq!(a.state, "left");
    assert_eq!(a.held, None);
    assert!(
        a.warnings.iter().any(|w| w.contains("left on 2026-11-27")),
        "{:?}",
        a.warnings
    );
}

#[test]
fn p1_p2_are_enforced_at_entry() {
    // Goal: untrained staff cannot report for duty; a window lead must be a business lead.
    let mut f = StaffFields {
        person: "a".into(),
        name: "张三".into(),
        department: "civil".into(),
        window: "w1".into(),
        role: "window_lead".into(),
        ..StaffFields::default()
    };
    assert!(f.validate().unwrap_err().starts_with("P2"));
    f.is_business_lead = true;
    f.on_duty_from = Some("2026-11-03".into());
    assert!(f.validate().unwrap_err().starts_with("P1"));
    f.trained_on = Some("2026-11-02".into());
    f.validate().unwrap();
}

#[derive(Clone, Debug)]
enum Op {
    File(u8, u8),
    Duty(u8, u8),
    Leave(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4, 0u8..2).prop_map(|(p, w)| Op::File(p, w)),
        (0u8..4, 0u8..20).prop_map(|(p, d)| Op::Duty(p, d)),
        (0u8..4, 0u8..20).prop_map(|(p, d)| Op::Leave(p, d)),
    ]
}

fn apply(b: &mut Branch, op: &Op) {
    let day = |d: u8| format!("2026-11-{:02}", u32::from(d) + 2);
    match op {
        Op::File(p, w) => b.write(&format!("p{p}"), filing(&format!("p{p}"), &format!("w{w}"))),
        Op::Duty(p, d) => b.write(
            &format!("p{p}"),
            vec![
                ("trained_on".into(), s("2026-11-01")),
                ("on_duty_from".into(), s(&day(*d))),
            ],
        ),
        Op::Leave(p, d) => b.write(&format!("p{p}"), vec![("left_on".into(), s(&day(*d)))]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24), .. ProptestConfig::default() })]

    #[test]
    fn p4_concurrent_staff_edits_never_leave_a_window_empty_and_converge(
        shared in proptest::collection::vec(op(), 0..8),
        left in proptest::collection::vec(op(), 0..8),
        right in proptest::collection::vec(op(), 0..8),
        seed in any::<u64>(),
    ) {
        let (fed, operator2) = setup();
        let mut base = branch(&fed, fed.village.clone(), 1);
        for o in &shared { apply(&mut base, o); }
        let mut x = branch(&fed, fed.village.clone(), 2);
        let mut y = branch(&fed, operator2, 3);
        x.replica.ingest(base.log.clone());
        y.replica.ingest(base.log.clone());
        for o in &left { apply(&mut x, o); }
        for o in &right { apply(&mut y, o); }
        let all = [fed.log.clone(), base.log.clone(), x.log.clone(), y.log.clone()].concat();
        let mut rosters = Vec::new();
        for k in 0..3u64 {
            let mut order = all.clone();
            crate::fixture::shuffle(&mut order, seed.wrapping_add(k));
            let mut r = fresh(&fed);
            for chunk in order.chunks(3) { r.ingest(chunk.to_vec()); }
            rosters.push(r.roster(None));
        }
        prop_assert_eq!(&rosters[0], &rosters[1]);
        prop_assert_eq!(&rosters[0], &rosters[2]);
        let roster = &rosters[0];
        for v in roster.iter().filter(|v| v.state == "left") {
            let f = v.filing.as_ref().unwrap();
            // The day the departure took effect: asked for, or later when it was held (P4).
            let left_on = v.left_effective_on.clone().unwrap();
            prop_assert!(left_on.as_str() >= f.left_on.as_deref().unwrap());
            let covered = roster.iter().any(|o| {
                let Some(g) = &o.filing else { return false };
                g.person != f.person
                    && g.window == f.window
                    && g.on_duty_from.as_deref().is_some_and(|d| d <= left_on.as_str())
                    && (o.state != "left" || o.left_effective_on.as_deref().is_some_and(|l| l > left_on.as_str()))
            });
            prop_assert!(covered, "{} left window {} empty on {}", f.person, f.window, left_on);
        }
    }
}
