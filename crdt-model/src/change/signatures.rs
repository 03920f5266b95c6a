//! Checking the signatures of changes, one at a time or many at once, with the same verdict.
//!
//! A node that catches up checks tens of thousands of signatures; checking them as a batch (one
//! multi-scalar multiplication for the lot) costs about half as much each. A batch and a single
//! check must agree on every input, or two nodes that batched differently would hold different
//! records. ed25519 as most libraries check it (the cofactorless equation) does not have that
//! property: a signer can add a small-order point to a signature so that a single check refuses it
//! while a random batch accepts it one time in eight. So change signatures are checked with the
//! cofactored equation `[8]([s]B − [k]A − R) = 0` both ways (as ZIP 215 does), which a batch
//! satisfies exactly when each of its signatures does (but with probability 2⁻¹²⁸), and encodings
//! are held to one canonical form.
//!
//! Every signature an ed25519 signer makes passes both the cofactored and the cofactorless check;
//! only crafted ones differ. Certificates keep the library's own check: they are few, and there the
//! bytes of a signature are part of a certificate's identity, which the cofactored check would let a
//! third party vary. A change is named by its automerge hash, not by its signature, so a varied
//! signature on a change is at most a duplicate.

use std::collections::BTreeMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};

/// Signatures checked in one multi-scalar multiplication: past a couple of hundred points the
/// multiplication switches to Pippenger's method, which costs less a point.
pub const BATCH_MAX: usize = 512;

/// Below this a failed batch is checked one signature at a time.
const SPLIT_MIN: usize = 8;

/// One signature to check.
#[derive(Clone, Copy)]
pub struct SignatureCheck<'a> {
    /// The signer's ed25519 public key.
    pub key: &'a [u8; 32],
    /// The signed bytes.
    pub message: &'a [u8],
    /// The signature, `R ‖ s`.
    pub signature: &'a [u8; 64],
}

/// A signature decoded and hashed: what both equations need.
struct Decoded {
    key: [u8; 32],
    r_bytes: [u8; 32],
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

/// True when `bytes` is the canonical encoding of a field element: y < p = 2²⁵⁵ − 19 (the sign bit
/// aside). A point has one encoding then, and a signature one form.
fn canonical_y(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    !(top == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed)
}

/// Decodes a point, refusing non-canonical encodings and the small-order points (which carry no
/// key and let a signature mean nothing).
fn point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !canonical_y(bytes) {
        return None;
    }
    let point = CompressedEdwardsY(*bytes).decompress()?;
    if point.is_small_order() {
        return None;
    }
    Some(point)
}

fn decode(check: &SignatureCheck<'_>, key_point: Option<EdwardsPoint>) -> Option<Decoded> {
    let a = match key_point {
        Some(a) => a,
        None => point(check.key)?,
    };
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&check.signature[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&check.signature[32..]);
    let r = point(&r_bytes)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let mut hash = Sha512::new();
    hash.update(r_bytes);
    hash.update(check.key);
    hash.update(check.message);
    let k = Scalar::from_bytes_mod_order_wide(&hash.finalize().into());
    Some(Decoded {
        key: *check.key,
        r_bytes,
        a,
        r,
        s,
        k,
    })
}

/// The cofactored check of one decoded signature: `[8]([s]B − [k]A − R) = 0`.
fn holds(d: &Decoded) -> bool {
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&d.k, &(-d.a), &d.s);
    (sb_minus_ka - d.r).mul_by_cofactor().is_identity()
}

/// Checks one signature.
pub fn verify_one(check: &SignatureCheck<'_>) -> bool {
    decode(check, None).is_some_and(|d| holds(&d))
}

/// Checks every signature of `checks`, in batches of [`BATCH_MAX`]; the verdicts are in order and
/// equal [`verify_one`]'s for each. A failed batch is searched for its bad signatures (see
/// `refuse_bad`), so a bad signature costs its batch some extra work, never a wrong verdict.
pub fn verify_all(checks: &[SignatureCheck<'_>]) -> Vec<bool> {
    let mut verdicts = Vec::with_capacity(checks.len());
    // Keys repeat (a device signs many changes): each is decoded once.
    let mut keys: BTreeMap<[u8; 32], Option<EdwardsPoint>> = BTreeMap::new();
    for batch in checks.chunks(BATCH_MAX) {
        let decoded: Vec<Option<Decoded>> = batch
            .iter()
            .map(|c| {
                let a = *keys.entry(*c.key).or_insert_with(|| point(c.key));
                a.and_then(|a| decode(c, Some(a)))
            })
            .collect();
        let mut batch_verdicts: Vec<bool> = decoded.iter().map(Option::is_some).collect();
        let good: Vec<(usize, &Decoded)> = decoded
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.as_ref().map(|d| (i, d)))
            .collect();
        refuse_bad(&good, &mut batch_verdicts, false);
        verdicts.extend(batch_verdicts);
    }
    verdicts
}

/// Marks false in `verdicts` every signature of `batch` the equation refuses. A batch that holds
/// is done; one that fails is halved and each half checked; a failing half with a passing sibling
/// is halved again (one bad signature among many costs about two batches), while two failing halves
/// are checked one by one (a batch of junk costs what single checks would, not more).
fn refuse_bad(batch: &[(usize, &Decoded)], verdicts: &mut [bool], known_failed: bool) {
    let singles = |part: &[(usize, &Decoded)], verdicts: &mut [bool]| {
        for (i, d) in part {
            verdicts[*i] = holds(d);
        }
    };
    if batch.len() < SPLIT_MIN {
        singles(batch, verdicts);
        return;
    }
    if !known_failed && batch_holds(&batch.iter().map(|(_, d)| *d).collect::<Vec<_>>()) {
        return;
    }
    let (left, right) = batch.split_at(batch.len() / 2);
    let holds_all = |part: &[(usize, &Decoded)]| {
        part.len() >= SPLIT_MIN && batch_holds(&part.iter().map(|(_, d)| *d).collect::<Vec<_>>())
    };
    match (holds_all(left), holds_all(right)) {
        (true, false) => refuse_bad(right, verdicts, true),
        (false, true) => refuse_bad(left, verdicts, true),
        // Both failed (many bad signatures), or both held though the whole did not (which only a
        // hash collision could make happen): decide each alone.
        _ => {
            singles(left, verdicts);
            singles(right, verdicts);
        }
    }
}

/// The cofactored batch equation `[8](Σ zᵢRᵢ + Σ zᵢkᵢAᵢ − (Σ zᵢsᵢ)B) = 0`, with 128-bit weights
/// `zᵢ` drawn from a hash of the whole batch (the core has no randomness, and a signer cannot pick
/// them without breaking the hash). Terms of one key share one point.
fn batch_holds(batch: &[&Decoded]) -> bool {
    if batch.is_empty() {
        return true;
    }
    let mut transcript = Sha512::new();
    transcript.update(b"hallsync change signature batch v1");
    for d in batch {
        transcript.update(d.r_bytes);
        transcript.update(d.key);
        transcript.update(d.s.as_bytes());
        transcript.update(d.k.as_bytes());
    }
    let seed: [u8; 64] = transcript.finalize().into();
    let mut b_coefficient = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(batch.len() + 8);
    let mut points = Vec::with_capacity(batch.len() + 8);
    let mut by_key: BTreeMap<[u8; 32], (Scalar, EdwardsPoint)> = BTreeMap::new();
    for (i, d) in batch.iter().enumerate() {
        let mut weight = Sha512::new();
        weight.update(seed);
        weight.update((i as u64).to_le_bytes());
        let weight: [u8; 64] = weight.finalize().into();
        let mut z = [0u8; 32];
        z[..16].copy_from_slice(&weight[..16]);
        let z = Scalar::from_bytes_mod_order(z);
        b_coefficient += z * d.s;
        scalars.push(z);
        points.push(d.r);
        let entry = by_key.entry(d.key).or_insert((Scalar::ZERO, d.a));
        entry.0 += z * d.k;
    }
    for (coefficient, a) in by_key.into_values() {
        scalars.push(coefficient);
        points.push(a);
    }
    scalars.push(-b_coefficient);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}
