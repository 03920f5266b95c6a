//! Peer ids are device keys: converting between libp2p's and ours.

use hallsync_model::{DeviceId, DeviceKey};
use libp2p::identity::{Keypair, PublicKey};
use libp2p::PeerId;

use crate::error::NodeError;

/// The libp2p identity of a device: the same ed25519 key.
///
/// # Errors
/// [`NodeError::Network`] if libp2p refuses the key (it cannot for a valid ed25519 seed).
pub fn keypair(key: &DeviceKey) -> Result<Keypair, NodeError> {
    // libp2p zeroes the buffer it is given; it gets a copy.
    let mut seed = key.seed();
    Keypair::ed25519_from_bytes(&mut seed).map_err(|e| NodeError::Network(e.to_string()))
}

/// The device id behind a peer id, when the peer uses an ed25519 key (every hallsync node does).
pub fn device_of(peer: &PeerId) -> Option<DeviceId> {
    let multihash = peer.as_ref();
    if multihash.code() != 0 {
        return None;
    }
    let public = PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    let ed = public.try_into_ed25519().ok()?;
    Some(DeviceId(ed.to_bytes()))
}

/// The peer id of a device: its ed25519 key as libp2p names it. `None` for bytes that are no
/// ed25519 point (no certificate names such a device).
pub fn peer_of_device(device: &DeviceId) -> Option<PeerId> {
    let public = libp2p::identity::ed25519::PublicKey::try_from_bytes(&device.0).ok()?;
    Some(PublicKey::from(public).to_peer_id())
}

/// A peer's name for people: its device id, or the libp2p id if it has none.
pub fn peer_label(peer: &PeerId) -> String {
    device_of(peer)
        .map(|d| d.to_string())
        .unwrap_or_else(|| peer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_maps_back_to_the_device_id() {
        let key = DeviceKey::from_seed([5; 32]);
        let peer = PeerId::from_public_key(&keypair(&key).unwrap().public());
        assert_eq!(device_of(&peer), Some(key.device_id()));
        assert_eq!(peer_label(&peer), key.device_id().to_string());
    }
}
