//! Trust: the genesis key, certificates, and the state derived from them.

pub mod cert;
pub mod genesis;
pub mod membership;
pub mod revocation;
pub mod seal_keys;
pub mod state;
