//! Signed changes: the unit of replication, and why one may be refused.

pub mod causal;
pub mod envelope;
pub mod ops;
pub mod rejection;
pub mod signatures;
