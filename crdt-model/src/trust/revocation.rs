//! Revocations: an administrator withdraws a certificate, or every certificate of a device.
//!
//! Strong removal: once a revocation is effective, changes by the revoked key are invalid everywhere,
//! whatever order things arrive in, except those the revocation explicitly keeps. What it keeps is
//! named, not dated (a clock can lie): per record, the heads of the revoked key's changes that the
//! revoking administrator had seen, and the certificates the revoked key had issued. Everything in the
//! causal past of kept heads stays valid; anything else by that key is removed, and records that had
//! applied it are rebuilt.

use std::fmt;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::doc_id::DocId;
use crate::error::TrustError;
use crate::identity::{signing_bytes, DeviceId, DeviceKey};
use crate::trust::cert::CertId;

const REVOCATION_DOMAIN: &str = "hallsync/revocation/v1";

/// Longest reason, in characters.
pub const REASON_CHARS_MAX: usize = 2000;

/// Most records a revocation may keep heads for.
pub const KEEP_DOCS_MAX: usize = 100_000;

/// What is revoked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationTarget {
    /// One certificate.
    Cert(CertId),
    /// Every certificate of a device that the revoker has authority over.
    Device(DeviceId),
}

/// The heads of the revoked key's changes to keep in one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptHeads {
    /// The record.
    pub doc: DocId,
    /// Heads; every change by the revoked key in their causal past is kept.
    pub heads: Vec<[u8; 32]>,
}

/// The signed part of a revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationBody {
    /// What is revoked.
    pub target: RevocationTarget,
    /// Why, for the audit trail.
    pub reason: String,
    /// Changes by the revoked key that stay valid.
    pub keep_heads: Vec<KeptHeads>,
    /// Certificates and revocations issued by the revoked key that stay in force.
    pub keep_certs: Vec<CertId>,
    /// Who revokes: an administrator of a hall strictly above the target's, the genesis key, or the
    /// holder itself (retiring its own key).
    pub issuer: DeviceId,
    /// When the issuer says it signed, ms since the Unix epoch (shown, never used for order).
    pub issued_at_ms: i64,
}

/// A revocation: a body and the issuer's signature.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// What is revoked and what is kept.
    pub body: RevocationBody,
    /// The issuer's signature over the body.
    #[serde(with = "serde_bytes")]
    pub signature: [u8; 64],
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Revocation({} of {:?} by {})",
            self.id(),
            self.body.target,
            self.body.issuer.short()
        )
    }
}

impl RevocationBody {
    fn canonical(&self) -> Result<Vec<u8>, TrustError> {
        let encoded = postcard::to_stdvec(self).map_err(|e| TrustError::Encoding {
            what: "revocation body",
            reason: e.to_string(),
        })?;
        Ok(signing_bytes(REVOCATION_DOMAIN, &[&encoded]))
    }

    /// True when `hash` (a change in `doc`) is in the causal past of the kept heads, given the
    /// document's dependency map.
    pub fn keeps(
        &self,
        doc: &DocId,
        hash: &ChangeHash,
        deps: &std::collections::BTreeMap<ChangeHash, Vec<ChangeHash>>,
    ) -> bool {
        self.keep_heads.iter().filter(|k| &k.doc == doc).any(|k| {
            let heads: Vec<ChangeHash> = k.heads.iter().map(|h| ChangeHash(*h)).collect();
            crate::change::causal::closure(&heads, deps).contains(hash)
        })
    }
}

impl Revocation {
    /// Signs `body` with `issuer`.
    ///
    /// # Errors
    /// [`TrustError::IssuerMismatch`] when the body names another issuer; [`TrustError::HallNameTooLong`]
    /// is reused for an over-long reason.
    pub fn sign(body: RevocationBody, issuer: &DeviceKey) -> Result<Self, TrustError> {
        if body.issuer != issuer.device_id() {
            return Err(TrustError::IssuerMismatch);
        }
        if body.reason.chars().count() > REASON_CHARS_MAX || body.keep_heads.len() > KEEP_DOCS_MAX {
            return Err(TrustError::Encoding {
                what: "revocation",
                reason: format!("reason over {REASON_CHARS_MAX} characters or over {KEEP_DOCS_MAX} kept records"),
            });
        }
        let signature = issuer.sign(&body.canonical()?);
        Ok(Revocation { body, signature })
    }

    /// True when the signature is the issuer's.
    pub fn signature_ok(&self) -> bool {
        self.body
            .canonical()
            .is_ok_and(|bytes| self.body.issuer.verify(&bytes, &self.signature))
    }

    /// The content address.
    pub fn id(&self) -> CertId {
        CertId(format!(
            "r{}",
            hex::encode(&Sha256::digest(self.to_bytes())[..15])
        ))
    }

    /// The storage encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of plain data always encodes.
        crate::encoding::postcard_bytes(self)
    }

    /// Decodes bytes from a peer or the disk.
    ///
    /// # Errors
    /// [`TrustError::Encoding`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TrustError> {
        postcard::from_bytes(bytes).map_err(|e| TrustError::Encoding {
            what: "revocation",
            reason: e.to_string(),
        })
    }
}
