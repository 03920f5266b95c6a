//! The network's genesis: the key every certificate chain ends at.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::DeviceId;

/// The id of a network, derived from its genesis key so it cannot be claimed by another key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NetworkId(pub String);

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetworkId({})", self.0)
    }
}

/// What a node must know to trust anything: the genesis key. Everything else is derived from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The root key; the city administrator's device key at `init --genesis`.
    pub key: DeviceId,
}

impl Genesis {
    /// The network id: `HSN-` and 16 base32 characters of the key's SHA-256.
    pub fn network_id(&self) -> NetworkId {
        let digest = Sha256::digest(self.key.0);
        NetworkId(format!("HSN-{}", &BASE32_NOPAD.encode(&digest[..10])[..16]))
    }
}
