//! The store benchmark (issue #9): a city's history of N records is generated (items, stationings
//! with approvals, staff filings with approvals, cross-region cases through their lifecycle), then
//! ingested into a real redb store as a node does; a fresh process then opens it and reports the
//! figures a hall runs on for years:
//!
//! - store size on disk;
//! - time to open (the index, the trust record, the quarantine: what `hallsync run` does first);
//! - resident memory after opening, and after touching every record once (each read and its
//!   document opened, through the bounded cache);
//! - ingest rate, against the one-thread signature check of the same changes in the same run;
//! - a revocation of one village device (without keeps: everything it signed falls): its work,
//!   which is the longest any `status` waits while it runs on the event loop.
//!
//! `cargo bench -p hallsync-node --bench store` runs 10 000 and 100 000 records;
//! `cargo bench -p hallsync-node --bench store -- 1000000` any sizes (a million records is about
//! 3 million changes and takes several minutes to generate). `--json` prints one object per size;
//! `--keep DIR` keeps each size's store in `DIR/N/` and prints the command that measures opening it
//! again; `--open-max N` sets the cache of open records (default 2 048, as `limits.open_records_max`);
//! `--node DIR` (one size) leaves a city node's data directory holding the store, its key and config,
//! for trying the CLI on a node of that size (`hallsync items --data DIR`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use hallsync_model::records::trust_doc::revocation_key;
use hallsync_model::replica::{AtRest, OPEN_RECORDS_DEFAULT};
use hallsync_model::trust::revocation::{Revocation, RevocationBody, RevocationTarget};
use hallsync_model::{DeviceId, DocId, Genesis, Replica, ScalarValue, SignedChange};
use hallsync_node::engine::pipeline::ingest_pipelined;
use hallsync_node::store::RedbStore;
use serde_json::{json, Value};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|at| args.get(at + 1).cloned())
    };
    let open_max: usize = value_of("--open-max")
        .and_then(|v| v.parse().ok())
        .unwrap_or(OPEN_RECORDS_DEFAULT);
    if let Some(at) = args.iter().position(|a| a == "--open") {
        // The child: measure opening the store at args[at+1] of network args[at+2].
        let path = PathBuf::from(&args[at + 1]);
        let genesis = DeviceId(hex_key(&args[at + 2]));
        let revocation = std::fs::read(&args[at + 3]).expect("revocation file");
        let out = measure_open(&path, Genesis { key: genesis }, &revocation, open_max);
        println!("{out}");
        return;
    }
    let json_out = args.iter().any(|a| a == "--json");
    let keep = value_of("--keep").map(PathBuf::from);
    let node = value_of("--node").map(PathBuf::from);
    let flag_values: Vec<String> = ["--keep", "--open-max", "--node"]
        .iter()
        .filter_map(|f| value_of(f))
        .collect();
    let sizes: Vec<usize> = args
        .iter()
        .filter(|a| !flag_values.contains(a))
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    for records in sizes {
        let figures = run_size(records, keep.as_deref(), node.as_deref(), open_max);
        if json_out {
            println!("{figures}");
        } else {
            print_figures(&figures);
        }
    }
}

/// Makes `dir` a city node's data directory holding the generated store: its config, the city's
/// key (the genesis key) and the store with the network it belongs to, as `init --genesis` leaves
/// them. For trying the CLI on a node of this size (`items`, `pending`, `export`).
fn make_node(dir: &Path, history: &hallsync_sim::generate::CityHistory, store: &Path) {
    assert!(
        !dir.exists(),
        "{} exists: --node makes a new data directory",
        dir.display()
    );
    std::fs::create_dir_all(dir).expect("the --node directory");
    let data = hallsync_node::DataDir::new(dir);
    hallsync_config::Config::new(hallsync_config::NodeSection {
        hall: history.city_hall.to_string(),
        level: "city".into(),
        name: "市中心 (benchmark)".into(),
        parent: None,
    })
    .save(dir)
    .expect("config");
    hallsync_node::keyfile::write_private(
        &data.key_file(),
        hex::encode(history.city.seed()).as_bytes(),
    )
    .expect("device key");
    std::fs::copy(store, data.store_file()).expect("copy the store");
    let mut store = RedbStore::open(&data.store_file()).expect("store");
    store
        .put_meta(hallsync_node::engine::META_GENESIS, &history.genesis.key.0)
        .expect("genesis");
    store
        .put_meta(
            hallsync_node::engine::META_CERTS,
            &postcard::to_stdvec(&Vec::<hallsync_model::Certificate>::new()).expect("encode"),
        )
        .expect("certs");
}

fn hex_key(text: &str) -> [u8; 32] {
    let bytes = hex::decode(text).expect("hex genesis key");
    bytes.try_into().expect("32-byte genesis key")
}

/// Resident memory of this process, in MiB (Linux).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn run_size(records: usize, keep: Option<&Path>, node: Option<&Path>, open_max: usize) -> Value {
    eprintln!("generating a city history of {records} records …");
    let started = Instant::now();
    let history = hallsync_sim::generate::city_history(records, 9, |done| {
        if done % 20_000 == 0 {
            eprintln!("  {done} records");
        }
    });
    let generate_s = started.elapsed().as_secs_f64();
    let changes = history.changes.len();
    eprintln!("  {changes} changes in {generate_s:.1} s; checking signatures alone …");

    let started = Instant::now();
    let verified = history
        .changes
        .iter()
        .filter(|c| c.verify().is_ok())
        .count();
    let verify_rate = verified as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let batch_verified = history
        .changes
        .chunks(512)
        .flat_map(|chunk| hallsync_model::Checked::all(chunk.to_vec()))
        .count();
    let batch_rate = batch_verified as f64 / started.elapsed().as_secs_f64();
    eprintln!("  one thread: {verify_rate:.0}/s one by one, {batch_rate:.0}/s checked and decoded in batches");

    let temp = tempfile::tempdir().expect("temp dir");
    let dir = match keep {
        Some(root) => {
            let dir = root.join(records.to_string());
            std::fs::create_dir_all(&dir).expect("the --keep directory");
            let _ = std::fs::remove_file(dir.join("store.redb"));
            dir
        }
        None => temp.path().to_path_buf(),
    };
    let path = dir.join("store.redb");
    let mut store = RedbStore::open(&path).expect("store");
    let mut replica = Replica::new(history.genesis.clone());
    replica.set_rest(store.rest(), OPEN_RECORDS_DEFAULT);
    eprintln!("  ingesting as a node does (10 000 changes a step, one transaction each, written behind) …");
    let started = Instant::now();
    let trust_changes = history
        .changes
        .iter()
        .take_while(|c| c.doc == DocId::trust())
        .count();
    let mut trust_s = 0.0;
    let (mut apply_s, mut write_s) = (0.0, 0.0);
    // As a node takes sync steps (`Engine::ingest_from_peer`): each step is committed on the
    // store's writer thread while the next one applies.
    let mut settling = None;
    for (i, batch) in history.changes.chunks(10_000).enumerate() {
        let at = Instant::now();
        ingest_pipelined(&mut replica, batch.to_vec());
        apply_s += at.elapsed().as_secs_f64();
        let at = Instant::now();
        store
            .persist_behind(&mut replica, &mut settling)
            .expect("write");
        write_s += at.elapsed().as_secs_f64();
        if i == 0 {
            trust_s = started.elapsed().as_secs_f64();
        }
    }
    let at = Instant::now();
    store
        .settle_behind(&mut replica, &mut settling)
        .expect("write");
    write_s += at.elapsed().as_secs_f64();
    let ingest_s = started.elapsed().as_secs_f64();
    eprintln!("  first batch (with {trust_changes} trust changes) {trust_s:.2} s; ingest {apply_s:.2} s, waiting for writes {write_s:.2} s");
    let ingest_rate = changes as f64 / ingest_s;
    assert!(
        replica.quarantine().is_empty(),
        "a generated change was refused"
    );

    // The revocation a township would sign for a lost village device (keeping nothing).
    let target = history.villages[0];
    let township = &history.township_of_village[0];
    let body = RevocationBody {
        target: RevocationTarget::Device(target),
        reason: "设备丢失 device lost (benchmark)".into(),
        keep_heads: Vec::new(),
        keep_certs: Vec::new(),
        issuer: township.device_id(),
        issued_at_ms: 1_790_000_000_000,
    };
    let revocation = Revocation::sign(body, township).expect("revocation");
    // Authored on a copy that is never stored: the child ingests it into the stored state.
    let envelope = replica
        .clone()
        .author(
            township,
            7,
            &DocId::trust(),
            1_790_000_000_000,
            &[(
                revocation_key(&revocation),
                ScalarValue::Bytes(revocation.to_bytes()),
            )],
        )
        .expect("the township may revoke its village");
    let signed_by_target = replica
        .records()
        .filter(|d| {
            replica
                .record(d)
                .is_some_and(|s| s.authors().values().any(|a| *a == target))
        })
        .count();
    drop(replica);
    drop(store);
    let store_mb = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1e6;
    if let Some(node) = node {
        make_node(node, &history, &path);
        eprintln!(
            "  a city node holding these records is in {}: try `hallsync items --data {0} --json`",
            node.display()
        );
    }
    let revocation_file = dir.join("revocation.bin");
    std::fs::write(
        &revocation_file,
        postcard::to_stdvec(&envelope).expect("encode"),
    )
    .expect("write");

    let exe = std::env::current_exe().expect("own path");
    let genesis_hex = hex::encode(history.genesis.key.0);
    if keep.is_some() {
        eprintln!(
            "  kept; measure opening it again with: {} --open {} {genesis_hex} {} --open-max {open_max}",
            exe.display(),
            path.display(),
            revocation_file.display()
        );
    }
    let child = std::process::Command::new(&exe)
        .arg("--open")
        .arg(&path)
        .arg(&genesis_hex)
        .arg(&revocation_file)
        .arg("--open-max")
        .arg(open_max.to_string())
        .output()
        .expect("run the measuring child");
    let opened: Value = serde_json::from_slice(&child.stdout).unwrap_or_else(|e| {
        panic!(
            "the measuring child failed ({e}): {}",
            String::from_utf8_lossy(&child.stderr)
        )
    });
    json!({
        "records": records,
        "changes": changes,
        "generate_s": generate_s,
        "store_mb": store_mb,
        "verify_one_thread_per_s": verify_rate,
        "ingest_per_s": ingest_rate,
        "ingest_ratio_to_verify": ingest_rate / verify_rate,
        "records_signed_by_revoked_village": signed_by_target,
        "open": opened,
    })
}

/// In a fresh process: open the store as a node does, touch every record, apply a revocation.
fn measure_open(path: &Path, genesis: Genesis, revocation: &[u8], open_max: usize) -> Value {
    // A copy, so the store given stays as generated (the revocation below is written to the copy).
    let work = tempfile::tempdir().expect("temp dir");
    let copy = work.path().join("store.redb");
    std::fs::copy(path, &copy).expect("copy the store");
    let rss_start = rss_mib();
    let started = Instant::now();
    let mut store = RedbStore::open(&copy).expect("store");
    let at_rest = AtRest {
        rest: store.rest(),
        open_max,
        index: store.load_index().expect("index"),
        bootstrap: Vec::new(),
        equivocations: None,
        quarantine: Vec::new(),
    };
    let (mut replica, _) = Replica::open_at_rest(genesis, at_rest);
    replica.ingest(store.load_quarantine().expect("quarantine"));
    let open_s = started.elapsed().as_secs_f64();
    let rss_open = rss_mib();
    let held = replica.record_count();

    let started = Instant::now();
    let ids: Vec<DocId> = replica.records().cloned().collect();
    let mut touched = 0usize;
    for id in &ids {
        if let Some(state) = replica.record(id) {
            touched += usize::from(!state.doc().get_heads().is_empty());
        }
    }
    let touch_s = started.elapsed().as_secs_f64();
    let rss_touched = rss_mib();
    drop(ids);

    let envelope: SignedChange = postcard::from_bytes(revocation).expect("revocation envelope");
    let started = Instant::now();
    let report = ingest_pipelined(&mut replica, vec![envelope]);
    let rewritten = replica.unsettled().records.len();
    store.persist(&mut replica).expect("write");
    let revoke_s = started.elapsed().as_secs_f64();
    json!({
        "open_max": open_max,
        "records_held": held,
        "open_s": open_s,
        "rss_before_open_mib": rss_start,
        "rss_after_open_mib": rss_open,
        "touch_all_s": touch_s,
        "records_touched": touched,
        "rss_after_touching_all_mib": rss_touched,
        "revocation_s": revoke_s,
        "revocation_rebuilt": report.rebuilt,
        "revocation_records_rewritten": rewritten,
    })
}

fn print_figures(f: &Value) {
    let o = &f["open"];
    println!("== {} records, {} changes ==", f["records"], f["changes"]);
    println!(
        "  store on disk                    {:>10.1} MB",
        f["store_mb"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  open (index, trust, quarantine)  {:>10.3} s",
        o["open_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  resident memory after open       {:>10.1} MiB",
        o["rss_after_open_mib"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  after touching every record      {:>10.1} MiB  ({:.1} s for {} records)",
        o["rss_after_touching_all_mib"].as_f64().unwrap_or(0.0),
        o["touch_all_s"].as_f64().unwrap_or(0.0),
        o["records_touched"]
    );
    println!(
        "  ingest                           {:>10.0} changes/s  = {:.2}× the one-thread signature check ({:.0}/s)",
        f["ingest_per_s"].as_f64().unwrap_or(0.0),
        f["ingest_ratio_to_verify"].as_f64().unwrap_or(0.0),
        f["verify_one_thread_per_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  revocation of one village device {:>10.3} s  ({} records it signed, {} rewritten; status waits at most this)",
        o["revocation_s"].as_f64().unwrap_or(0.0),
        f["records_signed_by_revoked_village"],
        o["revocation_records_rewritten"]
    );
}
