//! Pages of records: every listing a person or a script asks for is read a bounded page at a time,
//! so no reply grows with what a node holds and a node of 100 000 records answers as fast as one of
//! a hundred.
//!
//! A page walks the records in id order after a cursor (the id of the last record the previous
//! page showed), opens only the ones its filter on ids lets through, and stops at `limit` entries
//! or after examining [`SCAN_PER_PAGE_MAX`] records (a search that matches little then returns a
//! short page with a cursor, and the caller asks again). Cursors are record ids: stable across
//! changes, so a record written meanwhile is shown once, in its place.

use std::ops::Bound;
use std::sync::Arc;

use serde::Serialize;

use crate::doc_id::DocId;
use crate::replica::{DocState, Replica};

/// Entries in a page when the caller names no limit.
pub const PAGE_LIMIT_DEFAULT: usize = 200;

/// Most entries in one page: a reply stays well under a megabyte or two.
pub const PAGE_LIMIT_MAX: usize = 1_000;

/// Most records one page examines: bounds the work of one request on a node of any size.
pub const SCAN_PER_PAGE_MAX: usize = 20_000;

/// Which page: after `after` (a record id from a previous page's `next`), at most `limit` entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PageRequest {
    /// The cursor: the previous page's `next`.
    #[serde(default)]
    pub after: Option<String>,
    /// Entries wanted (default [`PAGE_LIMIT_DEFAULT`], at most [`PAGE_LIMIT_MAX`]).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl PageRequest {
    /// Everything from the start, a default page at a time.
    pub fn first() -> Self {
        PageRequest::default()
    }

    /// The limit to use: the one asked, within bounds.
    pub fn limit(&self) -> usize {
        self.limit
            .unwrap_or(PAGE_LIMIT_DEFAULT)
            .clamp(1, PAGE_LIMIT_MAX)
    }
}

/// One page of entries, and the cursor of the next (`None`: this was the last).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The entries, in record id order.
    pub entries: Vec<T>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

impl Replica {
    /// A page of the held records whose ids pass `keep`, each turned into an entry by `view`
    /// (`None` leaves a record out).
    pub fn page<T>(
        &self,
        request: &PageRequest,
        keep: impl Fn(&DocId) -> bool,
        mut view: impl FnMut(&DocId, &Arc<DocState>) -> Option<T>,
    ) -> Page<T> {
        let limit = request.limit();
        let after = request.after.as_ref().and_then(|a| a.parse::<DocId>().ok());
        let lower = match &after {
            Some(id) => Bound::Excluded(id),
            None => Bound::Unbounded,
        };
        let mut entries = Vec::new();
        let mut last: Option<&DocId> = None;
        for (examined, id) in self.held_range((lower, Bound::Unbounded)).enumerate() {
            if entries.len() >= limit || examined >= SCAN_PER_PAGE_MAX {
                return Page {
                    entries,
                    next: last.map(|l| l.to_string()),
                };
            }
            last = Some(id);
            if !keep(id) {
                continue;
            }
            if let Some(state) = self.record(id) {
                if let Some(entry) = view(id, &state) {
                    entries.push(entry);
                }
            }
        }
        Page {
            entries,
            next: None,
        }
    }
}
