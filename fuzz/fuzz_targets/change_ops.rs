//! Raw automerge change bytes: parsing and reading their root writes never panic (automerge's own
//! decoder asserts on some inputs; the core turns that into a refusal).
#![no_main]
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
    if let Ok(change) = hallsync_model::change::envelope::parse_change(data) {
        let _ = hallsync_model::change::ops::root_writes(&change);
    }
});
