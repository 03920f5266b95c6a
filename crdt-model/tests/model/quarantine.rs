//! Quarantine and retry: order of arrival does not change the outcome.

use hallsync_model::{DocId, Rejection, ScalarValue, SignedChange};

use crate::fixture::{forge_on, fresh, texts, Fed, VILLAGE};

#[test]
fn change_before_its_authors_certificate_waits_then_applies() {
    // Goal: the village's proposal delivered before the trust changes that certify the village is
    // quarantined as unknown or missing dependency, and applied once they arrive.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let village = fed.village.clone();
    let proposal = fed.propose(&village, VILLAGE, "ITEM-1").unwrap();
    let mut r = fresh(&fed);
    let first = r.ingest(vec![proposal.clone()]);
    assert!(
        matches!(first.quarantined[0].1, Rejection::UnknownAuthor { .. }),
        "{first:?}"
    );
    let rest: Vec<_> = fed
        .log
        .iter()
        .filter(|e| **e != proposal)
        .cloned()
        .collect();
    let later = r.ingest(rest);
    assert!(later.applied.contains(&proposal));
    assert!(r.quarantine().is_empty());
    assert_eq!(r.state_digest(), fed.origin.state_digest());
}

#[test]
fn change_before_its_dependency_waits_then_applies() {
    // Goal: a change whose dependency has not arrived waits as missing_dependency.
    let mut fed = Fed::new();
    let first = fed.create_item("ITEM-1");
    let city = fed.city.clone();
    let doc = first.doc.clone();
    let second = fed
        .write(
            &city,
            &doc,
            vec![("name".into(), ScalarValue::Str("新名称".into()))],
        )
        .unwrap();
    let mut r = fresh(&fed);
    let trust: Vec<_> = fed.log.iter().filter(|e| e.doc != doc).cloned().collect();
    r.ingest(trust);
    let report = r.ingest(vec![second.clone()]);
    assert!(matches!(
        report.quarantined[0].1,
        Rejection::MissingDependency { missing: 1 }
    ));
    let report = r.ingest(vec![first]);
    assert_eq!(report.applied.len(), 2);
    assert_eq!(r.items()[0].fields.name, "新名称");
}

#[test]
fn duplicates_are_counted_and_not_applied_twice() {
    // Goal: the same envelope delivered again changes nothing.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let mut r = fresh(&fed);
    r.ingest(fed.log.clone());
    let digest = r.state_digest();
    let again = r.ingest(fed.log.clone());
    assert_eq!(again.duplicates, fed.log.len());
    assert!(again.applied.is_empty());
    assert_eq!(r.state_digest(), digest);
}

#[test]
fn two_changes_with_one_actor_and_sequence_are_an_equivocation() {
    // Goal: a device that signs two different changes as the same (actor, seq) gets both held and
    // flagged; neither silently wins.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let base = fresh(&fed);
    let mut base = base;
    base.ingest(fed.log.clone());
    let doc: hallsync_model::DocId = "item/ITEM-1".parse().unwrap();
    let a = forge_on(
        &base,
        &fed.city,
        77,
        &doc,
        &[("name".into(), ScalarValue::Str("甲".into()))],
    );
    let b = forge_on(
        &base,
        &fed.city,
        77,
        &doc,
        &[("name".into(), ScalarValue::Str("乙".into()))],
    );
    assert_ne!(a, b);
    // Neither wins, whichever arrives first and whether they arrive together or apart.
    let report = base.ingest(vec![a.clone(), b.clone()]);
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(report.quarantined.len(), 2);
    assert!(report
        .quarantined
        .iter()
        .all(|(_, r)| matches!(r, Rejection::Equivocation { .. })));
    assert_eq!(base.equivocations().count(), 1);
    let mut apart = fresh(&fed);
    apart.ingest(fed.log.clone());
    apart.ingest(vec![b]);
    let report = apart.ingest(vec![a]);
    assert!(report.rebuilt, "the applied half of the pair is taken back");
    assert_eq!(apart.state_digest(), base.state_digest());
    assert_eq!(apart.quarantine().len(), 2);
}

#[test]
fn quarantine_is_bounded() {
    // Goal: a peer flooding forged changes cannot grow the quarantine past its limit.
    let mut fed = Fed::new();
    fed.create_item("ITEM-1");
    let mut r = fresh(&fed);
    r.set_quarantine_max(3);
    let doc: hallsync_model::DocId = "item/ITEM-1".parse().unwrap();
    let junk: Vec<_> = (0..10u32)
        .map(|i| {
            forge_on(
                &fed.origin,
                &fed.stranger,
                i,
                &doc,
                &[("name".into(), ScalarValue::Int(i.into()))],
            )
        })
        .collect();
    r.ingest(junk);
    assert_eq!(r.quarantine().len(), 3);
}

#[test]
fn a_full_quarantine_counts_what_it_refuses() {
    // Goal (issue #10): when the quarantine is full, what it cannot keep is counted (status shows
    // it and the node warns), not dropped silently; what it holds stays.
    let fed = Fed::new();
    let stranger = fed.stranger.clone();
    let junk: Vec<SignedChange> = (0..5)
        .map(|i| {
            forge_on(
                &fed.origin,
                &stranger,
                i,
                &DocId::item(&hallsync_model::ItemCode::new("ITEM-1").unwrap()),
                &texts(&[("name", "垃圾")]),
            )
        })
        .collect();
    let mut replica = fresh(&fed);
    replica.set_quarantine_max(2);
    replica.ingest(fed.log.clone());
    let report = replica.ingest(junk);
    assert_eq!(report.quarantined.len(), 2);
    assert_eq!(replica.quarantine().len(), 2);
    assert_eq!(replica.quarantine_dropped(), 3);
}
