//! Sealing personal data to the halls entitled to read it (D3; issue #14).
//!
//! A case's personal part (the applicant's identity and contact, materials, notes, decision text)
//! is encrypted once under a fresh **content key**, and that key is wrapped to each recipient's
//! X25519 public key: an ephemeral key pair per sealing, a Diffie–Hellman with each recipient, HKDF-
//! SHA-256 over the shared secret and both public keys, and ChaCha20-Poly1305 around the content key.
//! The content itself is ChaCha20-Poly1305 under the content key with associated data that binds it
//! to its place (the record and the field), so a ciphertext moved to another case does not open.
//!
//! Carriers store and forward a [`Sealed`] value like any other bytes; the signature of the change
//! that carries it covers it, so they still verify who wrote it. Destroying every copy of the
//! content key (and the wraps) leaves the ciphertext unreadable for good: crypto-shredding.
//!
//! Sans-IO: the randomness (the content key and the ephemeral secret) comes in as arguments, as
//! everywhere in this crate, so the node draws it from the OS and the simulator from its seed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

/// The HKDF `info` of a wrap, and the domain of key ids.
const WRAP_INFO: &[u8] = b"hallsync/seal/wrap/v1";

/// Most recipients of one sealed value: the parties' devices (a hall has a few), with room.
pub const RECIPIENTS_MAX: usize = 64;

/// Largest content sealed, in bytes (a case's notes and material list, not scans).
pub const CONTENT_BYTES_MAX: usize = 256 * 1024;

/// A recipient's X25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SealKey(pub [u8; 32]);

impl SealKey {
    /// The key's id: the first 8 bytes of SHA-256 over a domain and the key, in hex. A wrap names
    /// its recipient by it, so a reader finds its own wrap without trying each.
    pub fn id(&self) -> String {
        let digest = Sha256::new()
            .chain_update(WRAP_INFO)
            .chain_update([0])
            .chain_update(self.0)
            .finalize();
        hex::encode(&digest[..8])
    }
}

/// A device's X25519 secret, for opening what was sealed to its [`SealKey`].
pub struct OpenKey(StaticSecret);

impl OpenKey {
    /// The secret from 32 bytes (the node's key file, or a test's seed).
    pub fn from_bytes(bytes: [u8; 32]) -> OpenKey {
        OpenKey(StaticSecret::from(bytes))
    }

    /// The secret's bytes, for the key file.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key to put in the device's certificate.
    pub fn seal_key(&self) -> SealKey {
        SealKey(PublicKey::from(&self.0).to_bytes())
    }
}

/// The content key wrapped to one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrap {
    /// The recipient's [`SealKey::id`].
    pub to: String,
    /// The content key under the key agreed with the recipient (32 bytes and a 16-byte tag).
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
}

/// Sealed content: what carriers store and forward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The sealing's ephemeral X25519 public key.
    pub ephemeral: [u8; 32],
    /// The content key, once per recipient.
    pub wraps: Vec<Wrap>,
    /// The content under the content key (and a 16-byte tag).
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
}

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Nobody to seal to, or more than [`RECIPIENTS_MAX`].
    #[error("sealed content needs between 1 and {RECIPIENTS_MAX} recipients; got {0}")]
    Recipients(usize),
    /// The content is larger than [`CONTENT_BYTES_MAX`].
    #[error("sealed content is at most {CONTENT_BYTES_MAX} bytes; got {0}")]
    TooLarge(usize),
    /// None of the keys given has a wrap here: not sealed to this device (or to a key it no longer
    /// holds).
    #[error("this content was not sealed to any key this device holds")]
    NotARecipient,
    /// A wrap or the content failed authentication: damaged, or moved from another place.
    #[error("sealed content failed authentication (damaged, or moved from another record)")]
    Tampered,
}

/// The key that wraps the content key for `recipient`: HKDF-SHA-256 over the shared secret, with
/// both public keys in the `info`, so a wrap is bound to its pair.
fn wrap_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &SealKey) -> Key {
    let kdf = hkdf::Hkdf::<Sha256>::new(None, shared);
    let mut okm = [0u8; 32];
    // 32 bytes are far below HKDF-SHA-256's limit of 8160: expanding cannot fail.
    let expanded = kdf.expand_multi_info(&[WRAP_INFO, ephemeral, &recipient.0], &mut okm);
    debug_assert!(expanded.is_ok());
    Key::from(okm)
}

/// A cipher's single use: each key (the content key, each wrap key) encrypts exactly one message,
/// so a fixed nonce is safe.
fn nonce() -> Nonce {
    Nonce::default()
}

/// Seals `content` to `recipients`, bound to `place` (associated data: the record and field it
/// belongs in), with the randomness `content_key` and `ephemeral_secret` (fresh for each sealing).
///
/// # Errors
/// [`SealError::Recipients`] or [`SealError::TooLarge`].
pub fn seal(
    content: &[u8],
    place: &[u8],
    recipients: &[SealKey],
    content_key: [u8; 32],
    ephemeral_secret: [u8; 32],
) -> Result<Sealed, SealError> {
    if recipients.is_empty() || recipients.len() > RECIPIENTS_MAX {
        return Err(SealError::Recipients(recipients.len()));
    }
    if content.len() > CONTENT_BYTES_MAX {
        return Err(SealError::TooLarge(content.len()));
    }
    let cipher = ChaCha20Poly1305::new(&Key::from(content_key));
    let ciphertext = cipher
        .encrypt(
            &nonce(),
            Payload {
                msg: content,
                aad: place,
            },
        )
        .map_err(|_| SealError::TooLarge(content.len()))?;
    let secret = StaticSecret::from(ephemeral_secret);
    let ephemeral = PublicKey::from(&secret).to_bytes();
    let mut wraps = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        let shared = secret
            .diffie_hellman(&PublicKey::from(recipient.0))
            .to_bytes();
        let wrapper = ChaCha20Poly1305::new(&wrap_key(&shared, &ephemeral, recipient));
        let key = wrapper
            .encrypt(
                &nonce(),
                Payload {
                    msg: &content_key,
                    aad: place,
                },
            )
            .map_err(|_| SealError::TooLarge(content.len()))?;
        wraps.push(Wrap {
            to: recipient.id(),
            key,
        });
    }
    Ok(Sealed {
        ephemeral,
        wraps,
        ciphertext,
    })
}

impl Sealed {
    /// The content key, unwrapped with whichever of `keys` the content was sealed to (a device
    /// keeps its retired keys, so it reads what was sealed to it before a rotation).
    ///
    /// # Errors
    /// [`SealError::NotARecipient`], or [`SealError::Tampered`] for a wrap that does not open.
    pub fn content_key(&self, place: &[u8], keys: &[OpenKey]) -> Result<[u8; 32], SealError> {
        for key in keys {
            let public = key.seal_key();
            let id = public.id();
            let Some(wrap) = self.wraps.iter().find(|w| w.to == id) else {
                continue;
            };
            let shared = key
                .0
                .diffie_hellman(&PublicKey::from(self.ephemeral))
                .to_bytes();
            let wrapper = ChaCha20Poly1305::new(&wrap_key(&shared, &self.ephemeral, &public));
            let bytes = wrapper
                .decrypt(
                    &nonce(),
                    Payload {
                        msg: &wrap.key,
                        aad: place,
                    },
                )
                .map_err(|_| SealError::Tampered)?;
            return <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| SealError::Tampered);
        }
        Err(SealError::NotARecipient)
    }

    /// The content, opened with the content key.
    ///
    /// # Errors
    /// [`SealError::Tampered`] when the key, the place or the ciphertext is not the sealing's.
    pub fn open_with(&self, place: &[u8], content_key: &[u8; 32]) -> Result<Vec<u8>, SealError> {
        ChaCha20Poly1305::new(&Key::from(*content_key))
            .decrypt(
                &nonce(),
                Payload {
                    msg: &self.ciphertext,
                    aad: place,
                },
            )
            .map_err(|_| SealError::Tampered)
    }

    /// The content, opened with whichever of `keys` it was sealed to.
    ///
    /// # Errors
    /// As [`Sealed::content_key`] and [`Sealed::open_with`].
    pub fn open(&self, place: &[u8], keys: &[OpenKey]) -> Result<Vec<u8>, SealError> {
        let key = self.content_key(place, keys)?;
        self.open_with(place, &key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(n: u8) -> OpenKey {
        OpenKey::from_bytes([n; 32])
    }

    #[test]
    fn every_recipient_opens_and_nobody_else() {
        let (a, b, c) = (key(1), key(2), key(3));
        let sealed = seal(
            "申请人 张三 440300199001011238".as_bytes(),
            b"case/x/y/1#applicant",
            &[a.seal_key(), b.seal_key()],
            [9; 32],
            [7; 32],
        )
        .unwrap();
        for k in [a, b] {
            assert_eq!(
                sealed.open(b"case/x/y/1#applicant", &[k]).unwrap(),
                "申请人 张三 440300199001011238".as_bytes()
            );
        }
        assert_eq!(
            sealed.open(b"case/x/y/1#applicant", &[c]),
            Err(SealError::NotARecipient)
        );
        let text = String::from_utf8_lossy(&postcard::to_stdvec(&sealed).unwrap()).to_string();
        assert!(!text.contains("张三") && !text.contains("440300199001011238"));
    }

    #[test]
    fn a_rotated_device_reads_with_its_retired_key() {
        let (old, new) = (key(1), key(2));
        let sealed = seal(b"before", b"p", &[old.seal_key()], [5; 32], [6; 32]).unwrap();
        assert_eq!(sealed.open(b"p", &[new, old]).unwrap(), b"before");
    }

    #[test]
    fn moved_or_damaged_content_does_not_open() {
        let a = key(1);
        let mut sealed = seal(b"secret", b"case/1", &[a.seal_key()], [5; 32], [6; 32]).unwrap();
        assert_eq!(sealed.open(b"case/2", &[key(1)]), Err(SealError::Tampered));
        sealed.ciphertext[0] ^= 1;
        assert_eq!(sealed.open(b"case/1", &[key(1)]), Err(SealError::Tampered));
    }

    #[test]
    fn bounds_are_refused_before_any_work() {
        assert_eq!(
            seal(b"x", b"p", &[], [0; 32], [0; 32]),
            Err(SealError::Recipients(0))
        );
        let big = vec![0u8; CONTENT_BYTES_MAX + 1];
        assert_eq!(
            seal(&big, b"p", &[key(1).seal_key()], [0; 32], [0; 32]),
            Err(SealError::TooLarge(CONTENT_BYTES_MAX + 1))
        );
    }

    proptest! {
        #[test]
        fn sealing_round_trips_for_any_content_and_recipients(
            content in proptest::collection::vec(any::<u8>(), 0..2048),
            seeds in proptest::collection::btree_set(1u8..=255, 1..6),
            content_key in any::<[u8; 32]>(),
            ephemeral in any::<[u8; 32]>(),
        ) {
            let keys: Vec<OpenKey> = seeds.iter().map(|s| key(*s)).collect();
            let publics: Vec<SealKey> = keys.iter().map(OpenKey::seal_key).collect();
            let sealed = seal(&content, b"place", &publics, content_key, ephemeral).unwrap();
            for k in keys {
                prop_assert_eq!(sealed.open(b"place", &[k]).unwrap(), content.clone());
            }
        }
    }
}
