//! Quarantine and retry: order of arrival does not change the outcome.

use hallsync_model::{DocId, Rejection, ScalarValue, SignedChange};

use crate::fixture::{forge_on, fresh, texts, Fed, VILLAGE};

#[test]
fn change_before_its_authors_certificate_waits_in_memory_then_applies() {
    // Goal: the village's proposal delivered before the trust changes that certify the village
    // waits — in memory only, never stored (issue #10) — and applies once they arrive.
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
    assert!(r.quarantine().values().all(|q| q.waiting));
    assert_eq!(r.quarantine_bytes(), 0, "nothing of it counts as kept");
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

/// Changes by the village operator to the catalogue: certified author, out of its scope, so kept.
fn out_of_scope(fed: &Fed, n: u32) -> Vec<SignedChange> {
    (0..n)
        .map(|i| {
            forge_on(
                &fed.origin,
                &fed.village,
                i + 1,
                &DocId::item(&hallsync_model::ItemCode::new("ITEM-1").unwrap()),
                &[("name".into(), ScalarValue::Int(i.into()))],
            )
        })
        .collect()
}

#[test]
fn junk_is_counted_never_kept_and_strangers_changes_never_stored_nor_an_equivocation() {
    // Goal (issue #10): a forged signature is refused and counted, nothing of it kept; a stranger's
    // changes — even two signed under one (actor, sequence) — wait in memory only, within their
    // own bound, evicted oldest first into the refusal count, and are never an equivocation.
    let fed = Fed::new();
    let doc = DocId::item(&hallsync_model::ItemCode::new("ITEM-1").unwrap());
    let stranger: Vec<SignedChange> = (0..(hallsync_model::replica::WAITING_ENTRIES_MAX + 5))
        .map(|i| {
            let value = if i == 1 { "二" } else { "一" };
            let epoch = if i < 2 { 1 } else { i as u32 };
            forge_on(
                &fed.origin,
                &fed.stranger,
                epoch,
                &doc,
                &texts(&[("name", value)]),
            )
        })
        .collect();
    let mut forged = out_of_scope(&fed, 1).remove(0);
    forged.signature[3] ^= 1;
    let mut r = fresh(&fed);
    r.ingest(fed.log.clone());
    let report = r.ingest([stranger, vec![forged]].concat());
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(
        r.quarantine().len(),
        hallsync_model::replica::WAITING_ENTRIES_MAX
    );
    assert!(r.quarantine().values().all(|q| q.waiting));
    assert_eq!(r.quarantine_bytes(), 0);
    assert_eq!(
        r.quarantine_evicted(),
        0,
        "waiting entries are refused, not evicted"
    );
    assert_eq!(r.equivocations().count(), 0);
    assert_eq!(r.refusals().counts.get("unknown_author"), Some(&5));
    assert_eq!(r.refusals().counts.get("bad_signature"), Some(&1));
}

#[test]
fn a_full_quarantine_evicts_its_oldest_and_counts_them() {
    // Goal (issue #10): the quarantine keeps certified authors' changes within a bound in entries
    // and one in bytes; past either, the oldest go first and are counted, and the newest stay.
    let fed = Fed::new();
    let changes = out_of_scope(&fed, 5);
    let mut replica = fresh(&fed);
    replica.set_quarantine_max(2, 1 << 20);
    replica.ingest(fed.log.clone());
    for change in &changes {
        replica.ingest(vec![change.clone()]);
    }
    assert_eq!(replica.quarantine().len(), 2);
    assert_eq!(replica.quarantine_evicted(), 3);
    let kept: Vec<&SignedChange> = replica.quarantine().values().map(|q| &q.envelope).collect();
    assert!(
        kept.contains(&&changes[3]) && kept.contains(&&changes[4]),
        "the newest stay"
    );

    // In bytes: room for about two of them.
    let each = changes[0].change.len() + 160;
    let mut by_bytes = fresh(&fed);
    by_bytes.set_quarantine_max(100, 2 * each + each / 2);
    by_bytes.ingest(fed.log.clone());
    by_bytes.ingest(changes.clone());
    assert_eq!(by_bytes.quarantine().len(), 2);
    assert!(by_bytes.quarantine_bytes() <= 2 * each + each / 2);
    assert_eq!(by_bytes.quarantine_evicted(), 3);
}
