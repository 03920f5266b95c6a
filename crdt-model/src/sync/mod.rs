//! The sync protocol: what two peers say to each other, as pure functions of the replica.
//!
//! A round is a conversation of [`wire::Step`]s; the side that opens it sends a step, the other
//! answers each with one, and the round ends when a step carries nothing. Each step does three
//! things at once:
//!
//! ```text
//! ranges   range-based set reconciliation over (record, heads digest): a range whose fingerprint
//!          differs is cut into parts (fingerprinted) or, when small, listed with each record's heads
//! have     for records where the sender lacks something: its heads and samples of its history
//! changes  what the receiver lacks: whole records it does not hold, changes after heads it stated,
//!          changes after the common past found from a `have`
//! ```
//!
//! Peers in sync are done after one exchange of a few dozen bytes. Otherwise the differing records
//! are found in a number of round trips that grows with the logarithm of the set (two cuts for
//! 100,000 records) and bytes that grow with the number of differing records; the changes travel in
//! the same steps. Every message is bounded in bytes, changes, records and ranges; a side that hits a
//! bound sets `more` and another round follows, and the opening side stops after
//! [`protocol::STEPS_MAX`] steps whatever the peer says. The rounds around the steps (admission,
//! timeouts, chaining, push on news, retries) are one state machine, [`session::Session`], that the
//! node and the simulator both drive. Automerge's own sync (Bloom filters that a malicious peer can
//! poison) is never exposed to peers.

pub mod admission;
pub mod memory;
pub mod peer_state;
pub mod protocol;
pub mod ranges;
pub mod scope;
pub mod session;
pub mod wire;
