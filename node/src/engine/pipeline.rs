//! Ingest of a large batch on every core: two threads check signatures (in batches, see
//! `hallsync_model::change::signatures`; the replica is not needed for that) while the calling
//! thread applies what they checked before, in the batch's order. Small batches are not worth a
//! thread and go straight in.

use hallsync_model::{Checked, IngestReport, Replica, SignedChange};

/// Changes checked and handed over at a time: one signature batch.
pub const CHUNK: usize = 512;

/// The first chunk is small, so applying starts soon after checking does.
const FIRST_CHUNK: usize = 64;

/// Threads checking signatures: the machine's two cores (the applying thread waits on them, and
/// they on it when they are two chunks ahead).
const CHECKERS: usize = 2;

/// Ingests `changes` into `replica`, checking signatures ahead on other threads. The outcome is
/// exactly that of [`Replica::ingest`]; only where the work runs differs.
pub fn ingest_pipelined(replica: &mut Replica, changes: Vec<SignedChange>) -> IngestReport {
    if changes.len() < 2 * CHUNK {
        return replica.ingest(changes);
    }
    let mut chunks: Vec<Vec<SignedChange>> = Vec::new();
    let mut rest = changes.into_iter();
    loop {
        let size = if chunks.is_empty() {
            FIRST_CHUNK
        } else {
            CHUNK
        };
        let chunk: Vec<SignedChange> = rest.by_ref().take(size).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    std::thread::scope(|scope| {
        // Chunk i is checked by checker i mod CHECKERS; the applier reads the checkers in turn, so
        // chunks apply in order. Two chunks in flight a checker: memory stays bounded.
        let count = chunks.len();
        let mut inputs: Vec<Vec<Vec<SignedChange>>> = vec![Vec::new(); CHECKERS];
        for (i, chunk) in chunks.into_iter().enumerate() {
            inputs[i % CHECKERS].push(chunk);
        }
        let mut outputs = Vec::with_capacity(CHECKERS);
        for input in inputs {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Checked>>(2);
            outputs.push(rx);
            scope.spawn(move || {
                for chunk in input {
                    if tx.send(Checked::all(chunk)).is_err() {
                        break;
                    }
                }
            });
        }
        let mut report = IngestReport::default();
        for i in 0..count {
            // A checker stops early only if the applier stopped reading, which it has not.
            let Ok(chunk) = outputs[i % CHECKERS].recv() else {
                break;
            };
            report.absorb(replica.ingest_checked(chunk));
        }
        report
    })
}
