//! What this node last knew of a peer's records, kept across connections.
//!
//! The heads a peer itself stated (in a listing or a `have`), or that it must hold after this node
//! sent it everything it lacked. A round opens by pushing what was written since, so a village that
//! reconnects after a day receives the day's changes in the first message instead of after the
//! reconciliation. The state only ever decides what to push early: what is missing is always found
//! by reconciliation, so a stale or lost state costs bytes, never correctness.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::doc_id::DocId;
use crate::sync::wire::{Fingerprint, WireError};

/// Most records remembered per peer: records first seen beyond this are not remembered, which only
/// costs an early push.
pub const PEER_STATE_DOCS_MAX: usize = 1_000_000;

/// The last known heads of one peer's records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerState {
    heads: BTreeMap<DocId, Vec<[u8; 32]>>,
    /// Once a round found both sides equal, every shared record was noted: a record not noted
    /// since is one the peer has never held, and goes whole in the next opening step.
    primed: bool,
    /// The fingerprint of the round this node opened, to recognise the answer "all equal".
    #[serde(skip)]
    opened: Option<Fingerprint>,
    /// Held prefixes already offered to the peer (see `Step::held`), and rounds since all were.
    #[serde(skip)]
    offered: std::collections::BTreeSet<[u8; 8]>,
    #[serde(skip)]
    rounds_since_full_offer: u32,
}

/// Every this many rounds with a peer, every held change is offered again, so an offer lost with
/// a message costs at most this many rounds.
pub const FULL_OFFER_EVERY: u32 = 16;

impl PeerState {
    /// Notes that the peer holds `heads` of `doc`.
    pub fn note(&mut self, doc: &DocId, heads: Vec<[u8; 32]>) {
        if self.heads.len() >= PEER_STATE_DOCS_MAX && !self.heads.contains_key(doc) {
            return;
        }
        self.heads.insert(doc.clone(), heads);
    }

    /// Notes that the peer holds exactly these records at these heads: both sides were found equal.
    pub fn note_all<'a>(&mut self, docs: impl Iterator<Item = (&'a DocId, Vec<[u8; 32]>)>) {
        for (doc, heads) in docs {
            self.note(doc, heads);
        }
        self.primed = true;
    }

    /// True once a round has found both sides equal (see [`PeerState::note_all`]).
    pub fn primed(&self) -> bool {
        self.primed
    }

    /// Remembers the fingerprint an opening step carried.
    pub fn opened(&mut self, fingerprint: Fingerprint) {
        self.opened = Some(fingerprint);
    }

    /// The fingerprint of the round this node opened, taken (it answers only the first reply).
    pub fn take_opened(&mut self) -> Option<Fingerprint> {
        self.opened.take()
    }

    /// Of `held`, what to offer the peer this round: all of it every [`FULL_OFFER_EVERY`] rounds,
    /// else what was not offered yet.
    pub fn to_offer(&mut self, held: Vec<[u8; 8]>) -> Vec<[u8; 8]> {
        if self.rounds_since_full_offer == 0 {
            self.offered = held.iter().copied().collect();
            self.rounds_since_full_offer = FULL_OFFER_EVERY - 1;
            return held;
        }
        self.rounds_since_full_offer -= 1;
        let new: Vec<[u8; 8]> = held
            .into_iter()
            .filter(|p| !self.offered.contains(p))
            .collect();
        self.offered.extend(new.iter().copied());
        new
    }

    /// The peer's last known heads of `doc`.
    pub fn heads(&self, doc: &DocId) -> Option<&[[u8; 32]]> {
        self.heads.get(doc).map(Vec::as_slice)
    }

    /// Every record with known heads.
    pub fn iter(&self) -> impl Iterator<Item = (&DocId, &[[u8; 32]])> {
        self.heads.iter().map(|(d, h)| (d, h.as_slice()))
    }

    /// Records remembered.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Encodes for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain data: encoding into a Vec cannot fail.
        crate::encoding::postcard_bytes(self)
    }

    /// Decodes a stored state.
    ///
    /// # Errors
    /// [`WireError::Malformed`] when the bytes are not a state (the caller starts afresh).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        postcard::from_bytes(bytes).map_err(|e| WireError::Malformed {
            reason: format!("stored peer sync state: {e}"),
        })
    }
}
