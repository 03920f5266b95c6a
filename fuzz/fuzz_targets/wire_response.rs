//! Sync responses from a peer: decoding never panics, and what decodes round-trips.
#![no_main]
use hallsync_model::sync::wire::{Response, WireLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = WireLimits::default();
    if let Ok(response) = Response::from_bytes(data, &limits) {
        let again = Response::from_bytes(&response.to_bytes(), &limits).expect("re-encoded response decodes");
        assert_eq!(again, response);
    }
});
