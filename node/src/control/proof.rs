//! The node proves itself to the CLI before the CLI sends its token.
//!
//! `control.json` survives a crash, and its port can then be bound by any local user. So the CLI
//! first sends a fresh 32-byte challenge to `POST /api/hello` (no token); the node answers with its
//! device id and an ed25519 signature, with the device key in the data directory, over
//!
//! ```text
//! "hallsync/control-hello/v1" 0x00 ‖ challenge ‖ the address from control.json
//! ```
//!
//! The CLI checks it against the key file it can read (the same user runs both), and sends the
//! token and the command only when it holds. Another program on the old port cannot sign, and a
//! signature for one address or challenge is no good for another.

use hallsync_model::{DeviceId, DeviceKey};
use serde::{Deserialize, Serialize};

const DOMAIN: &[u8] = b"hallsync/control-hello/v1\0";

/// What the CLI sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Challenge {
    /// 32 random bytes, hex.
    pub challenge: String,
}

/// What the node answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Proof {
    /// The node's device id.
    pub device: String,
    /// The signature, hex.
    pub signature: String,
}

fn message(challenge: &[u8; 32], addr: &str) -> Vec<u8> {
    [DOMAIN, challenge.as_slice(), addr.as_bytes()].concat()
}

/// A fresh challenge from the OS RNG.
///
/// # Errors
/// The OS has no randomness to give.
pub fn challenge() -> Result<[u8; 32], getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// The node's answer to `challenge` for a client that reached it at `addr`; `None` for a
/// challenge that is not 32 bytes of hex.
pub fn prove(key: &DeviceKey, challenge: &str, addr: &str) -> Option<Proof> {
    let bytes: [u8; 32] = hex::decode(challenge).ok()?.try_into().ok()?;
    Some(Proof {
        device: key.device_id().to_string(),
        signature: hex::encode(key.sign(&message(&bytes, addr))),
    })
}

/// True when `proof` is `expected`'s signature over `challenge` at `addr`.
pub fn holds(expected: &DeviceId, challenge: &[u8; 32], addr: &str, proof: &Proof) -> bool {
    let Some(signature) = hex::decode(&proof.signature)
        .ok()
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
    else {
        return false;
    };
    proof.device == expected.to_string() && expected.verify(&message(challenge, addr), &signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_holds_for_its_key_challenge_and_address_only() {
        let key = DeviceKey::from_seed([7; 32]);
        let other = DeviceKey::from_seed([8; 32]);
        let c = [1u8; 32];
        let proof = prove(&key, &hex::encode(c), "127.0.0.1:4000").unwrap();
        assert!(holds(&key.device_id(), &c, "127.0.0.1:4000", &proof));
        assert!(!holds(&other.device_id(), &c, "127.0.0.1:4000", &proof));
        assert!(!holds(&key.device_id(), &[2; 32], "127.0.0.1:4000", &proof));
        assert!(!holds(&key.device_id(), &c, "127.0.0.1:4001", &proof));
        let forged = prove(&other, &hex::encode(c), "127.0.0.1:4000").unwrap();
        let claimed = Proof {
            device: key.device_id().to_string(),
            ..forged
        };
        assert!(!holds(&key.device_id(), &c, "127.0.0.1:4000", &claimed));
        assert!(prove(&key, "not hex", "a").is_none());
    }
}
