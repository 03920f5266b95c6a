//! Range-based set reconciliation over (record, heads digest) pairs.
//!
//! Every record has a key: the first 8 bytes of the SHA-256 of its id, so keys spread evenly over
//! `[0, 2^64)` whatever the ids look like. Two peers compare a range by fingerprint; a range that
//! differs is cut into parts of equal width, sized so that after one more cut a part holds about
//! [`LEAF`] records, and a part that small is listed outright. Bytes and round trips therefore grow
//! with the number of differing records and the logarithm of the set, not with the set: 100,000
//! records need two cuts before the listing.

use sha2::{Digest, Sha256};

use crate::doc_id::DocId;
use crate::sync::wire::{Fingerprint, Part, PARTS_MAX};

/// Records a listed part holds on average once the cuts are done.
pub const LEAF: usize = 16;

/// A part with at most this many records on this side is listed rather than cut again. Three times
/// [`LEAF`] so that the chance spread of even keys almost never costs an extra cut.
pub const LIST_MAX: usize = 3 * LEAF;

/// One record as reconciliation sees it.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    /// Its position in the key space.
    pub key: u64,
    /// The record.
    pub doc: &'a DocId,
    /// Digest of its sorted heads.
    pub heads_digest: [u8; 16],
}

/// The key of a record.
pub fn key_of(doc: &DocId) -> u64 {
    let digest = Sha256::digest(doc.as_str().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Sorts items into key order (ties, which only a ground collision makes, by record id), the order
/// both peers fingerprint in.
pub fn sort(items: &mut [Item<'_>]) {
    items.sort_by(|a, b| (a.key, a.doc).cmp(&(b.key, b.doc)));
}

/// The items with keys in `[lo, hi]`, from a sorted slice.
pub fn within<'s, 'a>(items: &'s [Item<'a>], lo: u64, hi: u64) -> &'s [Item<'a>] {
    let start = items.partition_point(|i| i.key < lo);
    let end = items.partition_point(|i| i.key <= hi);
    &items[start..end.max(start)]
}

/// The fingerprint of a run of sorted items.
pub fn fingerprint(items: &[Item<'_>]) -> Fingerprint {
    let mut hasher = Sha256::new();
    for item in items {
        hasher.update(item.doc.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(item.heads_digest);
    }
    let full = hasher.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

/// The part of a range cut into `parts` parts of equal width: `(lo, hi)` of part `index`, or `None`
/// when the range is narrower than the number of parts and this one is empty.
pub fn part_bounds(lo: u64, hi: u64, parts: usize, index: usize) -> Option<(u64, u64)> {
    let width = u128::from(hi.checked_sub(lo)?) + 1;
    let parts = parts.max(1) as u128;
    let at = |i: u128| u128::from(lo) + width * i / parts;
    let start = at(index as u128);
    let end = at(index as u128 + 1).checked_sub(1)?;
    // Both lie in [lo, hi] when index < parts; try_from refuses anything else.
    (start <= end && end <= u128::from(hi))
        .then(|| Some((u64::try_from(start).ok()?, u64::try_from(end).ok()?)))
        .flatten()
}

/// How many parts to cut a differing range holding `count` records into: straight to listable
/// parts when that takes at most [`PARTS_MAX`], else the square root, so two cuts reach them.
pub fn fanout(count: usize) -> usize {
    let leaves = count.div_ceil(LEAF);
    let parts = if leaves <= PARTS_MAX {
        leaves
    } else {
        (leaves as f64).sqrt().ceil() as usize
    };
    parts.clamp(2, PARTS_MAX)
}

/// Cuts `[lo, hi]` into `parts` parts and fingerprints each over `items` (sorted).
pub fn split(items: &[Item<'_>], lo: u64, hi: u64, parts: usize) -> Vec<Part> {
    (0..parts)
        .map(|i| {
            let run = part_bounds(lo, hi, parts, i).map_or(&[][..], |(a, b)| within(items, a, b));
            Part {
                count: u32::try_from(run.len()).unwrap_or(u32::MAX),
                fingerprint: fingerprint(run),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_range_without_gaps_or_overlaps() {
        for (lo, hi, parts) in [(0, u64::MAX, 7), (10, 10, 3), (5, 1000, 128), (0, 1, 2)] {
            let mut next = lo;
            for i in 0..parts {
                let Some((a, b)) = part_bounds(lo, hi, parts, i) else {
                    continue; // an empty part of a range narrower than the fanout
                };
                assert_eq!(a, next, "part {i} of [{lo}, {hi}]");
                next = b.wrapping_add(1);
            }
            assert_eq!(next, hi.wrapping_add(1));
        }
    }

    #[test]
    fn the_fanout_reaches_listable_parts_in_at_most_two_cuts_up_to_a_quarter_million() {
        for count in [1, 40, 2_000, 100_000, 250_000] {
            let first = fanout(count);
            let after = count.div_ceil(first);
            let second = if after <= LIST_MAX { 1 } else { fanout(after) };
            assert!(after.div_ceil(second) <= LIST_MAX, "{count}");
        }
    }
}
