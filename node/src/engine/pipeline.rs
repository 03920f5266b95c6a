//! Ingest of a large batch on two cores: one thread checks signatures (the replica is not needed
//! for that) while the calling thread applies the part checked before. Small batches are not worth
//! a thread and go straight in.

use hallsync_model::{Checked, IngestReport, Replica, SignedChange};

/// Changes checked and handed over at a time.
pub const CHUNK: usize = 512;

/// Ingests `changes` into `replica`, checking signatures ahead on another thread. The outcome is
/// exactly that of [`Replica::ingest`]; only where the work runs differs.
pub fn ingest_pipelined(replica: &mut Replica, changes: Vec<SignedChange>) -> IngestReport {
    if changes.len() < 2 * CHUNK {
        return replica.ingest(changes);
    }
    std::thread::scope(|scope| {
        // Two chunks in flight at most: memory stays bounded whatever the batch size.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Checked>>(2);
        scope.spawn(move || {
            let mut rest = changes.into_iter();
            loop {
                let chunk: Vec<Checked> = rest.by_ref().take(CHUNK).map(Checked::new).collect();
                if chunk.is_empty() || tx.send(chunk).is_err() {
                    break;
                }
            }
        });
        let mut report = IngestReport::default();
        for chunk in rx {
            report.absorb(replica.ingest_checked(chunk));
        }
        report
    })
}
