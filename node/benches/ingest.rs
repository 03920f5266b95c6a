//! Ingest throughput: signed changes from a peer, verified, authorized, applied and committed to redb
//! in batches, as the node does. Prints changes per second; issue #5's target is 20,000 on 2 cores.
//!
//! `cargo bench -p hallsync-node --bench ingest` (add `-- 50000` for another count).

use std::time::Instant;

use hallsync_model::records::item::ItemFields;
use hallsync_model::records::trust_doc::cert_key;
use hallsync_model::{
    CertBody, Certificate, DeviceKey, DocId, Genesis, HallId, ItemCode, Replica, ScalarValue,
    SignedChange,
};
use hallsync_node::engine::pipeline::ingest_pipelined;
use hallsync_node::store::RedbStore;

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let city = DeviceKey::from_seed([1; 32]);
    let genesis = Genesis {
        key: city.device_id(),
    };
    let root = Certificate::sign(
        CertBody::city_root(city.device_id(), HallId::new("C").unwrap(), "市".into(), 0),
        &city,
    )
    .unwrap();
    // The sender: the city administrator writes `count` changes over 1000 catalogue items.
    let mut sender = Replica::new(genesis.clone());
    let mut changes: Vec<SignedChange> = Vec::with_capacity(count + 1);
    changes.push(
        sender
            .author(
                &city,
                0,
                &DocId::trust(),
                0,
                &[(cert_key(&root), ScalarValue::Bytes(root.to_bytes()))],
            )
            .unwrap(),
    );
    let started = Instant::now();
    for i in 0..count {
        let code = ItemCode::new(&format!("4420{:05}000", i % 1000)).unwrap();
        let puts = if i < 1000 {
            ItemFields::minimal(
                code.clone(),
                format!("事项{i}"),
                hallsync_model::records::item::ItemType::PublicService,
                "民政局".into(),
                5,
            )
            .writes()
        } else {
            vec![(
                "guide".to_string(),
                ScalarValue::Str(format!("指南 修订 {i}").into()),
            )]
        };
        changes.push(
            sender
                .author(&city, 0, &DocId::item(&code), i as i64, &puts)
                .unwrap(),
        );
    }
    eprintln!(
        "prepared {count} signed changes in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The parts on their own: signature and change checks alone, in one thread.
    let started = Instant::now();
    let verified = changes.iter().filter(|c| c.verify().is_ok()).count();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "verify alone: {verified} changes in {secs:.2} s = {:.0} changes/s (one thread)",
        verified as f64 / secs
    );

    let dir = tempfile::tempdir().unwrap();
    let mut store = RedbStore::open(&dir.path().join("bench.redb")).unwrap();
    let mut receiver = Replica::new(genesis);
    receiver.set_rest(store.rest(), hallsync_model::replica::OPEN_RECORDS_DEFAULT);
    let started = Instant::now();
    // As a node takes sync steps: up to 10,000 changes, their signatures checked in batches on two
    // threads while the caller applies, each step committed in one redb transaction on the store's
    // writer thread while the next applies (`Engine::ingest_from_peer`).
    let mut storing = 0.0;
    let mut settling = None;
    for batch in changes.chunks(10_000) {
        ingest_pipelined(&mut receiver, batch.to_vec());
        let at = Instant::now();
        store.persist_behind(&mut receiver, &mut settling).unwrap();
        storing += at.elapsed().as_secs_f64();
    }
    let at = Instant::now();
    store.settle_behind(&mut receiver, &mut settling).unwrap();
    storing += at.elapsed().as_secs_f64();
    let secs = started.elapsed().as_secs_f64();
    println!("  of which waiting for redb commits: {storing:.2} s");
    assert_eq!(receiver.state_digest(), sender.state_digest());
    println!(
        "ingest: {} changes in {secs:.2} s = {:.0} changes/s (batch signature checks on two threads ‖ authorize → apply ‖ redb commit per 10,000 behind)",
        changes.len(),
        changes.len() as f64 / secs
    );
}
