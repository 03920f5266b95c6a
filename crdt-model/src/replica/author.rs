//! Local authoring: a change by this device goes through the very checks a peer's would.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ScalarValue, ROOT};

use crate::change::envelope::{Checked, SignedChange};
use crate::change::rejection::Rejection;
use crate::doc_id::DocId;
use crate::identity::DeviceKey;
use crate::replica::Replica;

/// A change the local device made and signed on a fork of its record, not yet applied: made by
/// [`Replica::prepare`] (read-only, so the changes of many records can be made on several threads)
/// and applied by [`Replica::apply_prepared`].
pub struct Prepared {
    envelope: SignedChange,
    fork: Automerge,
}

impl Prepared {
    /// The signed change.
    pub fn envelope(&self) -> &SignedChange {
        &self.envelope
    }
}

impl Replica {
    /// Makes, signs and ingests a change by the local device: `puts` written at the root of `doc`.
    ///
    /// If the checks refuse it, nothing is kept and the reason is returned.
    ///
    /// # Errors
    /// The [`Rejection`] the checks give, e.g. when the device may not write this record.
    pub fn author(
        &mut self,
        key: &DeviceKey,
        epoch: u32,
        doc: &DocId,
        now_ms: i64,
        puts: &[(String, ScalarValue)],
    ) -> Result<SignedChange, Rejection> {
        let prepared = self.prepare(key, epoch, doc, now_ms, puts)?;
        self.apply_prepared(prepared)
    }

    /// Makes and signs a change by the local device on a fork of `doc`, changing nothing here.
    ///
    /// # Errors
    /// [`Rejection::WrongDocument`] for an id that does not parse back, [`Rejection::Unchanged`]
    /// when the puts change nothing, [`Rejection::Malformed`] for a put automerge refuses.
    pub fn prepare(
        &self,
        key: &DeviceKey,
        epoch: u32,
        doc: &DocId,
        now_ms: i64,
        puts: &[(String, ScalarValue)],
    ) -> Result<Prepared, Rejection> {
        // Every record id must parse back, or peers and the store could not read the change again:
        // ids built from parts (case numbers, person ids) are checked here, once, for all of them.
        if doc.as_str().parse::<DocId>().as_ref() != Ok(doc) {
            return Err(Rejection::WrongDocument {
                reason: format!(
                    "`{doc}` is not a valid record id; use short ids of letters, digits and '-'"
                ),
            });
        }
        let actor: ActorId = key.device_id().actor(epoch);
        let mut fork = match self.record(doc) {
            Some(state) => state.doc().fork(),
            None => Automerge::new(),
        };
        fork.set_actor(actor);
        let mut tx = fork.transaction();
        for (k, v) in puts {
            tx.put(ROOT, k.as_str(), v.clone())
                .map_err(|e| Rejection::Malformed {
                    reason: e.to_string(),
                })?;
        }
        let (made, _) =
            tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms));
        let unchanged = || Rejection::Unchanged;
        let hash = made.ok_or_else(unchanged)?;
        let change = fork
            .get_last_local_change()
            .filter(|c| c.hash() == hash)
            .ok_or_else(unchanged)?;
        let envelope = SignedChange::sign(doc.clone(), &change, key);
        Ok(Prepared { envelope, fork })
    }

    /// Applies a prepared change through the checks a peer's would get (authority; its signature
    /// is this device's, made just now). Prepared on an older state of the record (another change
    /// of it applied since), it still applies if the checks allow it, as a concurrent change.
    ///
    /// # Errors
    /// The [`Rejection`] the checks give; nothing of the change is kept then.
    pub fn apply_prepared(&mut self, prepared: Prepared) -> Result<SignedChange, Rejection> {
        let Prepared { envelope, fork } = prepared;
        let doc = envelope.doc.clone();
        // Signed just now by this device: the signature needs no second check; authority does.
        self.prepared = Some((doc.clone(), fork));
        let report = self.ingest_checked(vec![Checked::applied_before(envelope.clone())]);
        self.prepared = None;
        if report.applied.contains(&envelope) {
            Ok(envelope)
        } else {
            let reason = report
                .quarantined
                .into_iter()
                .find(|(e, _)| e == &envelope)
                .map(|(_, r)| r)
                .unwrap_or(Rejection::Malformed {
                    reason: "the change was not applied".into(),
                });
            // Our own refused change must not linger in the quarantine: nothing of it is kept.
            self.leave_quarantine(&envelope.digest());
            self.forget_pool_entry(&envelope);
            Err(reason)
        }
    }
}
