//! The trust document: the network's certificates, replicated like any record.
//!
//! Each certificate sits under `cert/<id>` as its bytes. Only the certificate's issuer may write it,
//! and only a certificate that the current trust state lets the issuer issue.

use automerge::ScalarValue;

use crate::change::ops::RootWrite;
use crate::change::rejection::Rejection;
use crate::identity::DeviceId;
use crate::trust::cert::Certificate;
use crate::trust::state::TrustState;

/// Prefix of certificate keys.
pub const CERT_PREFIX: &str = "cert/";

/// The key a certificate is stored under.
pub fn cert_key(cert: &Certificate) -> String {
    format!("{CERT_PREFIX}{}", cert.id())
}

/// The write rule for the trust document; returns the certificates the change adds.
pub(crate) fn authorize(
    trust: &TrustState,
    author: &DeviceId,
    writes: &[RootWrite],
) -> Result<Vec<Certificate>, Rejection> {
    let mut certs = Vec::with_capacity(writes.len());
    for write in writes {
        let Some(ScalarValue::Bytes(bytes)) = &write.value else {
            return Err(Rejection::OutOfScope {
                reason: format!("trust key `{}` must hold certificate bytes", write.key),
            });
        };
        let cert = Certificate::from_bytes(bytes).map_err(|e| Rejection::Malformed {
            reason: e.to_string(),
        })?;
        if write.key != cert_key(&cert) {
            return Err(Rejection::OutOfScope {
                reason: format!("trust key `{}` does not match its certificate", write.key),
            });
        }
        if &cert.body.issuer != author {
            return Err(Rejection::OutOfScope {
                reason: "only a certificate's issuer may publish it".into(),
            });
        }
        trust
            .check_issue(&cert)
            .map_err(|e| Rejection::OutOfScope {
                reason: e.to_string(),
            })?;
        certs.push(cert);
    }
    Ok(certs)
}
