//! The sequence rule: an actor's changes to a record are numbered 1, 2, 3 …, so automerge never
//! refuses a change the rules accepted and a record need not be open to apply one.

use automerge::{Change, ChangeHash, ExpandedChange};
use hallsync_model::{DocId, Rejection, Replica, SignedChange};

use crate::fixture::{fresh, texts, Fed};

/// Three edits of one item by the city, after the federation's trust changes.
fn three_edits(fed: &mut Fed) -> (DocId, Vec<SignedChange>) {
    let first = fed.create_item("ITEM-1");
    let doc = first.doc.clone();
    let city = fed.city.clone();
    let second = fed
        .write(&city, &doc, texts(&[("name", "事项 二")]))
        .unwrap();
    let third = fed
        .write(&city, &doc, texts(&[("name", "事项 三")]))
        .unwrap();
    (doc, vec![first, second, third])
}

fn parse(envelope: &SignedChange) -> Change {
    Change::from_bytes(envelope.change.clone()).unwrap()
}

/// `base` re-numbered `seq`, depending on `deps`, with its operations moved past `after`'s, and
/// signed by the city: what a certified device could craft by hand.
fn crafted(
    fed: &Fed,
    doc: &DocId,
    base: &SignedChange,
    seq: u64,
    deps: Vec<ChangeHash>,
    after: &Change,
    extra_bytes: Vec<u8>,
) -> SignedChange {
    let mut expanded = ExpandedChange::from(&parse(base));
    expanded.seq = seq;
    expanded.deps = deps;
    expanded.start_op = std::num::NonZeroU64::new(after.max_op() + 1).unwrap();
    expanded.hash = None;
    expanded.extra_bytes = extra_bytes;
    SignedChange::sign(doc.clone(), &Change::from(expanded), &fed.city)
}

fn heads(replica: &Replica, doc: &DocId) -> Vec<ChangeHash> {
    replica.heads_of(doc).unwrap_or_default()
}

#[test]
fn a_change_numbered_past_the_next_waits_for_those_between_in_any_order() {
    // Goal: change 4 of an actor that skips change 3 in its dependencies applies only once change
    // 3 has, whichever arrives first; the record's heads, and its document, are then the same.
    let mut fed = Fed::new();
    let (doc, edits) = three_edits(&mut fed);
    let third = parse(&edits[2]);
    let skipping = crafted(
        &fed,
        &doc,
        &edits[2],
        4,
        vec![parse(&edits[1]).hash()],
        &third,
        Vec::new(),
    );
    let trust: Vec<SignedChange> = fed.log.iter().filter(|e| e.doc != doc).cloned().collect();

    let mut early = fresh(&fed);
    early.ingest(trust.clone());
    early.ingest(edits[..2].to_vec());
    let report = early.ingest(vec![skipping.clone()]);
    assert!(matches!(
        report.quarantined.as_slice(),
        [(_, Rejection::MissingDependency { missing: 1 })]
    ));
    let report = early.ingest(vec![edits[2].clone()]);
    assert_eq!(report.applied.len(), 2, "change 3, then change 4 retried");
    assert!(early.quarantine().is_empty());

    let mut late = fresh(&fed);
    late.ingest(trust);
    let report = late.ingest(vec![
        edits[0].clone(),
        edits[1].clone(),
        edits[2].clone(),
        skipping.clone(),
    ]);
    assert_eq!(report.applied.len(), 4);

    assert_eq!(heads(&early, &doc), heads(&late, &doc));
    let opened = early.record(&doc).unwrap();
    let mut doc_heads = opened.doc().get_heads();
    doc_heads.sort();
    assert_eq!(
        doc_heads,
        heads(&late, &doc),
        "automerge holds every change"
    );
}

#[test]
fn a_change_that_never_gets_its_predecessor_waits_everywhere() {
    // Goal: change 4 without any change 3 applies nowhere, so no replica holds what others lack.
    let mut fed = Fed::new();
    let (doc, edits) = three_edits(&mut fed);
    let skipping = crafted(
        &fed,
        &doc,
        &edits[1],
        4,
        vec![parse(&edits[0]).hash()],
        &parse(&edits[2]),
        Vec::new(),
    );
    let mut replica = fresh(&fed);
    let mut log: Vec<SignedChange> = fed.log.iter().filter(|e| e.doc != doc).cloned().collect();
    log.extend([edits[0].clone(), skipping]);
    let report = replica.ingest(log);
    assert_eq!(report.quarantined.len(), 1);
    assert_eq!(heads(&replica, &doc), vec![parse(&edits[0]).hash()]);
}

#[test]
fn an_automerge_author_footer_is_malformed() {
    // Goal: automerge refuses a second author footer for an actor, which would make the outcome
    // depend on arrival order; hallsync names the signer in the envelope and refuses footers.
    let mut fed = Fed::new();
    let (doc, edits) = three_edits(&mut fed);
    let footer = vec![1, 3, b'c', b'i', b't'];
    let with_footer = crafted(
        &fed,
        &doc,
        &edits[2],
        3,
        vec![parse(&edits[1]).hash()],
        &parse(&edits[1]),
        footer,
    );
    assert!(
        parse(&with_footer).author().is_some(),
        "the footer is there"
    );
    assert!(matches!(
        with_footer.verify().unwrap_err(),
        Rejection::Malformed { .. }
    ));
}
