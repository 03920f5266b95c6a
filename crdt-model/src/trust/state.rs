//! The trust state: which certificates stand, which are revoked, the hall tree, and who may do what.
//!
//! Everything here is a function of two sets, the certificates and the revocations known, so it does
//! not depend on the order they arrived in. Certificates are evaluated level by level, city first:
//!
//! 1. A revocation of a certificate at level L is *effective* when its signature holds and its issuer
//!    is the genesis key, the certificate's own holder (retiring its key), or holds an active
//!    administrator certificate for a hall strictly above the target's hall whose subtree covers it.
//!    Those issuers sit at levels above L, already settled, so revocations can never form a cycle
//!    (no "state resets" from two administrators revoking each other).
//! 2. A certificate *stands* when its signature holds and it is the genesis root, or an issuer
//!    certificate usable for it stands: active, or revoked only by revocations that keep it. The
//!    issuer must be an administrator allowed to certify, covering the hall, with a scope and
//!    validity at least as wide (or, for a key rotation, the very certificate it succeeds).
//! 3. A standing certificate with an effective revocation is *revoked*; otherwise it is *active*.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::TrustError;
use crate::hall::{HallId, HallInfo, Level};
use crate::identity::DeviceId;
use crate::trust::cert::{CertId, Certificate, Role};
use crate::trust::genesis::Genesis;
use crate::trust::revocation::{Revocation, RevocationTarget};

/// Certificates a network may hold; a bound on the fixpoint's work and on memory.
pub const CERTS_MAX: usize = 100_000;

/// Revocations a network may hold.
pub const REVOCATIONS_MAX: usize = 100_000;

/// Per device, its certificates by id with the revocations that revoke each (`None`: active).
pub(crate) type Standings = BTreeMap<DeviceId, Vec<(CertId, Option<Vec<CertId>>)>>;

/// How a device's certificate stands.
#[derive(Clone, Debug)]
pub enum Standing<'a> {
    /// Valid and not revoked.
    Active,
    /// Valid but revoked by these revocations: only what they all keep survives.
    Revoked(Vec<&'a Revocation>),
}

/// The certificates and revocations a node knows, and what follows from them.
#[derive(Clone, Debug)]
pub struct TrustState {
    genesis: Genesis,
    known: BTreeMap<CertId, Certificate>,
    revocations: BTreeMap<CertId, Revocation>,
    active: BTreeMap<CertId, Certificate>,
    revoked: BTreeMap<CertId, (Certificate, Vec<CertId>)>,
    by_holder: BTreeMap<DeviceId, Vec<CertId>>,
    halls: BTreeMap<HallId, HallInfo>,
    /// Each known hall and the halls above it, nearest first: derived from `halls` as halls are
    /// admitted (a hall's parent never changes), because scopes ask it for every record of every
    /// sync round, and a hash lookup is several times cheaper than walking the tree.
    lineages: Lineages,
    /// Holders of certificates that would stand if no revocation existed: grows only, so whether a
    /// trust-document write is accepted never depends on arrival order.
    members: BTreeSet<DeviceId>,
    ignore_revocations: bool,
    /// Devices' announced sealing keys (issue #14).
    seal_keys: crate::trust::seal_keys::SealKeys,
    /// Devices whose certificates stand differently after a full recompute than before it, since
    /// [`TrustState::take_changed`]: what a replica must re-judge. Admitting a certificate for a new
    /// hall (the incremental path) takes nothing away and is not listed.
    changed: BTreeSet<DeviceId>,
}

/// Each hall's lineage, by hall. A hash map, because scopes look lineages up for every record of
/// every sync round; it only looks up, never iterates, so its order reaches nothing (the reason
/// the core otherwise keeps to ordered maps).
#[allow(clippy::disallowed_types)]
#[derive(Clone, Debug, Default)]
struct Lineages(std::collections::HashMap<HallId, Vec<HallId>>);

impl Lineages {
    fn get(&self, hall: &HallId) -> Option<&Vec<HallId>> {
        self.0.get(hall)
    }

    fn insert(&mut self, hall: HallId, lineage: Vec<HallId>) {
        self.0.insert(hall, lineage);
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

impl TrustState {
    /// An empty trust state for the network rooted at `genesis`.
    pub fn new(genesis: Genesis) -> Self {
        TrustState {
            genesis,
            known: BTreeMap::new(),
            revocations: BTreeMap::new(),
            active: BTreeMap::new(),
            revoked: BTreeMap::new(),
            by_holder: BTreeMap::new(),
            halls: BTreeMap::new(),
            lineages: Lineages::default(),
            members: BTreeSet::new(),
            ignore_revocations: false,
            seal_keys: crate::trust::seal_keys::SealKeys::default(),
            changed: BTreeSet::new(),
        }
    }

    /// Adds sealing-key announcements (judged when their trust change applied).
    pub fn add_seal_keys(
        &mut self,
        announcements: impl IntoIterator<Item = crate::trust::seal_keys::SealAnnouncement>,
    ) {
        self.seal_keys.add(announcements);
    }

    /// The current sealing key of `device`, if it announced one.
    pub fn seal_key_of(&self, device: &DeviceId) -> Option<crate::seal::SealKey> {
        self.seal_keys.current(device)
    }

    /// Whom to seal a hall's personal data to: the current sealing key of every device that holds a
    /// standing certificate for `hall` (a revoked device is no longer sealed to), and the devices
    /// that have not announced one yet (so the caller can say who would be left out).
    pub fn seal_recipients(&self, hall: &HallId) -> (Vec<crate::seal::SealKey>, Vec<DeviceId>) {
        let devices: BTreeSet<DeviceId> = self
            .active
            .values()
            .filter(|c| &c.body.hall == hall)
            .map(|c| c.body.holder)
            .collect();
        let mut keys = Vec::new();
        let mut missing = Vec::new();
        for device in devices {
            match self.seal_keys.current(&device) {
                Some(key) => keys.push(key),
                None => missing.push(device),
            }
        }
        (keys, missing)
    }

    /// The network's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Adds certificates and recomputes; returns true if anything known was new.
    ///
    /// Certificates whose signature fails are ignored: they can never stand.
    pub fn add(&mut self, certs: impl IntoIterator<Item = Certificate>) -> bool {
        self.add_all(certs, [])
    }

    /// Adds certificates and revocations and recomputes; returns true if anything known was new.
    pub fn add_all(
        &mut self,
        certs: impl IntoIterator<Item = Certificate>,
        revocations: impl IntoIterator<Item = Revocation>,
    ) -> bool {
        let mut added = false;
        let revocations: Vec<Revocation> = revocations.into_iter().collect();
        // Recomputing everything for each new certificate makes a trust record of n entries,
        // received one change at a time, cost n² checks. While no revocation is known and every
        // known certificate stands, standing only grows: a certificate for a new hall whose issuer
        // already authorizes it stands, and admitting it changes nothing else, exactly as the
        // full recompute would decide. Anything else takes the full recompute.
        let mut incremental = revocations.is_empty()
            && self.revocations.is_empty()
            && self.revoked.is_empty()
            && self.known.len() == self.active.len();
        let mut recompute = false;
        for cert in certs {
            if self.known.len() >= CERTS_MAX || !cert.signature_ok() {
                continue;
            }
            let id = cert.id();
            if self.known.contains_key(&id) {
                continue;
            }
            added = true;
            self.known.insert(id.clone(), cert.clone());
            if incremental
                && !self.halls.contains_key(&cert.body.hall)
                && self.check_authority_of(&id, &cert).is_ok()
            {
                self.members.insert(cert.body.holder);
                self.admit(id, cert);
            } else {
                incremental = false;
                recompute = true;
            }
        }
        for revocation in revocations {
            if self.revocations.len() < REVOCATIONS_MAX && revocation.signature_ok() {
                added |= self
                    .revocations
                    .insert(revocation.id(), revocation)
                    .is_none();
                recompute = true;
            }
        }
        if recompute {
            self.recompute();
        }
        debug_assert!(!added || recompute || self.known.len() == self.active.len());
        added
    }

    fn recompute(&mut self) {
        let before = self.standings();
        self.ignore_revocations = true;
        self.fixpoint();
        self.members = self.by_holder.keys().copied().collect();
        self.ignore_revocations = false;
        self.fixpoint();
        let after = self.standings();
        self.changed.extend(
            before
                .keys()
                .chain(after.keys())
                .filter(|d| before.get(*d) != after.get(*d))
                .copied(),
        );
    }

    /// How each device's certificates stand (id, and the revocations that revoke it): two trust
    /// states that agree on this judge every change the same way.
    pub(crate) fn standings(&self) -> Standings {
        let mut out = Standings::new();
        for (id, cert) in &self.active {
            out.entry(cert.body.holder)
                .or_default()
                .push((id.clone(), None));
        }
        for (id, (cert, revocations)) in &self.revoked {
            out.entry(cert.body.holder)
                .or_default()
                .push((id.clone(), Some(revocations.clone())));
        }
        for list in out.values_mut() {
            list.sort();
        }
        out
    }

    /// Devices whose standing changed in recomputes since the last call (see the field's doc).
    pub fn take_changed(&mut self) -> BTreeSet<DeviceId> {
        std::mem::take(&mut self.changed)
    }

    fn fixpoint(&mut self) {
        self.active.clear();
        self.revoked.clear();
        self.by_holder.clear();
        self.halls.clear();
        self.lineages.clear();
        for level in Level::ALL {
            let mut pending: Vec<(i64, CertId)> = self
                .known
                .iter()
                .filter(|(_, c)| c.body.level == level)
                .map(|(id, c)| (c.body.issued_at_ms, id.clone()))
                .collect();
            pending.sort();
            // Each pass admits every candidate whose issuer already stands; chains within one level
            // are short, and the passes are bounded by the candidates.
            loop {
                let mut admitted = false;
                let mut still = Vec::with_capacity(pending.len());
                for (at, id) in pending {
                    let Some(cert) = self.known.get(&id).cloned() else {
                        continue;
                    };
                    if self.check_authority_of(&id, &cert).is_ok() {
                        self.admit(id, cert);
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
    }

    /// Admits a certificate known under `id` (the id is its content address, computed once when it
    /// became known: recomputing it hashes the certificate again).
    fn admit(&mut self, id: CertId, cert: Certificate) {
        let body = &cert.body;
        if !self.halls.contains_key(&body.hall) {
            // Parents are admitted before their children (levels go in order), so the parent's
            // lineage is complete; the bound stops a cycle in a corrupt state.
            let mut lineage = vec![body.hall.clone()];
            if let Some(parent) = &body.parent {
                match self.lineages.get(parent) {
                    Some(above) => lineage.extend(above.iter().cloned()),
                    None => lineage.push(parent.clone()),
                }
            }
            lineage.truncate(8);
            self.lineages.insert(body.hall.clone(), lineage);
            self.halls.insert(
                body.hall.clone(),
                HallInfo {
                    id: body.hall.clone(),
                    level: body.level,
                    parent: body.parent.clone(),
                    name: body.hall_name.clone(),
                },
            );
        }
        self.by_holder
            .entry(body.holder)
            .or_default()
            .push(id.clone());
        let revocations = self.effective_revocations(&id, &cert);
        if revocations.is_empty() {
            self.active.insert(id, cert);
        } else {
            self.revoked.insert(id, (cert, revocations));
        }
    }

    /// The revocations that take effect on `cert`, given the certificates settled so far (all of
    /// them at higher levels).
    fn effective_revocations(&self, id: &CertId, cert: &Certificate) -> Vec<CertId> {
        if self.ignore_revocations {
            return Vec::new();
        }
        self.revocations
            .iter()
            .filter(|(_, r)| match &r.body.target {
                RevocationTarget::Cert(target) => target == id,
                RevocationTarget::Device(device) => device == &cert.body.holder,
            })
            .filter(|(rid, r)| {
                let issuer = r.body.issuer;
                // The issuer's certificate must be active, or revoked by revocations that keep this
                // one: a revocation made while authorized survives its issuer's later revocation.
                issuer == self.genesis.key
                    || issuer == cert.body.holder
                    || self.issuing_certs(&issuer, rid).any(|p| {
                        p.body.role == Role::Admin
                            && p.body.scope.subtree
                            && p.body.hall != cert.body.hall
                            && self.is_within(&cert.body.hall, &p.body.hall)
                    })
            })
            .map(|(rid, _)| rid.clone())
            .collect()
    }

    /// Whether `cert` may be issued given the current state: the check an administrator's node runs
    /// before `invite`, and the rule every receiver applies.
    ///
    /// # Errors
    /// The first rule `cert` breaks, as a [`TrustError`].
    pub fn check_issue(&self, cert: &Certificate) -> Result<(), TrustError> {
        if !cert.signature_ok() {
            return Err(TrustError::BadCertSignature {
                cert: cert.id().to_string(),
            });
        }
        self.check_authority_of(&cert.id(), cert)
    }

    /// The authority half of [`Self::check_issue`], for certificates whose signature was checked,
    /// known under `cert_id`.
    fn check_authority_of(&self, cert_id: &CertId, cert: &Certificate) -> Result<(), TrustError> {
        let body = &cert.body;
        if body.issuer == self.genesis.key
            && body.holder == self.genesis.key
            && body.successor_of.is_none()
        {
            return if body.level == Level::City && body.parent.is_none() && body.role == Role::Admin
            {
                Ok(())
            } else {
                Err(TrustError::BadRoot)
            };
        }
        if body.successor_of.is_none() {
            self.check_shape(body.level, body.parent.as_ref(), &body.hall)?;
        }
        let usable: Vec<(&CertId, &Certificate)> =
            self.issuing_certs_with_ids(&body.issuer, cert_id).collect();
        if let Some(old) = &body.successor_of {
            let ok = usable.iter().any(|(pid, p)| {
                *pid == old
                    && p.body.holder == body.issuer
                    && p.body.hall == body.hall
                    && p.body.level == body.level
                    && p.body.parent == body.parent
                    && p.body.role == body.role
                    && p.body.scope == body.scope
                    && within_period(&p.body, &cert.body)
            });
            return if ok {
                Ok(())
            } else {
                Err(TrustError::BadSuccessor)
            };
        }
        // A hall's own administrators may certify colleagues at that hall (the city centre has no
        // parent); otherwise the issuer's subtree must contain the new hall's parent.
        let covering: Vec<&Certificate> = usable
            .iter()
            .map(|(_, p)| *p)
            .filter(|p| {
                p.body.role == Role::Admin
                    && (body.hall == p.body.hall
                        || (p.body.scope.subtree
                            && body
                                .parent
                                .as_ref()
                                .is_some_and(|parent| self.is_within(parent, &p.body.hall))))
            })
            .collect();
        if covering.is_empty() {
            return Err(TrustError::OutsideJurisdiction {
                issuer: body.issuer.short(),
                hall: body.hall.to_string(),
            });
        }
        let narrower = covering.iter().any(|p| {
            p.body.scope.may_certify
                && p.body.scope.contains(&body.scope)
                && (body.hall != p.body.hall || p.body.scope.subtree || !body.scope.subtree)
                && within_period(&p.body, body)
        });
        if narrower {
            Ok(())
        } else {
            Err(TrustError::WiderThanIssuer {
                issuer: body.issuer.short(),
            })
        }
    }

    /// The issuer's standing certificates usable to issue `cert`: active ones, and revoked ones whose
    /// every effective revocation keeps `cert`.
    fn issuing_certs<'a>(
        &'a self,
        issuer: &'a DeviceId,
        cert: &'a CertId,
    ) -> impl Iterator<Item = &'a Certificate> + 'a {
        self.issuing_certs_with_ids(issuer, cert).map(|(_, c)| c)
    }

    /// [`Self::issuing_certs`] with the id each is known under.
    fn issuing_certs_with_ids<'a>(
        &'a self,
        issuer: &'a DeviceId,
        cert: &'a CertId,
    ) -> impl Iterator<Item = (&'a CertId, &'a Certificate)> + 'a {
        self.by_holder
            .get(issuer)
            .into_iter()
            .flatten()
            .filter_map(move |id| {
                if let Some(c) = self.active.get(id) {
                    return Some((id, c));
                }
                let (c, revs) = self.revoked.get(id)?;
                revs.iter()
                    .all(|r| {
                        self.revocations
                            .get(r)
                            .is_some_and(|r| r.body.keep_certs.contains(cert))
                    })
                    .then_some((id, c))
            })
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
            // Only the city centre has no parent, and it must already be known (from the root).
            let is_city = self
                .halls
                .get(hall)
                .is_some_and(|h| h.level == Level::City && h.parent.is_none());
            return if level == Level::City && is_city {
                Ok(())
            } else {
                Err(TrustError::BadRoot)
            };
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
                level: level.to_string(),
                parent_level: parent_level.to_string(),
            });
        }
        Ok(())
    }

    /// True when `hall` is `ancestor` or lies below it in the hall tree.
    pub fn is_within(&self, hall: &HallId, ancestor: &HallId) -> bool {
        self.lineage(hall).any(|h| h == ancestor)
    }

    /// `hall` and the halls above it, nearest first, as the certificates place them. Borrowed, not
    /// cloned: scopes are decided for every record of every sync round.
    pub fn lineage<'a>(&'a self, hall: &'a HallId) -> impl Iterator<Item = &'a HallId> + 'a {
        let known = self.lineages.get(hall);
        // A hall no certificate places is only itself.
        let alone = known.is_none().then_some(hall);
        known.into_iter().flatten().chain(alone)
    }

    /// The active (valid, unrevoked) certificates of `device`.
    pub fn active_certs_of<'a>(
        &'a self,
        device: &'a DeviceId,
    ) -> impl Iterator<Item = &'a Certificate> + 'a {
        self.by_holder
            .get(device)
            .into_iter()
            .flatten()
            .filter_map(|id| self.active.get(id))
    }

    /// Kept for callers that ask for the valid certificates: the active ones.
    pub fn valid_certs_of<'a>(
        &'a self,
        device: &'a DeviceId,
    ) -> impl Iterator<Item = &'a Certificate> + 'a {
        self.active_certs_of(device)
    }

    /// Every standing certificate of `device` with how it stands.
    pub fn standing_certs_of<'a>(
        &'a self,
        device: &'a DeviceId,
    ) -> impl Iterator<Item = (&'a Certificate, Standing<'a>)> + 'a {
        self.by_holder
            .get(device)
            .into_iter()
            .flatten()
            .filter_map(|id| {
                if let Some(c) = self.active.get(id) {
                    return Some((c, Standing::Active));
                }
                let (c, revs) = self.revoked.get(id)?;
                let revs = revs
                    .iter()
                    .filter_map(|r| self.revocations.get(r))
                    .collect();
                Some((c, Standing::Revoked(revs)))
            })
    }

    /// True when `cert` covers `hall` (its own hall, or below it with a subtree scope).
    pub fn covers(&self, cert: &Certificate, hall: &HallId) -> bool {
        &cert.body.hall == hall
            || (cert.body.scope.subtree && self.is_within(hall, &cert.body.hall))
    }

    /// True when `device` holds an active certificate with `role` covering `hall` for `kind` at `at_ms`.
    pub fn holds(&self, device: &DeviceId, role: Role, hall: &HallId) -> bool {
        self.active_certs_of(device)
            .any(|c| c.body.role == role && &c.body.hall == hall)
    }

    /// The device that took over from `device` by `rotate-key` (following repeated rotations to
    /// the latest): the holder of a valid successor certificate `device` issued. Peers use it to
    /// reconnect to a rotated node at its new peer id.
    pub fn successor_of_device(&self, device: &DeviceId) -> Option<DeviceId> {
        let mut current = *device;
        let mut found = None;
        // Each step follows a valid successor certificate the current device issued; a chain of
        // rotations is at most as long as the certificates held.
        for _ in 0..=self.valid().len() {
            let next = self.valid().values().find(|c| {
                c.body.successor_of.is_some()
                    && c.body.issuer == current
                    && c.body.holder != current
            });
            match next {
                Some(c) => {
                    current = c.body.holder;
                    found = Some(current);
                }
                None => break,
            }
        }
        found
    }

    /// True when `device` holds a certificate that would stand were there no revocations: a member of
    /// the network, even if what it signs may no longer count. Grows only.
    pub fn is_known(&self, device: &DeviceId) -> bool {
        self.members.contains(device) || device == &self.genesis.key
    }

    /// The hall whose administrators approve `hall`'s filings: its parent, or itself for the city centre
    /// (DOMAIN.md "Halls and levels").
    pub fn supervisor_of(&self, hall: &HallId) -> Option<HallId> {
        let info = self.halls.get(hall)?;
        Some(info.parent.clone().unwrap_or_else(|| hall.clone()))
    }

    /// Known halls, by id.
    pub fn halls(&self) -> &BTreeMap<HallId, HallInfo> {
        &self.halls
    }

    /// Active certificates, by id.
    pub fn valid(&self) -> &BTreeMap<CertId, Certificate> {
        &self.active
    }

    /// Standing but revoked certificates, by id, with the effective revocations.
    pub fn revoked(&self) -> &BTreeMap<CertId, (Certificate, Vec<CertId>)> {
        &self.revoked
    }

    /// Every certificate whose signature holds, standing or not.
    pub fn known(&self) -> &BTreeMap<CertId, Certificate> {
        &self.known
    }

    /// Every revocation whose signature holds, effective or not.
    pub fn revocations(&self) -> &BTreeMap<CertId, Revocation> {
        &self.revocations
    }

    /// A digest of what is active and revoked: when it changes other than by growing, records must be
    /// rebuilt.
    pub fn active_ids(&self) -> BTreeSet<CertId> {
        self.active.keys().cloned().collect()
    }

    /// The chain from `cert` up to the root, for invitation tokens and audits (cert first).
    pub fn chain(&self, cert: &CertId) -> Vec<Certificate> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let lookup = |id: &CertId| {
            self.active
                .get(id)
                .or_else(|| self.revoked.get(id).map(|(c, _)| c))
                .cloned()
        };
        let mut current = lookup(cert);
        while let Some(c) = current {
            if !seen.insert(c.id()) || out.len() > 16 {
                break;
            }
            let issuer = c.body.issuer;
            let is_root = issuer == c.body.holder && c.body.successor_of.is_none();
            let next = c
                .body
                .successor_of
                .clone()
                .and_then(|old| lookup(&old))
                .or_else(|| {
                    let hall = c.body.parent.clone().unwrap_or_else(|| c.body.hall.clone());
                    self.by_holder
                        .get(&issuer)
                        .into_iter()
                        .flatten()
                        .filter_map(&lookup)
                        .find(|p| p.body.role == Role::Admin && self.is_within(&hall, &p.body.hall))
                });
            out.push(c);
            if is_root {
                break;
            }
            current = next;
        }
        out
    }
}

/// True when `inner`'s validity period lies within `outer`'s.
fn within_period(
    outer: &crate::trust::cert::CertBody,
    inner: &crate::trust::cert::CertBody,
) -> bool {
    inner.valid_from_ms >= outer.valid_from_ms
        && match (outer.valid_until_ms, inner.valid_until_ms) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(o), Some(i)) => i <= o,
        }
}
