//! What a forger sends: catalogue changes signed by a key with no certificate, or claiming the city
//! administrator as author while signed by another key.

use automerge::transaction::Transactable;
use hallsync_model::{DeviceId, DeviceKey, DocId, ItemCode, SignedChange};

/// A forged change to a catalogue item; with `impersonate`, the envelope names that author.
pub fn forged_item_change(
    stranger: &DeviceKey,
    now_ms: i64,
    impersonate: Option<DeviceId>,
) -> Option<SignedChange> {
    let code = ItemCode::new("442000099000").ok()?;
    let doc = DocId::item(&code);
    let mut am = automerge::Automerge::new();
    am.set_actor(stranger.device_id().actor(0));
    let mut tx = am.transaction();
    tx.put(automerge::ROOT, "name", format!("伪造 {now_ms}"))
        .ok()?;
    tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now_ms));
    let mut env = SignedChange::sign(doc, &am.get_last_local_change()?, stranger);
    if let Some(author) = impersonate {
        env.author = author;
    }
    Some(env)
}
