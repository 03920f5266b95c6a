//! Rebuilding every record from the envelopes held, after something was taken away.

use crate::change::envelope::SignedChange;
use crate::records::DocKind;
use crate::replica::Replica;
use crate::trust::state::TrustState;

impl Replica {
    /// Forgets every derived state and ingests every envelope again: the trust record first (so the
    /// trust state is final before any other record is judged), then the rest.
    ///
    /// The pool of dependencies and sequence numbers is kept: it is a function of the envelopes.
    pub(crate) fn rebuild(&mut self) {
        self.rebuilding = true;
        self.needs_rebuild = false;
        let mut trust_envelopes: Vec<SignedChange> = Vec::new();
        let mut other: Vec<SignedChange> = Vec::new();
        for (doc, state) in &self.docs {
            let target = if matches!(doc.kind(), DocKind::Trust) {
                &mut trust_envelopes
            } else {
                &mut other
            };
            target.extend(state.applied_envelopes().cloned());
        }
        for entry in self.quarantine.values() {
            let target = if matches!(entry.envelope.doc.kind(), DocKind::Trust) {
                &mut trust_envelopes
            } else {
                &mut other
            };
            target.push(entry.envelope.clone());
        }
        self.docs.clear();
        self.quarantine.clear();
        self.applied_digests.clear();
        let mut trust = TrustState::new(self.trust.genesis().clone());
        trust.add(self.bootstrap.clone());
        self.trust = std::sync::Arc::new(trust);
        for batch in [trust_envelopes, other] {
            self.ingest(batch);
        }
        self.needs_rebuild = false;
        self.rebuilding = false;
    }
}
