//! Sealed personal parts and sealing-key announcements, as peers deliver them beside cases and in the
//! trust record (issue #14): decoding, checking, keeping and opening them never panic, a part that
//! opens for the wrong key or place is refused, and parts no held record names are never kept.
#![no_main]
use hallsync_model::replica::parts::CarriedPart;
use hallsync_model::seal::{OpenKey, Sealed};
use hallsync_model::{DeviceKey, Genesis, Replica};
use hallsync_model::trust::seal_keys::{SealAnnouncement, SealKeys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (a, b) = data.split_at(data.len() / 2);
    if let Ok(announcement) = SealAnnouncement::from_bytes(a) {
        let _ = announcement.signature_ok();
        let mut keys = SealKeys::default();
        let device = announcement.device;
        keys.add([announcement]);
        let _ = keys.current(&device);
    }
    if let Ok(sealed) = postcard::from_bytes::<Sealed>(b) {
        let key = OpenKey::from_bytes([7; 32]);
        let _ = sealed.open(b"case/x/y/1#personal", &[key]);
    }
    if let Ok(carried) = postcard::from_bytes::<Vec<CarriedPart>>(data) {
        let mut replica = Replica::new(Genesis { key: DeviceKey::from_seed([1; 32]).device_id() });
        let report = replica.settle_parts(&[], carried);
        assert_eq!(report.kept, 0, "a replica that holds no case keeps no part");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hallsync_model::records::case::Transition::parse(text);
    }
});
