//! Replication scopes: which records a device may hold.
//!
//! A hall's own records — its item stationings, window staff and departments — replicate to that hall
//! and the halls above it (its supervisors up to the city), which approve and oversee them; sibling
//! halls and the villages of other townships never hold them. The trust record, the calendar, the
//! catalogue and the policies replicate to every member. A device that is not a member now holds
//! nothing, except that a revoked one still receives the trust record that revokes it.
//!
//! Cases hold personal data (DOMAIN.md "Cross-region cases"; D rules), so a case replicates only to
//! its parties — the accepting and the handling hall — and to the halls that carry it between them:
//! the halls on the tree path from each party up to their lowest common ancestor. A village case
//! handled in another district travels village → township → district → city → district → township,
//! and no sibling township ever holds it. Every other record replicates to every member. The parties
//! are in the case's record id, so a node decides without reading the record.

use crate::doc_id::{DocId, DocKind};
use crate::hall::HallId;
use crate::identity::DeviceId;
use crate::trust::membership::is_member;
use crate::trust::state::TrustState;

/// The halls on a case's way: each party and the halls above it up to their lowest common ancestor
/// (only the parties when they share none).
fn case_path<'a>(trust: &'a TrustState, a: &'a HallId, h: &'a HallId) -> Vec<&'a HallId> {
    let up_a: Vec<&HallId> = trust.lineage(a).collect();
    let up_h: Vec<&HallId> = trust.lineage(h).collect();
    let Some(lca) = up_h.iter().find(|x| up_a.contains(x)).copied() else {
        return vec![a, h];
    };
    let until = |path: Vec<&'a HallId>| {
        let end = path.iter().position(|x| *x == lca).unwrap_or(0);
        path.into_iter().take(end + 1)
    };
    let mut path: Vec<&HallId> = until(up_a).collect();
    path.extend(until(up_h).filter(|x| *x != lca));
    path
}

/// The halls whose devices may hold `doc`, or `None` when every member may: a case's parties and
/// carriers, a hall's own records' hall and the halls above it. The one statement of scope that
/// [`in_scope`] and the simulator's convergence check both read.
pub fn holders<'a>(trust: &'a TrustState, doc: &'a DocId) -> Option<Vec<&'a HallId>> {
    match doc.kind() {
        DocKind::Case(a, h, _) => Some(case_path(trust, a, h)),
        DocKind::Station(hall, _) | DocKind::Staff(hall, _) | DocKind::Department(hall, _) => {
            Some(trust.lineage(hall).collect())
        }
        DocKind::Trust | DocKind::Item(_) | DocKind::Policy | DocKind::Calendar(_) => None,
    }
}

/// True when `hall` is a party to a case between `a` and `h`, or carries it between them.
pub fn carries(trust: &TrustState, hall: &HallId, a: &HallId, h: &HallId) -> bool {
    case_path(trust, a, h).contains(&hall)
}

/// True when `device` may hold `doc`: shared records for every member, a hall's records for it and the
/// halls above it, a case for its parties and carriers. A device with no active certificate holds
/// nothing but the trust record, and that only when it was once a member: a revoked device learns
/// of its revocation (so its operator sees it and its own later writes are refused there too) and
/// receives nothing written since; a device this node never certified receives nothing at all.
pub fn in_scope(trust: &TrustState, doc: &DocId, device: &DeviceId) -> bool {
    if !is_member(trust, device) {
        return matches!(doc.kind(), DocKind::Trust) && trust.is_known(device);
    }
    match holders(trust, doc) {
        None => true,
        Some(halls) => trust
            .active_certs_of(device)
            .any(|c| halls.contains(&&c.body.hall)),
    }
}
