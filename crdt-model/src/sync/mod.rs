//! The sync protocol: what two peers say to each other, as pure functions of the replica.
//!
//! One round, started by either side:
//!
//! ```text
//! A → B  Offer      { network, [(doc, heads digest)] }          which records A has, and their state
//! B → A  OfferReply { want: [(doc, B's heads)], changes }       B's heads where they differ; all of
//!                                                               every record A lacks entirely
//! A → B  Push       { changes B lacks, [(doc, A's heads)] }     computed from B's heads
//! B → A  PushReply  { changes A lacks }                         computed from A's heads
//! ```
//! Two round trips, and only changes the other side lacks travel (a change is sent again only when the
//! other side's heads name changes this side has never seen). Every message is bounded in bytes and in
//! changes; a side that hits a bound sets `more`, and the driver starts another round. Automerge's
//! own sync (Bloom filters that a malicious peer can poison) is never exposed to peers.

pub mod protocol;
pub mod scope;
pub mod wire;
