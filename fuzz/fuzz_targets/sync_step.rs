//! A decoded step from a peer, answered by a replica that holds records: ranges, listings, `have`
//! and `want` entries of any shape never panic the protocol, and the answer always encodes within
//! the limits.
#![no_main]
use hallsync_model::sync::wire::{Message, WireLimits};
use hallsync_model::records::item::ItemFields;
use hallsync_model::records::trust_doc::cert_key;
use hallsync_model::{
    CertBody, Certificate, DeviceKey, DocId, Genesis, HallId, ItemCode, PeerState, Replica, ScalarValue,
};
use libfuzzer_sys::fuzz_target;

/// A city whose genesis key certified itself as the city administrator and wrote three items.
fn replica() -> Replica {
    let city = DeviceKey::from_seed([1; 32]);
    let mut replica = Replica::new(Genesis { key: city.device_id() });
    let body = CertBody::city_root(city.device_id(), HallId::new("C").expect("a hall id"), "市".into(), 0);
    let root = Certificate::sign(body, &city).expect("the issuer signs");
    let puts = [(cert_key(&root), ScalarValue::Bytes(root.to_bytes()))];
    assert!(replica.author(&city, 0, &DocId::trust(), 0, &puts).is_ok(), "the genesis key certifies itself");
    for i in 0..3 {
        let code = ItemCode::new(&format!("44200000{i}000")).expect("a valid item code");
        let item = ItemFields::minimal(code, format!("事项{i}"), hallsync_model::records::item::ItemType::PublicService, "民政局".into(), 5);
        let written = replica.author(&city, 0, &DocId::item(&item.code), 1_000 + i, &item.writes());
        assert!(written.is_ok(), "the fixture's items are valid");
    }
    replica
}

fn fixture() -> &'static Replica {
    static REPLICA: std::sync::OnceLock<Replica> = std::sync::OnceLock::new();
    REPLICA.get_or_init(replica)
}

fuzz_target!(|data: &[u8]| {
    let limits = WireLimits::default();
    let Ok(Message::Step(mut step)) = Message::from_bytes(data, &limits) else { return };
    let replica = fixture();
    // Let the step through the network check, so the fuzzer reaches the protocol.
    step.network = replica
        .sync_open(&DeviceKey::from_seed([1; 32]).device_id(), &mut PeerState::default(), &limits)
        .network;
    let answer = replica.sync_answer(&step, &DeviceKey::from_seed([1; 32]).device_id(), &mut PeerState::default(), &limits);
    let bytes = answer.to_bytes();
    assert!(bytes.len() <= limits.message_bytes_max, "an answer stays within the limits");
    assert!(Message::from_bytes(&bytes, &limits).is_ok(), "an answer decodes");
});
