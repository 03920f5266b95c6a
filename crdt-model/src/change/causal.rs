//! The causal past of a set of changes, from each change's dependencies: what an approval covers,
//! what a revocation keeps, what a peer already holds.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ChangeHash;

/// Every change in the causal past of `heads`, heads included, given each change's dependencies.
pub fn closure(
    heads: &[ChangeHash],
    deps: &BTreeMap<ChangeHash, Vec<ChangeHash>>,
) -> BTreeSet<ChangeHash> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<ChangeHash> = heads.to_vec();
    while let Some(hash) = stack.pop() {
        if seen.insert(hash) {
            if let Some(parents) = deps.get(&hash) {
                stack.extend(parents.iter().copied());
            }
        }
    }
    seen
}
