//! Change signatures: one at a time or in batches, the same verdict on every input — including a
//! signature its own signer crafted so that the two usual ed25519 equations disagree.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use hallsync_model::change::signatures::{verify_all, verify_one, SignatureCheck, BATCH_MAX};
use hallsync_model::DeviceKey;
use proptest::prelude::*;
use sha2::{Digest, Sha512};

/// The ed25519 secret scalar of a seed, as RFC 8032 derives it.
fn secret_scalar(seed: [u8; 32]) -> Scalar {
    let hash: [u8; 64] = Sha512::digest(seed).into();
    let mut a = [0u8; 32];
    a.copy_from_slice(&hash[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    Scalar::from_bytes_mod_order(a)
}

/// A signature by `seed` whose nonce point carries a small-order component: valid under the
/// cofactored equation, refused by the cofactorless one. Only the key's holder can make one.
fn torsioned(seed: [u8; 32], message: &[u8], nonce: u8) -> [u8; 64] {
    let a = secret_scalar(seed);
    let public = (a * ED25519_BASEPOINT_POINT).compress();
    assert_eq!(public.0, DeviceKey::from_seed(seed).device_id().0);
    let r = Scalar::from_bytes_mod_order([nonce.max(1); 32]);
    let big_r = (r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[1]).compress();
    let mut h = Sha512::new();
    h.update(big_r.as_bytes());
    h.update(public.as_bytes());
    h.update(message);
    let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
    let s = r + k * a;
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(big_r.as_bytes());
    signature[32..].copy_from_slice(s.as_bytes());
    signature
}

/// What a batch of signatures is made of.
#[derive(Clone, Debug)]
enum Kind {
    Good,
    FlippedBit(usize),
    OtherMessage,
    Torsioned,
    HighS,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        6 => Just(Kind::Good),
        1 => (0usize..512).prop_map(Kind::FlippedBit),
        1 => Just(Kind::OtherMessage),
        1 => Just(Kind::Torsioned),
        1 => Just(Kind::HighS),
    ]
}

/// ℓ, the order of the prime subgroup, little-endian: `s + ℓ` is the same scalar, not canonical.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_ell(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(ELL[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

fn make(kind: &Kind, i: usize) -> ([u8; 32], Vec<u8>, [u8; 64]) {
    let seed = [(i % 5) as u8 + 1; 32];
    let key = DeviceKey::from_seed(seed);
    let message = format!("change {i}").into_bytes();
    let mut signature = key.sign(&message);
    match kind {
        Kind::Good => {}
        Kind::FlippedBit(bit) => signature[bit / 8] ^= 1 << (bit % 8),
        Kind::OtherMessage => signature = key.sign(b"another change"),
        Kind::Torsioned => signature = torsioned(seed, &message, i as u8),
        Kind::HighS => {
            let high = add_ell(&signature[32..]);
            signature[32..].copy_from_slice(&high);
        }
    }
    (key.device_id().0, message, signature)
}

/// The checks of signatures made by [`make`].
fn checks_of(made: &[([u8; 32], Vec<u8>, [u8; 64])]) -> Vec<SignatureCheck<'_>> {
    made.iter()
        .map(|(key, message, signature)| SignatureCheck {
            key,
            message,
            signature,
        })
        .collect()
}

#[test]
fn a_signature_its_signer_crafted_with_a_small_order_nonce_gets_one_verdict() {
    // Goal: the signature that the cofactorless check refuses and a random cofactorless batch
    // would accept one time in eight is accepted both one at a time and in every batch.
    let (key, message, signature) = make(&Kind::Torsioned, 3);
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
    assert!(
        dalek
            .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .is_err(),
        "the usual check refuses it"
    );
    let check = SignatureCheck {
        key: &key,
        message: &message,
        signature: &signature,
    };
    assert!(verify_one(&check));
    for others in [0usize, 1, 7, BATCH_MAX - 1] {
        let goods: Vec<_> = (10..10 + others).map(|i| make(&Kind::Good, i)).collect();
        let mut checks = checks_of(&goods);
        checks.push(check);
        assert!(
            verify_all(&checks).iter().all(|v| *v),
            "with {others} others"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_batch_gives_each_signature_the_verdict_it_gets_alone(kinds in prop::collection::vec(kind(), 1..150)) {
        // Goal: whatever a batch mixes — good signatures, flipped bits, signatures of other
        // messages, crafted small-order nonces, non-canonical scalars — each verdict equals the
        // single check's, and good signatures are accepted, as ed25519's own check accepts them.
        let made: Vec<_> = kinds.iter().enumerate().map(|(i, k)| make(k, i)).collect();
        let checks = checks_of(&made);
        let batched = verify_all(&checks);
        for ((kind, check), verdict) in kinds.iter().zip(&checks).zip(&batched) {
            prop_assert_eq!(*verdict, verify_one(check), "{:?}", kind);
            let dalek = ed25519_dalek::VerifyingKey::from_bytes(check.key)
                .unwrap()
                .verify_strict(check.message, &ed25519_dalek::Signature::from_bytes(check.signature))
                .is_ok();
            if dalek {
                prop_assert!(*verdict, "ed25519 accepts it, so must we: {:?}", kind);
            }
            if matches!(kind, Kind::Good | Kind::Torsioned) {
                prop_assert!(*verdict);
            }
            if matches!(kind, Kind::OtherMessage | Kind::HighS) {
                prop_assert!(!*verdict);
            }
        }
    }
}

#[test]
fn one_bad_signature_in_a_full_batch_is_found_wherever_it_is() {
    // Goal: the search through a failed batch finds the one bad signature at any position, and
    // every other signature keeps its verdict.
    for bad_at in [0usize, 1, 255, 256, 300, BATCH_MAX - 1] {
        let made: Vec<_> = (0..BATCH_MAX)
            .map(|i| {
                let kind = if i == bad_at {
                    Kind::FlippedBit(300)
                } else {
                    Kind::Good
                };
                make(&kind, i)
            })
            .collect();
        let checks = checks_of(&made);
        let verdicts = verify_all(&checks);
        for (i, verdict) in verdicts.iter().enumerate() {
            assert_eq!(*verdict, i != bad_at, "position {i}, bad at {bad_at}");
        }
    }
}
