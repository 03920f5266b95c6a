//! A record's fields as of any heads, read from its changes' operations.
//!
//! Records are flat maps of scalars (`change::ops` refuses anything else), so what automerge's
//! `get_at` returns for a root key can be read off the operations themselves: among the puts of
//! that key in the ancestry of the heads, those no operation of that ancestry overwrote (named in
//! its `pred`) are visible, and of several the one with the highest operation id wins, ordered as
//! automerge orders them (counter, then actor). Rules that judge an approval read the approved
//! version this way, so judging a change never opens the record's document. A property test
//! (`fields_read_from_operations_equal_automerge_s`) compares this with automerge on random
//! concurrent histories.

use std::collections::{BTreeMap, BTreeSet};

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{ChangeHash, ScalarValue};

use crate::change::envelope::parse_change;
use crate::replica::DocState;

/// An operation id as automerge orders them: counter, then actor bytes.
type OpId = (u64, Vec<u8>);

impl crate::records::station::FieldsAt for DocState {
    fn fields_at(&self, heads: &[ChangeHash]) -> Option<BTreeMap<String, ScalarValue>> {
        DocState::fields_at(self, heads)
    }
}

impl DocState {
    /// The record's root fields as of `heads`, or `None` when one of the heads is not applied here
    /// (as automerge refuses to read at unknown heads).
    pub fn fields_at(&self, heads: &[ChangeHash]) -> Option<BTreeMap<String, ScalarValue>> {
        if heads.iter().any(|h| !self.deps.contains_key(h)) {
            return None;
        }
        let mut ancestry: BTreeSet<ChangeHash> = BTreeSet::new();
        let mut stack: Vec<ChangeHash> = heads.to_vec();
        while let Some(hash) = stack.pop() {
            if ancestry.insert(hash) {
                stack.extend(self.deps.get(&hash).into_iter().flatten().copied());
            }
        }
        let mut puts: BTreeMap<String, Vec<(OpId, ScalarValue)>> = BTreeMap::new();
        let mut overwritten: BTreeSet<(String, OpId)> = BTreeSet::new();
        for hash in &ancestry {
            let change = self
                .envelopes
                .get(hash)
                .and_then(|e| parse_change(&e.change).ok())?;
            // Applied changes decoded once already (authorization reads their writes); a panic
            // here would be a store that changed under us, and reads nothing.
            let decoded =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change.decode())).ok()?;
            let actor = change.actor_id().to_bytes().to_vec();
            let start = change.start_op().get();
            for (i, op) in decoded.operations.into_iter().enumerate() {
                let (ObjectId::Root, Key::Map(key)) = (&op.obj, &op.key) else {
                    continue;
                };
                let key = key.to_string();
                for pred in op.pred.iter() {
                    overwritten.insert((key.clone(), (pred.0, pred.1.to_bytes().to_vec())));
                }
                if let OpType::Put(value) = op.action {
                    let id = (start + i as u64, actor.clone());
                    puts.entry(key).or_default().push((id, value));
                }
            }
        }
        let fields = puts
            .into_iter()
            .filter_map(|(key, ops)| {
                let winner = ops
                    .into_iter()
                    .filter(|(id, _)| !overwritten.contains(&(key.clone(), id.clone())))
                    .max_by(|a, b| a.0.cmp(&b.0))?;
                Some((key, winner.1))
            })
            .collect();
        Some(fields)
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ReadDoc, ROOT};
    use proptest::prelude::*;

    use super::*;
    use crate::change::envelope::SignedChange;
    use crate::doc_id::DocId;
    use crate::identity::DeviceKey;

    /// One step of a random history: an actor puts, deletes, or merges another actor's document.
    #[derive(Clone, Debug)]
    enum Step {
        Put(usize, usize, i64),
        Text(usize, usize, u8),
        Delete(usize, usize),
        Merge(usize, usize),
    }

    const KEYS: [&str; 3] = ["action", "reason", "basis"];
    const ACTORS: usize = 3;

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0..ACTORS, 0..KEYS.len(), -3i64..3).prop_map(|(a, k, v)| Step::Put(a, k, v)),
            (0..ACTORS, 0..KEYS.len(), 0u8..4).prop_map(|(a, k, v)| Step::Text(a, k, v)),
            (0..ACTORS, 0..KEYS.len()).prop_map(|(a, k)| Step::Delete(a, k)),
            (0..ACTORS, 0..ACTORS).prop_map(|(a, b)| Step::Merge(a, b)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn fields_read_from_operations_equal_automerge_s(steps in prop::collection::vec(step(), 1..40)) {
            // Goal: for concurrent puts, deletes and merges by several actors, the fields read off
            // the operations at every actor's heads are what automerge reads at those heads.
            let key = DeviceKey::from_seed([9; 32]);
            let mut docs: Vec<Automerge> = (0..ACTORS)
                .map(|a| Automerge::new().with_actor(key.device_id().actor(a as u32)))
                .collect();
            let mut all_heads: Vec<Vec<ChangeHash>> = Vec::new();
            for step in steps {
                match step {
                    Step::Put(a, k, v) => {
                        let mut tx = docs[a].transaction();
                        tx.put(ROOT, KEYS[k], v).unwrap();
                        tx.commit();
                    }
                    Step::Text(a, k, v) => {
                        let mut tx = docs[a].transaction();
                        tx.put(ROOT, KEYS[k], format!("t{v}")).unwrap();
                        tx.commit();
                    }
                    Step::Delete(a, k) => {
                        if docs[a].get(ROOT, KEYS[k]).unwrap().is_some() {
                            let mut tx = docs[a].transaction();
                            tx.delete(ROOT, KEYS[k]).unwrap();
                            tx.commit();
                        }
                    }
                    Step::Merge(a, b) if a != b => {
                        let mut other = docs[b].clone();
                        docs[a].merge(&mut other).unwrap();
                    }
                    Step::Merge(..) => {}
                }
                for doc in &docs {
                    all_heads.push(doc.get_heads());
                }
            }
            let mut full = Automerge::new();
            for doc in &mut docs {
                full.merge(doc).unwrap();
            }
            all_heads.push(full.get_heads());
            let mut state = DocState::default();
            let id: DocId = "policy".parse().unwrap();
            for change in full.get_changes(&[]) {
                let envelope = SignedChange::sign(id.clone(), &change, &key);
                state.apply(&envelope, change.clone(), true, None);
            }
            for heads in all_heads.iter().filter(|h| !h.is_empty()) {
                let fields = state.fields_at(heads).unwrap();
                for k in KEYS {
                    let expected = full
                        .get_at(ROOT, k, heads)
                        .unwrap()
                        .and_then(|(v, _)| v.as_scalar().cloned());
                    prop_assert_eq!(fields.get(k).cloned(), expected, "key {} at {:?}", k, heads);
                }
            }
        }
    }
}
