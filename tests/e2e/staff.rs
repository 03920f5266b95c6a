//! Window staff across real nodes: filings approved by the township, first-in-then-out at entry.

use hallsync_model::records::staff::StaffFields;
use hallsync_node::engine::StaffStep;
use hallsync_node::Command;
use hallsync_tests::{approve_all, small_federation};

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
        .call(hallsync_tests::civil_affairs_filing("进驻方案 2026-01"))
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
