//! Revoking certificates and rotating this device's key.

use super::response::*;
use hallsync_model::records::trust_doc::{cert_key, revocation_key};
use hallsync_model::trust::revocation::{KeptHeads, Revocation, RevocationBody, RevocationTarget};
use hallsync_model::{CertId, Certificate, DeviceId, DeviceKey, DocId, ScalarValue, TrustState};
use serde_json::Value;

use super::{now_ms, Engine};
use crate::error::NodeError;
use crate::keyfile;

impl Engine {
    /// What this node has seen of `holder`'s writing (see [`hallsync_model::Replica::keep_all_known`]).
    fn keep_all_known(
        &self,
        holder: &DeviceId,
    ) -> Result<(Vec<KeptHeads>, Vec<CertId>), NodeError> {
        Ok(self.replica()?.keep_all_known(holder))
    }

    /// Revokes a device's certificates (or one certificate). Everything the device wrote that this
    /// node holds now is kept; anything else it signed, now or later, is invalid everywhere.
    ///
    /// # Errors
    /// [`NodeError::NotAllowed`] when this device has no authority over the target (only an
    /// administrator of a strictly higher hall, or the genesis key, may revoke).
    pub fn revoke(
        &mut self,
        device: Option<&str>,
        cert: Option<&str>,
        reason: &str,
    ) -> Result<Value, NodeError> {
        if reason.trim().is_empty() {
            return Err(NodeError::NotAllowed("a revocation needs --reason".into()));
        }
        let trust = self.replica()?.trust().clone();
        let (target, holder) = match (device, cert) {
            (Some(d), None) => {
                let id: DeviceId = d.parse()?;
                (RevocationTarget::Device(id), id)
            }
            (None, Some(c)) => {
                let id = CertId(c.to_string());
                let found = trust
                    .known()
                    .get(&id)
                    .ok_or_else(|| NodeError::NotFound(format!("certificate {c}")))?;
                (RevocationTarget::Cert(id), found.body.holder)
            }
            _ => {
                return Err(NodeError::NotAllowed(
                    "give exactly one of --device or --cert".into(),
                ))
            }
        };
        let (keep_heads, keep_certs) = self.keep_all_known(&holder)?;
        let body = RevocationBody {
            target,
            reason: reason.to_string(),
            keep_heads,
            keep_certs,
            issuer: self.key.device_id(),
            issued_at_ms: now_ms(),
        };
        let revocation = Revocation::sign(body, &self.key)?;
        let before = trust.valid().len();
        let mut trial: TrustState = trust.clone();
        trial.add_all([], [revocation.clone()]);
        let revoked = before.saturating_sub(trial.valid().len());
        if revoked == 0 {
            return Err(NodeError::NotAllowed(
                "this revocation would revoke nothing: the target holds no active certificate this administrator has authority over (only an administrator of a strictly higher hall, or the genesis key, may revoke)".into(),
            ));
        }
        let envelope = self.author(
            &DocId::trust(),
            &[(
                revocation_key(&revocation),
                ScalarValue::Bytes(revocation.to_bytes()),
            )],
        )?;
        Ok(encode(&Revoked {
            revocation: revocation.id().to_string(),
            certificates_revoked: revoked,
            kept_records: revocation.body.keep_heads.len(),
            kept_certificates: revocation.body.keep_certs.len(),
            doc: envelope.doc.to_string(),
            durable: true,
        }))
    }

    /// Replaces this device's key: certifies a new key with the same scope (signed by the old key),
    /// retires the old key keeping everything it signed so far, and switches to the new key.
    /// The old key file is kept as `device.key.retired`.
    ///
    /// # Errors
    /// [`NodeError::NotAllowed`] when this device holds no active certificate.
    pub fn rotate_key(&mut self) -> Result<Value, NodeError> {
        let old = self.key.device_id();
        let active: Vec<Certificate> = self
            .replica()?
            .trust()
            .active_certs_of(&old)
            .cloned()
            .collect();
        if active.is_empty() {
            return Err(NodeError::NotAllowed(
                "this device holds no active certificate to rotate".into(),
            ));
        }
        let new_path = self.dir.root().join("device.key.new");
        let _ = std::fs::remove_file(&new_path);
        let new_key: DeviceKey = keyfile::create(&new_path)?;
        let now = now_ms();
        let mut successors = Vec::new();
        for cert in &active {
            let mut body = cert.body.clone();
            body.holder = new_key.device_id();
            body.issuer = old;
            body.issued_at_ms = now;
            body.successor_of = Some(cert.id());
            successors.push(Certificate::sign(body, &self.key)?);
        }
        let (keep_heads, mut keep_certs) = self.keep_all_known(&old)?;
        keep_certs.extend(successors.iter().map(Certificate::id));
        let retirement = Revocation::sign(
            RevocationBody {
                target: RevocationTarget::Device(old),
                reason: "key rotation 密钥轮换".into(),
                keep_heads,
                keep_certs,
                issuer: old,
                issued_at_ms: now,
            },
            &self.key,
        )?;
        let mut puts: Vec<(String, ScalarValue)> = successors
            .iter()
            .map(|c| (cert_key(c), ScalarValue::Bytes(c.to_bytes())))
            .collect();
        puts.push((
            revocation_key(&retirement),
            ScalarValue::Bytes(retirement.to_bytes()),
        ));
        self.author(&DocId::trust(), &puts)?;
        let key_file = self.dir.key_file();
        let retired = self.dir.root().join("device.key.retired");
        std::fs::rename(&key_file, &retired).map_err(|source| NodeError::Io {
            action: "retire",
            path: key_file.clone(),
            source,
        })?;
        std::fs::rename(&new_path, &key_file).map_err(|source| NodeError::Io {
            action: "install",
            path: new_path.clone(),
            source,
        })?;
        self.key = new_key;
        // What was sealed to the old device stays readable; the new device announces a new key.
        self.retire_seal_key()?;
        Ok(encode(&Rotated {
            old_device_id: old.to_string(),
            device_id: self.key.device_id().to_string(),
            certificates: successors.iter().map(|c| c.id().to_string()).collect(),
            retired_key_file: retired.display().to_string(),
        }))
    }
}
