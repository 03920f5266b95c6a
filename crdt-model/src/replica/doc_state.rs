//! One record's automerge document and what authorization needs of its past.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, ChangeHash};

use crate::change::envelope::SignedChange;
use crate::identity::DeviceId;
use crate::records::station::DocHistory;

/// One record: its document, and per applied change the dependencies, author and class.
#[derive(Clone, Default)]
pub struct DocState {
    pub(crate) doc: Automerge,
    pub(crate) deps: BTreeMap<ChangeHash, Vec<ChangeHash>>,
    pub(crate) authors: BTreeMap<ChangeHash, DeviceId>,
    pub(crate) content: BTreeSet<ChangeHash>,
    /// Applied envelopes in the order applied, which respects dependencies.
    pub(crate) order: Vec<ChangeHash>,
    pub(crate) envelopes: BTreeMap<ChangeHash, SignedChange>,
}

impl DocState {
    /// The automerge document.
    pub fn doc(&self) -> &Automerge {
        &self.doc
    }

    /// The current heads, sorted.
    pub fn heads(&self) -> Vec<ChangeHash> {
        let mut heads = self.doc.get_heads();
        heads.sort();
        heads
    }

    /// The applied envelopes, in an order that respects dependencies.
    pub fn applied_envelopes(&self) -> impl Iterator<Item = &SignedChange> {
        self.order.iter().filter_map(|h| self.envelopes.get(h))
    }

    /// Who signed each applied change.
    pub fn authors(&self) -> &BTreeMap<ChangeHash, DeviceId> {
        &self.authors
    }

    /// Each applied change's dependencies.
    pub fn deps(&self) -> &BTreeMap<ChangeHash, Vec<ChangeHash>> {
        &self.deps
    }

    pub(crate) fn history(&self) -> DocHistory<'_> {
        DocHistory {
            deps: &self.deps,
            authors: &self.authors,
            content: &self.content,
            doc: Some(&self.doc),
        }
    }
}
