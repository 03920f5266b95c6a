//! Replication scopes: which records a device may hold.
//!
//! A hall's own records — its item stationings, window staff and departments — replicate to that hall
//! and the halls above it (its supervisors up to the city), which approve and oversee them; sibling
//! halls and the villages of other townships never hold them. The trust record, the calendar, the
//! catalogue and the policies replicate to every member.
//!
//! Cases hold personal data (DOMAIN.md "Cross-region cases"; D rules), so a case replicates only to
//! its parties — the accepting and the handling hall — and to the halls that carry it between them:
//! the halls on the tree path from each party up to their lowest common ancestor. A village case
//! handled in another district travels village → township → district → city → district → township,
//! and no sibling township ever holds it. Every other record replicates to every member. The parties
//! are in the case's record id, so a node decides without reading the record.

use crate::hall::HallId;
use crate::identity::DeviceId;
use crate::records::{DocId, DocKind};
use crate::trust::state::TrustState;

fn ancestors(trust: &TrustState, hall: &HallId) -> Vec<HallId> {
    let mut out = vec![hall.clone()];
    // Four levels at most; the bound also stops a cycle in a corrupt state.
    for _ in 0..8 {
        let Some(parent) = out
            .last()
            .and_then(|h| trust.halls().get(h))
            .and_then(|i| i.parent.clone())
        else {
            break;
        };
        out.push(parent);
    }
    out
}

/// True when `hall` is a party to a case between `a` and `h`, or carries it between them.
pub fn carries(trust: &TrustState, hall: &HallId, a: &HallId, h: &HallId) -> bool {
    if hall == a || hall == h {
        return true;
    }
    let up_a = ancestors(trust, a);
    let up_h = ancestors(trust, h);
    let Some(lca) = up_h.iter().find(|x| up_a.contains(x)) else {
        return false;
    };
    let until_lca = |path: &[HallId]| {
        path.iter()
            .position(|x| x == lca)
            .map(|i| path[..=i].contains(hall))
            .unwrap_or(false)
    };
    until_lca(&up_a) || until_lca(&up_h)
}

/// True when `device` may hold `doc`: shared records for every member, a hall's records for it and the
/// halls above it, a case for its parties and carriers.
pub fn in_scope(trust: &TrustState, doc: &DocId, device: &DeviceId) -> bool {
    match doc.kind() {
        DocKind::Case(a, h, _) => trust
            .active_certs_of(device)
            .any(|c| carries(trust, &c.body.hall, a, h)),
        DocKind::Station(hall, _) | DocKind::Staff(hall, _) | DocKind::Department(hall, _) => trust
            .active_certs_of(device)
            .any(|c| trust.is_within(hall, &c.body.hall)),
        DocKind::Trust | DocKind::Item(_) | DocKind::Policy | DocKind::Calendar(_) => true,
    }
}
