//! D1: a party erases an archived case's personal data once `cases.retention_days` have passed
//! since it was archived (or at once, with `hallsync case erase`): it writes the signed erasure,
//! and every holder, this node first, erases the sealed parts on applying it (see
//! [`hallsync_model::case_parts`]).

use hallsync_model::{DocId, DocKind, HallId};
use serde_json::Value;

use super::response::{encode, Written};
use super::{log_parts, now_ms, Engine};
use crate::error::NodeError;

/// Records looked at per tick by the retention scan: the scan costs a bounded step each second,
/// and goes over 100 000 records in a few minutes.
pub const SCAN_RECORDS_PER_TICK: usize = 512;

/// Time between the starts of two passes of the retention scan: retention is counted in days, so an
/// hour late is nothing, and a store of years of cases is not read from disk without pause.
pub const SCAN_PASS_EVERY_MS: i64 = 3_600_000;

const DAY_MS: i64 = 86_400_000;

impl Engine {
    /// One step of the retention scan (on every tick of a running node): erases the personal data
    /// of the archived cases this hall is a party to whose retention has passed, notes parts that
    /// are missing, finishes erasures a crash interrupted. Returns the cases erased.
    ///
    /// # Errors
    /// The store's failure while writing an erasure.
    pub fn erase_due_cases(&mut self) -> Result<Vec<DocId>, NodeError> {
        let me = HallId::new(&self.config.node.hall)?;
        let retention_ms = i64::from(self.config.cases.retention_days).saturating_mul(DAY_MS);
        let now = now_ms();
        if self.case_scan.is_none() {
            if now < self.case_scan_next_pass_ms {
                return Ok(Vec::new());
            }
            self.case_scan_next_pass_ms = now.saturating_add(SCAN_PASS_EVERY_MS);
        }
        let cursor = self.case_scan.take();
        let (scan, report) = self
            .replica_mut()?
            .scan_cases(cursor.as_ref(), SCAN_RECORDS_PER_TICK);
        log_parts(&report);
        self.case_scan = scan.next;
        let mut erased = Vec::new();
        for (doc, archived_at) in scan.archived {
            let DocKind::Case(accepting, handling, _) = doc.kind() else {
                continue;
            };
            if (accepting != &me && handling != &me)
                || archived_at.saturating_add(retention_ms) > now
            {
                continue;
            }
            let writes = match hallsync_model::entry::case::erase(self.replica()?, &doc, &me, now) {
                Ok(w) => w,
                Err(e) => {
                    tracing::debug!("{e}");
                    continue;
                }
            };
            match self.author(&doc, &writes) {
                Ok(_) => {
                    tracing::info!(
                        "erased the personal data of case {doc}: archived more than {} days ago (cases.retention_days, D1)",
                        self.config.cases.retention_days
                    );
                    erased.push(doc);
                }
                // This device may not write for its hall (an operator without case rights): the
                // other party's node erases it.
                Err(NodeError::Refused(reason)) => tracing::debug!("{doc}: {reason}"),
                Err(e) => return Err(e),
            }
        }
        Ok(erased)
    }

    /// Erases archived case `case`'s personal data now, whatever is left of its retention (an
    /// applicant's request, PIPL 47). This hall must be a party.
    ///
    /// # Errors
    /// [`NodeError::NotAllowed`] for a case not held, not archived, already erased or not this
    /// hall's.
    pub fn case_erase(&mut self, case: &str) -> Result<Value, NodeError> {
        let doc: DocId = case.parse()?;
        let me = HallId::new(&self.config.node.hall)?;
        let writes = hallsync_model::entry::case::erase(self.replica()?, &doc, &me, now_ms())?;
        let envelope = self.author(&doc, &writes)?;
        let mut out = Written::of(&envelope);
        out.case = self.replica()?.case(&doc, Some(now_ms()));
        Ok(encode(&out))
    }
}
