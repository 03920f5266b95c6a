//! Which write rule judges a change, by record kind.

use crate::change::envelope::VerifiedChange;
use crate::change::ops::root_writes;
use crate::change::rejection::Rejection;
use crate::records::approval::APPROVAL_PREFIX;
use crate::records::authority::ChangeCtx;
use crate::records::station::StationChange;
use crate::records::trust_doc::TrustEntries;
use crate::records::{
    calendar_doc, case, department, item, policy, staff, station, trust_doc, DocKind,
};
use crate::replica::doc_state::DocState;
use crate::replica::Replica;
use crate::trust::cert::RecordKind;

/// What an accepted change is, for bookkeeping after it applies.
pub(crate) enum Applied {
    /// Content of a record.
    Content,
    /// An approval or rejection.
    Approval,
    /// Certificates and revocations for the trust state.
    Trust(TrustEntries),
}

static EMPTY: std::sync::LazyLock<DocState> = std::sync::LazyLock::new(DocState::default);

impl From<StationChange> for Applied {
    fn from(class: StationChange) -> Self {
        match class {
            StationChange::Content => Applied::Content,
            StationChange::Approval => Applied::Approval,
        }
    }
}

/// The history of a record, or of an empty one for its first change.
fn history(state: Option<&DocState>) -> crate::records::station::DocHistory<'_> {
    state.unwrap_or(&EMPTY).history()
}

/// A change to a hall's governed record (staff filing, department): content by the hall's rule, or
/// approvals only, each by the decision rule; never both in one change.
fn governed_change(
    writes: &[crate::change::ops::RootWrite],
    content: impl FnOnce() -> Result<(), Rejection>,
    decision: impl Fn(&crate::change::ops::RootWrite) -> Result<(), Rejection>,
) -> Result<Applied, Rejection> {
    let approvals = writes
        .iter()
        .filter(|w| w.key.starts_with(APPROVAL_PREFIX))
        .count();
    if approvals == 0 {
        content().map(|()| Applied::Content)
    } else if approvals == writes.len() {
        writes
            .iter()
            .try_for_each(decision)
            .map(|()| Applied::Approval)
    } else {
        Err(Rejection::shape(
            "a change may not mix a filing with an approval".into(),
        ))
    }
}

impl Replica {
    pub(crate) fn authorize(
        &self,
        verified: &VerifiedChange,
        state: Option<&DocState>,
        decoded: Option<Result<Vec<crate::change::ops::RootWrite>, Rejection>>,
    ) -> Result<Applied, Rejection> {
        let envelope = &verified.envelope;
        let author = &envelope.author;
        // Decoded ahead with the signature check when the caller did (see `Checked`).
        let writes = decoded.unwrap_or_else(|| root_writes(&verified.change))?;
        if let DocKind::Trust = envelope.doc.kind() {
            return trust_doc::authorize(&self.trust, author, &writes).map(Applied::Trust);
        }
        if !self.trust.is_known(author) {
            return Err(Rejection::UnknownAuthor {
                author: author.short(),
            });
        }
        let empty_deps = Default::default();
        let ctx = ChangeCtx {
            trust: &self.trust,
            author,
            doc: &envelope.doc,
            hash: verified.hash(),
            at_ms: verified.change.timestamp(),
            pool_deps: state.map_or(&empty_deps, |s| &s.pool_deps),
        };
        match envelope.doc.kind() {
            DocKind::Trust => Err(Rejection::WrongDocument {
                reason: "trust is judged above".into(),
            }),
            DocKind::Item(code) => item::authorize(&ctx, code, &writes).map(|()| Applied::Content),
            DocKind::Calendar(year) => {
                calendar_doc::authorize(&ctx, *year, &writes).map(|()| Applied::Content)
            }
            DocKind::Staff(hall, person) => governed_change(
                &writes,
                || staff::authorize_content(&ctx, hall, person, &writes),
                |write| {
                    station::authorize_tiered_decision(
                        &ctx,
                        hall,
                        write,
                        verified.change.deps(),
                        &history(state),
                        RecordKind::Staff,
                    )
                },
            ),
            DocKind::Case(accepting, handling, _) => {
                case::authorize(&ctx, accepting, handling, &writes).map(|()| Applied::Content)
            }
            DocKind::Department(hall, dept) => governed_change(
                &writes,
                || department::authorize_content(&ctx, hall, dept, &writes),
                |write| {
                    let history = history(state);
                    station::authorize_tiered_decision(
                        &ctx,
                        hall,
                        write,
                        verified.change.deps(),
                        &history,
                        RecordKind::Stationing,
                    )?;
                    department::check_complete(write, &history)
                },
            ),
            DocKind::Policy => {
                policy::authorize(&ctx, &writes, verified.change.deps(), &history(state))
                    .map(Applied::from)
            }
            DocKind::Station(hall, code) => station::authorize(
                &ctx,
                hall,
                code,
                &writes,
                verified.change.deps(),
                &history(state),
            )
            .map(Applied::from),
        }
    }
}
