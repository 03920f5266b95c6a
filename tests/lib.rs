//! Helpers for the end-to-end tests: finding the `hallsync` binary, building the standard small
//! federation, and crafting hostile changes the way a compromised device would.
#![deny(missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use hallsync::harness::{Federation, Tier};
use hallsync_model::{DeviceKey, DocId, Genesis, Replica, SignedChange};
use hallsync_node::engine::Invitation;

/// How long any convergence in the tests may take before the test fails.
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(40);

/// The `hallsync` binary built next to the test executable (`target/debug/hallsync`), or `HALLSYNC_BIN`.
pub fn hallsync_bin() -> PathBuf {
    if let Ok(path) = std::env::var("HALLSYNC_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/e2e-HASH → target/debug/hallsync
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.to_path_buf())
        .unwrap_or_default();
    dir.join("hallsync")
}

/// Indices of the nodes of [`small_federation`].
pub struct Small {
    /// The genesis city (admin).
    pub city: usize,
    /// A township directly under the city, as in Dongguan (admin).
    pub township: usize,
    /// A village under the township (operator).
    pub village: usize,
}

/// Hall ids used by [`small_federation`].
pub const VILLAGE_HALL: &str = "441900101001";

/// Three real nodes: a city, a township under it (no districts, as in Dongguan) and a village.
///
/// # Errors
/// When a node fails to start or join.
pub fn small_federation() -> Result<(Federation, Small)> {
    let mut fed = Federation::new(&hallsync_bin(), None)?;
    let city = fed.add_city("city", "441900", "东莞市政务服务中心")?;
    let township = fed.add_member(
        "township",
        "441900101",
        Tier::Township,
        "石碣镇政务服务中心",
        "441900",
        "admin",
        city,
    )?;
    let village = fed.add_member(
        "village",
        VILLAGE_HALL,
        Tier::Village,
        "石碣镇某村便民服务站",
        "441900101",
        "operator",
        township,
    )?;
    Ok((
        fed,
        Small {
            city,
            township,
            village,
        },
    ))
}

/// The device key of the node in `dir`, as a thief of that device would have it.
///
/// # Errors
/// When the key file is missing or corrupt.
pub fn stolen_key(dir: &std::path::Path) -> Result<DeviceKey> {
    hallsync_node::keyfile::read(&dir.join("device.key")).map_err(Into::into)
}

/// A replica holding everything `node` has applied, built from its exported bundle.
///
/// # Errors
/// When export fails or the bundle does not decode.
pub fn replica_of(node: &hallsync::harness::NodeProcess, genesis: Genesis) -> Result<Replica> {
    let out = node.exec(hallsync_node::Command::BundleExport)?;
    let changes =
        hallsync_node::engine::decode_bundle(out["bundle"].as_str().context("no bundle")?)?;
    let mut replica = Replica::new(genesis);
    replica.ingest(changes);
    Ok(replica)
}

/// The genesis of the network a node belongs to: the city's device key.
///
/// # Errors
/// When the city's status cannot be read.
pub fn genesis_of(city: &hallsync::harness::NodeProcess) -> Result<Genesis> {
    let status = city.exec(hallsync_node::Command::Status)?;
    let key = status["device_id"]
        .as_str()
        .context("no device id")?
        .parse()?;
    Ok(Genesis { key })
}

/// Writes `puts` into `doc` as `key` in boot epoch `epoch`, skipping every check: what a compromised
/// device (or a modified binary) can produce.
///
/// # Errors
/// When automerge refuses the edit.
pub fn forge_change(
    replica: &Replica,
    key: &DeviceKey,
    epoch: u32,
    doc: &DocId,
    puts: &[(&str, hallsync_model::ScalarValue)],
) -> Result<SignedChange> {
    use automerge::transaction::Transactable;
    let mut fork = match replica.record(doc) {
        Some(state) => state.doc().fork(),
        None => automerge::Automerge::new(),
    };
    fork.set_actor(key.device_id().actor(epoch));
    let mut tx = fork.transaction();
    for (k, v) in puts {
        tx.put(automerge::ROOT, *k, v.clone())?;
    }
    tx.commit();
    let change = fork.get_last_local_change().context("no change")?;
    Ok(SignedChange::sign(doc.clone(), &change, key))
}

/// Writes a bundle file that `hallsync import` reads.
///
/// # Errors
/// When the file cannot be written.
pub fn write_bundle(path: &std::path::Path, changes: &[SignedChange]) -> Result<()> {
    std::fs::write(path, hallsync_node::engine::encode_bundle(changes))?;
    Ok(())
}

/// Keeps the `Invitation` type linked so token tests can decode what `invite` printed.
pub fn decode_token(token: &str) -> Result<Invitation> {
    Invitation::decode(token).map_err(Into::into)
}

/// The command that creates a complete public-service item with code `code` (every guide element).
pub fn create_item(code: &str) -> hallsync_node::Command {
    hallsync_node::Command::ItemCreate(hallsync::harness::sample_item(
        code,
        &format!("事项 {code}"),
        hallsync_model::records::item::ItemType::PublicService,
        "民政局",
        5,
    ))
}

/// Runs the `hallsync` binary with `args`: (success, stdout, stderr).
///
/// # Panics
/// When the binary cannot be started (build it first).
pub fn run_cli(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(hallsync_bin())
        .args(args)
        .env_remove("HALLSYNC_DATA")
        .output()
        .expect("the hallsync binary runs (cargo build -p hallsync)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A new genesis city node (hall 4403, 市中心) in `dir/name`, made with `hallsync init --genesis`;
/// returns its data directory.
///
/// # Panics
/// When `init` fails.
pub fn genesis_city(dir: &std::path::Path, name: &str) -> String {
    let data = dir.join(name);
    let d = data.to_str().unwrap_or_default().to_string();
    let (ok, _, err) = init_city(&d, &[]);
    assert!(ok, "init: {err}");
    d
}

/// Runs `hallsync init` for a genesis city node (hall 4403) in `data`, with `extra` arguments;
/// returns (success, stdout, stderr).
pub fn init_city(data: &str, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "init",
        "--data",
        data,
        "--hall",
        "4403",
        "--level",
        "city",
        "--name",
        "市中心",
        "--genesis",
    ];
    args.extend_from_slice(extra);
    run_cli(&args)
}

/// Has `approver` approve every proposal it may decide, round after round (a decision may make
/// the next proposal decidable), until none is left; converges after each round.
///
/// # Panics
/// When a node does not answer or the federation does not converge: a test failure.
pub fn approve_all(fed: &Federation, approver: usize) {
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    for _ in 0..10 {
        let pending = fed
            .node(approver)
            .call(hallsync_node::Command::pending())
            .unwrap();
        let list = pending["pending"].as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            return;
        }
        for p in list {
            let id = p["id"].as_str().unwrap_or_default().to_string();
            fed.node(approver)
                .call(hallsync_node::Command::Approve { id })
                .unwrap();
        }
        fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    }
}

/// A village's filing that stations the civil-affairs bureau (民政局, `mzj`) under `plan`, complete
/// as S7 wants it (plan, letter of authorisation, filing form).
pub fn civil_affairs_filing(plan: &str) -> hallsync_node::Command {
    hallsync_node::Command::Department {
        hall: None,
        fields: hallsync_model::records::department::DepartmentFields {
            dept: "mzj".into(),
            name: "民政局".into(),
            plan: plan.into(),
            authorization_letter: "授权委托书 2026-01".into(),
            filing: "备案登记表 2026-01".into(),
            ..Default::default()
        },
    }
}

/// Waits until every node of `fed` has announced its sealing key (each does on its first tick with
/// a certificate) and the announcements have spread, so that cases can be sealed to any hall.
///
/// # Panics
/// When a node does not announce within [`CONVERGE_TIMEOUT`], or the federation does not converge.
pub fn wait_sealing_keys(fed: &Federation) {
    for node in &fed.nodes {
        hallsync::harness::wait_until(
            "every node to announce its sealing key",
            CONVERGE_TIMEOUT,
            Duration::from_millis(100),
            || Ok(node.call(hallsync_node::Command::Status)?["seal_key"].is_string()),
        )
        .unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
}
