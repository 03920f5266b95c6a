//! Sync requests from a peer: decoding never panics, and what decodes re-encodes to a message that
//! decodes the same.
#![no_main]
use hallsync_model::sync::wire::{Request, WireLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = WireLimits::default();
    if let Ok(request) = Request::from_bytes(data, &limits) {
        let again = Request::from_bytes(&request.to_bytes(), &limits).expect("re-encoded request decodes");
        assert_eq!(again, request);
    }
});
