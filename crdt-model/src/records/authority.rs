//! The one question every write rule asks: does the author hold a certificate that allows this,
//! for a change timestamped now, and if that certificate was revoked, does the revocation keep it?

use std::collections::BTreeMap;

use automerge::ChangeHash;

use crate::change::rejection::Rejection;
use crate::doc_id::DocId;
use crate::identity::DeviceId;
use crate::trust::cert::Certificate;
use crate::trust::state::{Standing, TrustState};

/// What a write rule knows about the change it judges.
pub struct ChangeCtx<'a> {
    /// The trust state.
    pub trust: &'a TrustState,
    /// The signer.
    pub author: &'a DeviceId,
    /// The record.
    pub doc: &'a DocId,
    /// The change's hash.
    pub hash: ChangeHash,
    /// The change's own timestamp (the signer's claim), checked against certificate validity.
    pub at_ms: i64,
    /// Dependencies of every verified change of this record, applied or not: revocations keep
    /// changes by naming heads, and a kept change may arrive before the heads that keep it apply.
    pub pool_deps: &'a BTreeMap<ChangeHash, Vec<ChangeHash>>,
}

impl ChangeCtx<'_> {
    /// Requires the hall's own people for `kind`: a certificate for `hall` with `kind` in scope,
    /// or an operator's whose subtree covers it. An administrator's subtree is jurisdiction
    /// (certify, revoke), not a right to write the filings of the halls under it.
    ///
    /// # Errors
    /// `deny()`, or the standing of the certificate that would allow it (revoked, expired).
    pub(crate) fn require_hall_people(
        &self,
        hall: &crate::hall::HallId,
        kind: crate::trust::cert::RecordKind,
        deny: impl FnOnce() -> Rejection,
    ) -> Result<(), Rejection> {
        self.require(
            |c| {
                c.body.scope.allows(kind)
                    && (&c.body.hall == hall
                        || (c.body.role == crate::trust::cert::Role::Operator
                            && self.trust.covers(c, hall)))
            },
            deny,
        )
    }

    /// Succeeds when a certificate of the author that `allows` authorizes the change: active, or
    /// revoked only by revocations that all keep this change.
    ///
    /// # Errors
    /// [`Rejection::Revoked`] when only revoked certificates would allow it; [`Rejection::Expired`]
    /// when only certificates outside their validity period would; `deny()` otherwise.
    pub fn require(
        &self,
        allows: impl Fn(&Certificate) -> bool,
        deny: impl FnOnce() -> Rejection,
    ) -> Result<(), Rejection> {
        let mut revoked_by = None;
        let mut expired = false;
        for (cert, standing) in self.trust.standing_certs_of(self.author) {
            if !allows(cert) {
                continue;
            }
            if !cert.body.valid_at(self.at_ms) {
                expired = true;
                continue;
            }
            match standing {
                Standing::Active => return Ok(()),
                Standing::Revoked(revocations) => {
                    if revocations
                        .iter()
                        .all(|r| r.body.keeps(self.doc, &self.hash, self.pool_deps))
                    {
                        return Ok(());
                    }
                    revoked_by = revocations
                        .first()
                        .map(|r| (r.id().to_string(), r.body.reason.clone()));
                }
            }
        }
        if let Some((revocation, reason)) = revoked_by {
            return Err(Rejection::Revoked {
                author: self.author.short(),
                revocation,
                reason,
            });
        }
        if expired {
            return Err(Rejection::Expired {
                author: self.author.short(),
            });
        }
        Err(deny())
    }
}
