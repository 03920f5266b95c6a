//! What a revocation keeps of the revoked device's work, as this replica sees it.

use crate::identity::DeviceId;
use crate::replica::Replica;
use crate::trust::cert::{CertId, Certificate};
use crate::trust::revocation::{KeptHeads, Revocation};

impl Replica {
    /// Everything this replica has seen of `holder`'s writing: for every record it wrote in, the
    /// current heads (every change by `holder` held now is in their past), and the certificates and
    /// revocations it issued. A revocation that keeps these takes away only what the device signs
    /// from now on, or signed and this replica never saw.
    pub fn keep_all_known(&self, holder: &DeviceId) -> (Vec<KeptHeads>, Vec<CertId>) {
        let heads = self
            .slots
            .iter()
            .filter(|(_, s)| s.is_held() && s.signed_by(holder))
            .map(|(doc, s)| KeptHeads {
                doc: doc.clone(),
                heads: s.heads().iter().map(|h| h.0).collect(),
            })
            .collect();
        let trust = self.trust();
        let certs = trust
            .known()
            .values()
            .filter(|c| &c.body.issuer == holder)
            .map(Certificate::id);
        let revocations = trust
            .revocations()
            .values()
            .filter(|r| &r.body.issuer == holder)
            .map(Revocation::id);
        (heads, certs.chain(revocations).collect())
    }
}
