//! The trust state: which certificates are valid, the hall tree they describe, and who may do what.
//!
//! Validity is a fixpoint over a *set* of certificates, so it does not depend on the order in which
//! they arrived: a certificate is valid when its signature holds and its issuer holds a valid
//! administrator certificate whose jurisdiction covers the certified hall (or it is the genesis key's
//! own root certificate). Adding certificates can only make more of them valid, never fewer; the
//! revocation of issue #3 will be the one deliberate exception.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::TrustError;
use crate::hall::{HallId, HallInfo, Level};
use crate::identity::DeviceId;
use crate::trust::cert::{CertId, Certificate, Role};
use crate::trust::genesis::Genesis;

/// Certificates a network may hold; a bound on the fixpoint's work and on memory.
pub const CERTS_MAX: usize = 100_000;

/// The certificates a node knows and what follows from them.
#[derive(Clone, Debug)]
pub struct TrustState {
    genesis: Genesis,
    known: BTreeMap<CertId, Certificate>,
    valid: BTreeMap<CertId, Certificate>,
    by_holder: BTreeMap<DeviceId, Vec<CertId>>,
    halls: BTreeMap<HallId, HallInfo>,
}

impl TrustState {
    /// An empty trust state for the network rooted at `genesis`.
    pub fn new(genesis: Genesis) -> Self {
        TrustState {
            genesis,
            known: BTreeMap::new(),
            valid: BTreeMap::new(),
            by_holder: BTreeMap::new(),
            halls: BTreeMap::new(),
        }
    }

    /// The network's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Adds certificates and recomputes validity; returns true if the set of valid ones changed.
    ///
    /// Certificates whose signature fails are ignored: they cannot become valid.
    pub fn add(&mut self, certs: impl IntoIterator<Item = Certificate>) -> bool {
        let mut added = false;
        for cert in certs {
            if self.known.len() >= CERTS_MAX || !cert.signature_ok() {
                continue;
            }
            added |= self.known.insert(cert.id(), cert).is_none();
        }
        if !added {
            return false;
        }
        let before = self.valid.len();
        self.recompute();
        self.valid.len() != before
    }

    fn recompute(&mut self) {
        self.valid.clear();
        self.by_holder.clear();
        self.halls.clear();
        // Candidates in a fixed order (issue time, then id), so hall definitions are deterministic.
        let mut pending: Vec<(i64, CertId)> = self
            .known
            .iter()
            .map(|(id, c)| (c.body.issued_at_ms, id.clone()))
            .collect();
        pending.sort();
        // Each pass admits every candidate whose issuer is already valid; a chain is at most a few
        // levels deep, so few passes are needed, and the count of passes is bounded by the candidates.
        loop {
            let mut admitted = false;
            let mut still = Vec::with_capacity(pending.len());
            for (at, id) in pending {
                let Some(cert) = self.known.get(&id).cloned() else {
                    continue;
                };
                if self.check_authority(&cert).is_ok() {
                    self.admit(cert);
                    admitted = true;
                } else {
                    still.push((at, id));
                }
            }
            pending = still;
            if !admitted || pending.is_empty() {
                break;
            }
        }
    }

    fn admit(&mut self, cert: Certificate) {
        let body = &cert.body;
        self.halls
            .entry(body.hall.clone())
            .or_insert_with(|| HallInfo {
                id: body.hall.clone(),
                level: body.level,
                parent: body.parent.clone(),
                name: body.hall_name.clone(),
            });
        let id = cert.id();
        self.by_holder
            .entry(body.holder)
            .or_default()
            .push(id.clone());
        self.valid.insert(id, cert);
    }

    /// Whether `cert` may be issued given the currently valid certificates: the check an
    /// administrator's node runs before `invite`, and the rule every receiver applies.
    ///
    /// # Errors
    /// The first rule `cert` breaks, as a [`TrustError`].
    pub fn check_issue(&self, cert: &Certificate) -> Result<(), TrustError> {
        if !cert.signature_ok() {
            return Err(TrustError::BadCertSignature { cert: cert.id() });
        }
        self.check_authority(cert)
    }

    /// The authority half of [`Self::check_issue`], for certificates whose signature was checked on entry.
    fn check_authority(&self, cert: &Certificate) -> Result<(), TrustError> {
        let body = &cert.body;
        if body.issuer == self.genesis.key && body.holder == self.genesis.key {
            // The root certificate: the genesis key's own, for the city centre.
            return if body.level == Level::City && body.parent.is_none() && body.role == Role::Admin
            {
                Ok(())
            } else {
                Err(TrustError::BadRoot)
            };
        }
        self.check_shape(body.level, body.parent.as_ref(), &body.hall)?;
        let parent = body.parent.as_ref().ok_or(TrustError::BadRoot)?;
        let covered = self
            .valid_certs_of(&body.issuer)
            .filter(|c| c.body.role == Role::Admin)
            .any(|c| self.is_within(parent, &c.body.hall) || body.hall == c.body.hall);
        if covered {
            Ok(())
        } else {
            Err(TrustError::OutsideJurisdiction {
                issuer: body.issuer.short(),
                hall: body.hall.to_string(),
            })
        }
    }

    /// Checks that a hall's declared level and parent agree with the tree already known.
    fn check_shape(
        &self,
        level: Level,
        parent: Option<&HallId>,
        hall: &HallId,
    ) -> Result<(), TrustError> {
        if let Some(known) = self.halls.get(hall) {
            if known.level != level || known.parent.as_ref() != parent {
                return Err(TrustError::HallConflict {
                    hall: hall.to_string(),
                });
            }
        }
        let Some(parent) = parent else {
            return Err(TrustError::BadRoot);
        };
        let parent_level =
            self.halls
                .get(parent)
                .map(|h| h.level)
                .ok_or_else(|| TrustError::UnknownHall {
                    hall: parent.to_string(),
                })?;
        if parent_level >= level {
            return Err(TrustError::LevelOrder {
                hall: hall.to_string(),
                level,
                parent_level,
            });
        }
        Ok(())
    }

    /// True when `hall` is `ancestor` or lies below it in the hall tree.
    pub fn is_within(&self, hall: &HallId, ancestor: &HallId) -> bool {
        let mut current = Some(hall.clone());
        // The tree has at most four levels; the bound also stops a cycle in a corrupt state.
        for _ in 0..8 {
            match current {
                Some(h) if &h == ancestor => return true,
                Some(h) => current = self.halls.get(&h).and_then(|i| i.parent.clone()),
                None => return false,
            }
        }
        false
    }

    /// The valid certificates held by `device`.
    pub fn valid_certs_of<'a>(
        &'a self,
        device: &'a DeviceId,
    ) -> impl Iterator<Item = &'a Certificate> + 'a {
        self.by_holder
            .get(device)
            .into_iter()
            .flatten()
            .filter_map(|id| self.valid.get(id))
    }

    /// True when `device` holds a valid certificate with `role` for `hall`.
    pub fn holds(&self, device: &DeviceId, role: Role, hall: &HallId) -> bool {
        self.valid_certs_of(device)
            .any(|c| c.body.role == role && &c.body.hall == hall)
    }

    /// True when `device` holds any valid certificate at all.
    pub fn is_known(&self, device: &DeviceId) -> bool {
        self.valid_certs_of(device).next().is_some()
    }

    /// The hall whose administrators approve `hall`'s filings: its parent, or itself for the city centre
    /// (DOMAIN.md "Halls and levels").
    pub fn supervisor_of(&self, hall: &HallId) -> Option<HallId> {
        let info = self.halls.get(hall)?;
        Some(info.parent.clone().unwrap_or_else(|| hall.clone()))
    }

    /// True when `device` is an administrator of the tier that approves `hall`.
    pub fn may_approve(&self, device: &DeviceId, hall: &HallId) -> bool {
        self.supervisor_of(hall)
            .is_some_and(|sup| self.holds(device, Role::Admin, &sup))
    }

    /// Known halls, by id.
    pub fn halls(&self) -> &BTreeMap<HallId, HallInfo> {
        &self.halls
    }

    /// Valid certificates, by id.
    pub fn valid(&self) -> &BTreeMap<CertId, Certificate> {
        &self.valid
    }

    /// Every certificate whose signature holds, valid or not yet.
    pub fn known(&self) -> &BTreeMap<CertId, Certificate> {
        &self.known
    }

    /// The chain from `cert` up to the root, for invitation tokens and audits (cert first).
    pub fn chain(&self, cert: &CertId) -> Vec<Certificate> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut current = self.valid.get(cert).cloned();
        while let Some(c) = current {
            if !seen.insert(c.id()) {
                break;
            }
            let issuer = c.body.issuer;
            let is_root = issuer == c.body.holder;
            let hall = c.body.parent.clone();
            out.push(c);
            if is_root {
                break;
            }
            current = self
                .valid_certs_of(&issuer)
                .filter(|p| p.body.role == Role::Admin)
                .find(|p| {
                    hall.as_ref()
                        .is_some_and(|h| self.is_within(h, &p.body.hall))
                })
                .cloned();
        }
        out
    }
}
