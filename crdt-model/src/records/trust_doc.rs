//! The trust document: the network's certificates and revocations, replicated like any record.
//!
//! Entries are `cert/<id>` and `revoke/<id>`, each holding the signed object's bytes. A write is
//! accepted when its author is a member of the network (or the genesis key) and is the issuer of
//! every entry it writes; whether a certificate stands or a revocation takes effect is decided by the
//! trust state's fixpoint over all entries, so the document itself only grows.

use automerge::ScalarValue;

use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::identity::DeviceId;
use crate::trust::cert::Certificate;
use crate::trust::revocation::Revocation;
use crate::trust::seal_keys::{SealAnnouncement, SEAL_PREFIX};
use crate::trust::state::TrustState;

/// Prefix of certificate keys.
pub const CERT_PREFIX: &str = "cert/";

/// Prefix of revocation keys.
pub const REVOKE_PREFIX: &str = "revoke/";

/// The key a certificate is stored under.
pub fn cert_key(cert: &Certificate) -> String {
    format!("{CERT_PREFIX}{}", cert.id())
}

/// The key a revocation is stored under.
pub fn revocation_key(revocation: &Revocation) -> String {
    format!("{REVOKE_PREFIX}{}", revocation.id())
}

/// What an accepted trust change adds.
#[derive(Debug, Default)]
pub struct TrustEntries {
    /// Certificates written.
    pub certs: Vec<Certificate>,
    /// Revocations written.
    pub revocations: Vec<Revocation>,
    /// Sealing keys announced.
    pub seal_keys: Vec<SealAnnouncement>,
}

/// The certificates and revocations a trust change writes, without judging its author: for
/// reading back a trust record that was judged when it applied.
pub(crate) fn entries(writes: &[RootWrite]) -> TrustEntries {
    let mut entries = TrustEntries::default();
    for write in writes {
        let Some(ScalarValue::Bytes(bytes)) = &write.value else {
            continue;
        };
        if write.key.starts_with(CERT_PREFIX) {
            if let Ok(cert) = Certificate::from_bytes(bytes) {
                entries.certs.push(cert);
            }
        } else if write.key.starts_with(REVOKE_PREFIX) {
            if let Ok(revocation) = Revocation::from_bytes(bytes) {
                entries.revocations.push(revocation);
            }
        } else if write.key.starts_with(SEAL_PREFIX) {
            if let Ok(announcement) = SealAnnouncement::from_bytes(bytes) {
                entries.seal_keys.push(announcement);
            }
        }
    }
    entries
}

/// The write rule for the trust document.
pub(crate) fn authorize(
    trust: &TrustState,
    author: &DeviceId,
    writes: &[RootWrite],
) -> Result<TrustEntries, Rejection> {
    let root_by_genesis =
        writes.iter().all(|w| w.key.starts_with(CERT_PREFIX)) && author == &trust.genesis().key;
    if !trust.is_known(author) && !root_by_genesis {
        return Err(Rejection::UnknownAuthor {
            author: author.short(),
        });
    }
    let mut entries = TrustEntries::default();
    for write in writes {
        let Some(ScalarValue::Bytes(bytes)) = &write.value else {
            return Err(Rejection::shape(format!(
                "trust key `{}` must hold a signed certificate or revocation",
                write.key
            )));
        };
        let malformed = |e: crate::error::TrustError| Rejection::Malformed {
            reason: e.to_string(),
        };
        let (key, issuer) = if write.key.starts_with(CERT_PREFIX) {
            let cert = Certificate::from_bytes(bytes).map_err(malformed)?;
            let issuer = cert.body.issuer;
            let key = cert_key(&cert);
            entries.certs.push(cert);
            (key, issuer)
        } else if write.key.starts_with(REVOKE_PREFIX) {
            let revocation = Revocation::from_bytes(bytes).map_err(malformed)?;
            let issuer = revocation.body.issuer;
            let key = revocation_key(&revocation);
            entries.revocations.push(revocation);
            (key, issuer)
        } else if write.key.starts_with(SEAL_PREFIX) {
            // A sealing key is signed by its own device; any member may publish it.
            let announcement = SealAnnouncement::from_bytes(bytes).map_err(malformed)?;
            if !announcement.signature_ok() {
                return Err(Rejection::Malformed {
                    reason: format!(
                        "the sealing key announced for {} is not signed by that device",
                        announcement.device.short()
                    ),
                });
            }
            let key = announcement.record_key();
            entries.seal_keys.push(announcement);
            (key, *author)
        } else {
            return Err(Rejection::shape(format!(
                "`{}` is not a trust key (cert/…, revoke/… or seal/…)",
                write.key
            )));
        };
        if write.key != key {
            return Err(Rejection::shape(format!(
                "trust key `{}` does not match its content",
                write.key
            )));
        }
        if &issuer != author {
            return Err(Rejection::shape(
                "only the issuer of a certificate or revocation may publish it".into(),
            ));
        }
    }
    Ok(entries)
}
