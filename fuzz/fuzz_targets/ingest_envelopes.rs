//! Envelopes from a peer or a bundle, all the way through verify → authorize → apply: nothing panics,
//! and nothing without a valid signature is ever applied.
#![no_main]
use hallsync_model::{DeviceKey, Genesis, Replica, SignedChange};
use libfuzzer_sys::fuzz_target;


/// automerge panics on some inputs and the core contains those panics (`parse_change`);
/// libfuzzer's own hook would abort on them anyway, so a quiet hook is installed. A panic the core
/// does not contain still unwinds into libfuzzer and is reported as a crash.
fn quiet_contained_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

fuzz_target!(|data: &[u8]| {
    quiet_contained_panics();
    let Ok(envelopes) = postcard::from_bytes::<Vec<SignedChange>>(data) else { return };
    let genesis = Genesis { key: DeviceKey::from_seed([1; 32]).device_id() };
    let mut replica = Replica::new(genesis);
    let report = replica.ingest(envelopes);
    for applied in &report.applied {
        assert!(applied.verify().is_ok(), "an applied envelope verifies");
    }
    let _ = replica.state_digest();
    let _ = replica.stations();
    let _ = replica.cases(Some(0));
});
