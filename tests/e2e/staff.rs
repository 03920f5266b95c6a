//! Window staff across real nodes: filings approved by the township, first-in-then-out at entry.

use hallsync::harness::Federation;
use hallsync_model::records::department::DepartmentFields;
use hallsync_model::records::staff::StaffFields;
use hallsync_node::engine::StaffStep;
use hallsync_node::Command;
use hallsync_tests::{small_federation, CONVERGE_TIMEOUT};

fn approve_all(fed: &Federation, township: usize) {
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    for _ in 0..10 {
        let pending = fed.node(township).call(Command::pending()).unwrap();
        let list = pending["pending"].as_array().unwrap().clone();
        if list.is_empty() {
            return;
        }
        for p in list {
            fed.node(township)
                .call(Command::Approve {
                    id: p["id"].as_str().unwrap().into(),
                })
                .unwrap();
        }
        fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    }
}

fn step(person: &str, step: &str, on: &str) -> Command {
    Command::StaffStep(StaffStep {
        person: person.into(),
        hall: None,
        step: step.into(),
        on: on.into(),
        reason: Some("appointment".into()),
    })
}

#[test]
fn a_window_is_never_left_empty() {
    // Goal: two people are filed, trained and put on duty at one window with the township's approval;
    // one may leave while the other is on duty, the last one may not (P4), and every node shows the
    // same roster.
    let (fed, n) = small_federation().unwrap();
    // Staff are filed for a stationed department, named by its id (ST 6.2.1).
    let unstationed = fed.node(n.village).call(Command::StaffFile {
        hall: None,
        fields: StaffFields {
            person: "a".into(),
            name: "员工a".into(),
            department: "mzj".into(),
            window: "w1".into(),
            role: "window_staff".into(),
            ..StaffFields::default()
        },
    });
    assert!(
        unstationed.unwrap_err().to_string().contains("ST 6.2.1"),
        "a department that is not stationed is refused"
    );
    fed.node(n.village)
        .call(Command::Department {
            hall: None,
            fields: DepartmentFields {
                dept: "mzj".into(),
                name: "民政局".into(),
                plan: "进驻方案 2026-01".into(),
                authorization_letter: "授权委托书 2026-01".into(),
                filing: "备案登记表 2026-01".into(),
                ..DepartmentFields::default()
            },
        })
        .unwrap();
    approve_all(&fed, n.township);
    for person in ["a", "b"] {
        let fields = StaffFields {
            person: person.into(),
            name: format!("员工{person}"),
            department: "mzj".into(),
            window: "w1".into(),
            role: "window_staff".into(),
            ..StaffFields::default()
        };
        fed.node(n.village)
            .call(Command::StaffFile { hall: None, fields })
            .unwrap();
    }
    approve_all(&fed, n.township);
    let untrained = fed.node(n.village).call(step("a", "duty", "2026-11-03"));
    assert!(untrained.unwrap_err().to_string().contains("P1"));
    for person in ["a", "b"] {
        fed.node(n.village)
            .call(step(person, "train", "2026-11-02"))
            .unwrap();
    }
    approve_all(&fed, n.township);
    for person in ["a", "b"] {
        fed.node(n.village)
            .call(step(person, "duty", "2026-11-03"))
            .unwrap();
    }
    approve_all(&fed, n.township);
    fed.node(n.village)
        .call(step("a", "leave", "2026-11-20"))
        .unwrap();
    approve_all(&fed, n.township);
    let last = fed.node(n.village).call(step("b", "leave", "2026-11-21"));
    assert!(last.unwrap_err().to_string().contains("P4"));
    let rosters: Vec<_> = fed
        .nodes
        .iter()
        .map(|node| node.call(Command::StaffList { hall: None }).unwrap())
        .collect();
    assert!(rosters.windows(2).all(|w| w[0] == w[1]));
    let states: Vec<&str> = rosters[0]["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["left", "on_duty"], "{:#}", rosters[0]);
}
