//! Local authoring: a change by this device goes through the very checks a peer's would.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ScalarValue, ROOT};

use crate::change::envelope::{Checked, SignedChange};
use crate::change::rejection::Rejection;
use crate::identity::DeviceKey;
use crate::records::DocId;
use crate::replica::Replica;

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
