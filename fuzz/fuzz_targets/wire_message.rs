//! Sync and admission messages from a peer, and stored peer sync state: decoding never panics, and what decodes
//! re-encodes to a message that decodes the same.
#![no_main]
use hallsync_model::sync::admission::Admission;
use hallsync_model::sync::wire::{Message, WireLimits};
use hallsync_model::PeerState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = WireLimits::default();
    if let Ok(message) = Message::from_bytes(data, &limits) {
        let again = Message::from_bytes(&message.to_bytes(), &limits).expect("re-encoded message decodes");
        assert_eq!(again, message);
    }
    if let Ok(admission) = Admission::from_bytes(data) {
        assert_eq!(Admission::from_bytes(&admission.to_bytes()).ok(), Some(admission));
    }
    if let Ok(state) = PeerState::from_bytes(data) {
        assert_eq!(PeerState::from_bytes(&state.to_bytes()).ok(), Some(state));
    }
});
