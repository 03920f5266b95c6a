//! Certificates and revocations from the trust record: decoding and the trust fixpoint never panic.
#![no_main]
use hallsync_model::trust::revocation::Revocation;
use hallsync_model::{Certificate, DeviceKey, Genesis, TrustState};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let genesis = Genesis { key: DeviceKey::from_seed([1; 32]).device_id() };
    let mut trust = TrustState::new(genesis);
    let (a, b) = data.split_at(data.len() / 2);
    let certs: Vec<Certificate> = Certificate::from_bytes(a).into_iter().collect();
    let revocations: Vec<Revocation> = Revocation::from_bytes(b).into_iter().collect();
    for c in &certs {
        let _ = trust.check_issue(c);
    }
    trust.add_all(certs, revocations);
    let _ = trust.valid().len();
});
