//! The signed-change envelope.
//!
//! ```text
//! SignedChange (postcard, inside wire messages and store rows)
//!   doc        string       record id, e.g. "station/440305/11440300MB2C"
//!   change     bytes        one automerge change, as `Change::raw_bytes`
//!   author     [u8; 32]     ed25519 public key of the signer
//!   signature  [u8; 64]     over signing_bytes("hallsync/change/v1", [doc, change hash])
//! ```
//! The change hash covers every byte of the change, so signing the hash signs the change. The document
//! id is signed too, so a change cannot be replayed into another record.

use automerge::{Change, ChangeHash};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::change::rejection::Rejection;
use crate::change::signatures::{verify_all, verify_one, SignatureCheck};
use crate::doc_id::DocId;
use crate::identity::{signing_bytes, DeviceId, DeviceKey};

const CHANGE_DOMAIN: &str = "hallsync/change/v1";

/// Largest change accepted, in bytes: records are small; this stops a peer from filling memory.
pub const CHANGE_BYTES_MAX: usize = 256 * 1024;

/// A change as it travels and is stored: the automerge bytes and the author's signature.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedChange {
    /// The record this change belongs to.
    pub doc: DocId,
    /// The automerge change.
    #[serde(with = "serde_bytes")]
    pub change: Vec<u8>,
    /// Who signed it.
    pub author: DeviceId,
    /// The signature.
    #[serde(with = "serde_bytes")]
    pub signature: [u8; 64],
}

impl std::fmt::Debug for SignedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SignedChange({} by {}, {} bytes)",
            self.doc,
            self.author.short(),
            self.change.len()
        )
    }
}

/// An envelope and the outcome of [`SignedChange::verify`], computed ahead of
/// [`crate::Replica::ingest_checked`]: verification needs nothing of the replica, so a node can run
/// it for a batch on every core while the replica applies the batch before. The fields are private:
/// the only way to make one is to verify.
pub struct Checked {
    pub(crate) envelope: SignedChange,
    pub(crate) verified: Result<VerifiedChange, Rejection>,
    /// The change's root writes, decoded ahead too (authorization reads them).
    pub(crate) writes: Option<Result<Vec<crate::change::ops::RootWrite>, Rejection>>,
    /// The envelope's digest, computed ahead too.
    pub(crate) digest: [u8; 32],
}

impl Checked {
    /// Verifies `envelope` and decodes its writes.
    pub fn new(envelope: SignedChange) -> Checked {
        let verified = envelope.verify();
        Checked::from_outcome(envelope, verified)
    }

    /// [`Checked::new`] of many envelopes, their signatures checked in batches: the same outcome.
    pub fn all(envelopes: Vec<SignedChange>) -> Vec<Checked> {
        let verified = SignedChange::verify_all(&envelopes);
        envelopes
            .into_iter()
            .zip(verified)
            .map(|(envelope, verified)| Checked::from_outcome(envelope, verified))
            .collect()
    }

    /// The checked form of `envelope` given the outcome of checking it: writes decoded, digest.
    fn from_outcome(
        envelope: SignedChange,
        verified: Result<VerifiedChange, Rejection>,
    ) -> Checked {
        let writes = verified
            .as_ref()
            .ok()
            .map(|v| crate::change::ops::root_writes(&v.change));
        Checked {
            digest: envelope.digest(),
            envelope,
            verified,
            writes,
        }
    }

    /// An envelope this replica verified and applied before, read back from its own records: the
    /// change is parsed and its writes decoded again, the signature is not checked a second time
    /// (a rebuild re-judges authority, not signatures). Only the replica makes these.
    pub(crate) fn applied_before(envelope: SignedChange) -> Checked {
        let verified = parse_change(&envelope.change).map(|change| VerifiedChange {
            envelope: envelope.clone(),
            change,
        });
        Checked::from_outcome(envelope, verified)
    }

    /// The envelope.
    pub fn envelope(&self) -> &SignedChange {
        &self.envelope
    }
}

/// A change whose signature and actor binding have been checked.
#[derive(Clone, Debug)]
pub struct VerifiedChange {
    /// The envelope as received.
    pub envelope: SignedChange,
    /// The parsed automerge change.
    pub change: Change,
}

impl VerifiedChange {
    /// The automerge hash: the change's identity in its document.
    pub fn hash(&self) -> ChangeHash {
        self.change.hash()
    }
}

/// Parses change bytes from a peer. automerge 0.12's column decoder panics on some crafted inputs
/// (found by the `change_ops` fuzz target; kept as a regression test), so the panic is contained and
/// becomes a refusal: a peer's bytes must never bring a node down. Relies on `panic = "unwind"`,
/// which the workspace keeps.
pub fn parse_change(bytes: &[u8]) -> Result<Change, Rejection> {
    let bytes = bytes.to_vec();
    match std::panic::catch_unwind(move || Change::from_bytes(bytes)) {
        Ok(Ok(change)) => Ok(change),
        Ok(Err(e)) => Err(Rejection::Malformed {
            reason: format!("not an automerge change: {e}"),
        }),
        Err(_) => Err(Rejection::Malformed {
            reason: "not an automerge change: its columns do not decode".into(),
        }),
    }
}

impl SignedChange {
    /// Wraps and signs a change the local device just made.
    pub fn sign(doc: DocId, change: &Change, key: &DeviceKey) -> Self {
        let hash = change.hash();
        let signature = key.sign(&signing_bytes(
            CHANGE_DOMAIN,
            &[doc.as_str().as_bytes(), &hash.0],
        ));
        SignedChange {
            doc,
            change: change.raw_bytes().to_vec(),
            author: key.device_id(),
            signature,
        }
    }

    /// Bytes of the envelope as encoded on the wire: what moving it costs.
    pub fn wire_len(&self) -> usize {
        postcard::to_stdvec(self).map_or(0, |b| b.len())
    }

    /// The digest of the whole envelope: the key of quarantine rows, distinct even for two envelopes
    /// that carry the same change with different signatures.
    pub fn digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.doc.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(&self.change);
        hasher.update(self.author.0);
        hasher.update(self.signature);
        hasher.finalize().into()
    }

    /// Parses the change, checks the signature and that the change's actor is the signer's.
    ///
    /// # Errors
    /// [`Rejection::Malformed`], [`Rejection::BadSignature`] or [`Rejection::ActorMismatch`].
    pub fn verify(&self) -> Result<VerifiedChange, Rejection> {
        let (change, message) = self.parsed()?;
        let signed = verify_one(&SignatureCheck {
            key: &self.author.0,
            message: &message,
            signature: &self.signature,
        });
        self.checked(change, signed)
    }

    /// [`SignedChange::verify`] of many envelopes, their signatures checked in batches (see
    /// [`crate::change::signatures`]): the same verdicts, in order, for about half the work.
    pub fn verify_all(envelopes: &[SignedChange]) -> Vec<Result<VerifiedChange, Rejection>> {
        let parsed: Vec<Result<(Change, Vec<u8>), Rejection>> =
            envelopes.iter().map(SignedChange::parsed).collect();
        let checks: Vec<SignatureCheck<'_>> = envelopes
            .iter()
            .zip(&parsed)
            .filter_map(|(e, p)| {
                let (_, message) = p.as_ref().ok()?;
                Some(SignatureCheck {
                    key: &e.author.0,
                    message,
                    signature: &e.signature,
                })
            })
            .collect();
        let mut signed = verify_all(&checks).into_iter();
        envelopes
            .iter()
            .zip(parsed)
            .map(|(envelope, parsed)| {
                let (change, _) = parsed?;
                envelope.checked(change, signed.next().unwrap_or(false))
            })
            .collect()
    }

    /// The change parsed, and the bytes its signature signs.
    fn parsed(&self) -> Result<(Change, Vec<u8>), Rejection> {
        if self.change.len() > CHANGE_BYTES_MAX {
            return Err(Rejection::Malformed {
                reason: format!(
                    "change is {} bytes; at most {CHANGE_BYTES_MAX} are accepted",
                    self.change.len()
                ),
            });
        }
        let change = parse_change(&self.change)?;
        let hash = change.hash();
        let message = signing_bytes(CHANGE_DOMAIN, &[self.doc.as_str().as_bytes(), &hash.0]);
        Ok((change, message))
    }

    /// The verdict on a parsed change whose signature was checked (`signed`).
    fn checked(&self, change: Change, signed: bool) -> Result<VerifiedChange, Rejection> {
        if !signed {
            return Err(Rejection::BadSignature);
        }
        if !self.author.owns_actor(change.actor_id()) {
            return Err(Rejection::ActorMismatch);
        }
        // Who wrote a change is the envelope's signer. automerge's own author footer is not used,
        // and automerge refuses a second footer for an actor, which would make a record's
        // outcome depend on which of two such changes arrived first.
        if change.author().is_some() {
            return Err(Rejection::Malformed {
                reason: "the change carries an automerge author footer; hallsync changes name their signer in the envelope".into(),
            });
        }
        Ok(VerifiedChange {
            envelope: self.clone(),
            change,
        })
    }
}
