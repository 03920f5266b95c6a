//! Membership: whether a peer is one of this network's devices, decided before it is told anything.
//!
//! A connection's peer id is its device key (Noise authenticates it), so a certificate chain to the
//! genesis key is proof of membership. A device this node already knows stands on the trust record
//! alone; a device that joined since (its certificate has not reached this node yet) presents the
//! chain from its invitation. The chain is checked against a copy of this node's trust state, so a
//! certificate or device revoked here is refused even when the chain itself is sound. Nothing a
//! peer presents is kept in the trust record: its certificates arrive with sync like any others.

use crate::error::TrustError;
use crate::identity::DeviceId;
use crate::trust::cert::Certificate;
use crate::trust::state::TrustState;

/// Most certificates a peer may present: a chain from a village to the genesis key has five, and a
/// device may hold a few roles.
pub const PRESENTED_CERTS_MAX: usize = 32;

/// True when `device` holds an active certificate in `trust`: a member now, with nothing to present.
pub fn is_member(trust: &TrustState, device: &DeviceId) -> bool {
    trust.active_certs_of(device).next().is_some()
}

/// Decides whether `device` may sync, given the certificates it presented.
///
/// Cheap refusals come first (count, holder, signatures) so a stranger costs no copy of the trust
/// state.
///
/// # Errors
/// [`TrustError::NotAMember`] with the reason, when neither the trust record nor the presented chain
/// gives `device` an active certificate.
pub fn admit(
    trust: &TrustState,
    device: &DeviceId,
    presented: &[Certificate],
) -> Result<(), TrustError> {
    if is_member(trust, device) {
        return Ok(());
    }
    let refuse = |reason: &str| {
        Err(TrustError::NotAMember {
            device: device.short(),
            reason: reason.into(),
        })
    };
    if presented.is_empty() {
        return refuse("it presented no certificate and this node knows none of it");
    }
    if presented.len() > PRESENTED_CERTS_MAX {
        return refuse("it presented more certificates than a chain has");
    }
    if !presented.iter().any(|c| &c.body.holder == device) {
        return refuse("none of the certificates it presented is its own");
    }
    if !presented.iter().all(Certificate::signature_ok) {
        return refuse("a certificate it presented has a bad signature");
    }
    let mut with = trust.clone();
    with.add(presented.iter().cloned());
    if is_member(&with, device) {
        Ok(())
    } else {
        refuse("its certificates do not chain to this network's genesis key, or were revoked")
    }
}

/// The certificates `device` presents to prove membership: the chain of each of its active
/// certificates, root last, at most [`PRESENTED_CERTS_MAX`].
pub fn presentation(trust: &TrustState, device: &DeviceId) -> Vec<Certificate> {
    let mut out: Vec<Certificate> = Vec::new();
    for cert in trust.active_certs_of(device) {
        for link in trust.chain(&cert.id()) {
            if !out.contains(&link) && out.len() < PRESENTED_CERTS_MAX {
                out.push(link);
            }
        }
    }
    out
}
