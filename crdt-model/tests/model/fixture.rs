//! A small federation in memory: genesis city, a district, a township under it, a village under that,
//! plus a second district with its own township, each with a key and a certificate.

use hallsync_model::records::approval::Approval;
use hallsync_model::records::item::ItemFields;
use hallsync_model::records::station::StationFields;
use hallsync_model::records::trust_doc::cert_key;
use hallsync_model::{
    CertBody, Certificate, Decision, DeviceKey, DocId, Genesis, HallId, ItemCode, Level, Replica,
    Role, ScalarValue, SignedChange,
};

pub const CITY: &str = "4403";
pub const DISTRICT: &str = "440305";
pub const TOWNSHIP: &str = "440305001";
pub const VILLAGE: &str = "440305001001";
pub const DISTRICT_B: &str = "440306";
pub const TOWNSHIP_B: &str = "440306001";

/// A key made from a seed byte: deterministic, so failures replay.
pub fn key(seed: u8) -> DeviceKey {
    DeviceKey::from_seed([seed; 32])
}

pub fn hall(id: &str) -> HallId {
    HallId::new(id).unwrap()
}

pub fn cert(
    issuer: &DeviceKey,
    holder: &DeviceKey,
    hall_id: &str,
    level: Level,
    parent: Option<&str>,
    role: Role,
) -> Certificate {
    Certificate::sign(
        CertBody {
            holder: holder.device_id(),
            hall: hall(hall_id),
            level,
            parent: parent.map(hall),
            hall_name: format!("hall {hall_id}"),
            role,
            scope: hallsync_model::trust::cert::Scope::for_role(role),
            valid_from_ms: 0,
            valid_until_ms: None,
            successor_of: None,
            issuer: issuer.device_id(),
            issued_at_ms: 1_700_000_000_000,
        },
        issuer,
    )
    .unwrap()
}

/// Everyone in the fixture federation.
pub struct Fed {
    pub city: DeviceKey,
    pub district: DeviceKey,
    pub township: DeviceKey,
    pub village: DeviceKey,
    pub district_b: DeviceKey,
    pub township_b: DeviceKey,
    /// A device with no certificate at all.
    pub stranger: DeviceKey,
    pub certs: Vec<Certificate>,
    /// The origin replica every envelope is authored on.
    pub origin: Replica,
    /// Every envelope the origin authored (and forged ones the tests add), in order.
    pub log: Vec<SignedChange>,
    now_ms: i64,
}

impl Fed {
    /// The fixture's clock, ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    pub fn genesis(&self) -> Genesis {
        Genesis {
            key: self.city.device_id(),
        }
    }

    /// The federation with every certificate published in the trust document.
    pub fn new() -> Fed {
        let (city, district, township, village) = (key(1), key(2), key(3), key(4));
        let (district_b, township_b, stranger) = (key(5), key(6), key(7));
        let certs = vec![
            cert(&city, &city, CITY, Level::City, None, Role::Admin),
            cert(
                &city,
                &district,
                DISTRICT,
                Level::District,
                Some(CITY),
                Role::Admin,
            ),
            cert(
                &district,
                &township,
                TOWNSHIP,
                Level::Township,
                Some(DISTRICT),
                Role::Admin,
            ),
            cert(
                &township,
                &village,
                VILLAGE,
                Level::Village,
                Some(TOWNSHIP),
                Role::Operator,
            ),
            cert(
                &city,
                &district_b,
                DISTRICT_B,
                Level::District,
                Some(CITY),
                Role::Admin,
            ),
            cert(
                &district_b,
                &township_b,
                TOWNSHIP_B,
                Level::Township,
                Some(DISTRICT_B),
                Role::Admin,
            ),
        ];
        let origin = Replica::new(Genesis {
            key: city.device_id(),
        });
        let mut fed = Fed {
            city,
            district,
            township,
            village,
            district_b,
            township_b,
            stranger,
            certs,
            origin,
            log: Vec::new(),
            now_ms: 1_700_000_000_000,
        };
        for c in fed.certs.clone() {
            let issuer = [&fed.city, &fed.district, &fed.township, &fed.district_b]
                .into_iter()
                .find(|k| k.device_id() == c.body.issuer)
                .unwrap()
                .clone();
            fed.write(
                &issuer,
                &DocId::trust(),
                vec![(cert_key(&c), ScalarValue::Bytes(c.to_bytes()))],
            )
            .unwrap();
        }
        fed
    }

    /// Authors a change through every check; on success it is logged.
    /// The sealing secret of `who` in these tests (derived from its device id).
    pub fn open_key(who: &DeviceKey) -> hallsync_model::seal::OpenKey {
        let id = who.device_id().to_string();
        let mut secret = [0u8; 32];
        for (i, b) in id.bytes().enumerate() {
            secret[i % 32] ^= b;
        }
        hallsync_model::seal::OpenKey::from_bytes(secret)
    }

    /// Publishes every certified device's signed sealing key in the trust record (the city
    /// publishes them, as an issuer may).
    pub fn announce_seal_keys(&mut self) {
        let devices = [
            self.city.clone(),
            self.district.clone(),
            self.township.clone(),
            self.village.clone(),
            self.district_b.clone(),
            self.township_b.clone(),
        ];
        let puts = devices
            .iter()
            .map(|d| {
                let a = hallsync_model::trust::seal_keys::SealAnnouncement::sign(
                    d,
                    Fed::open_key(d).seal_key(),
                    self.now_ms,
                );
                (a.record_key(), ScalarValue::Bytes(a.to_bytes()))
            })
            .collect();
        let city = self.city.clone();
        self.write(&city, &DocId::trust(), puts).unwrap();
    }

    pub fn write(
        &mut self,
        who: &DeviceKey,
        doc: &DocId,
        puts: Vec<(String, ScalarValue)>,
    ) -> Result<SignedChange, hallsync_model::Rejection> {
        self.now_ms += 1000;
        let env = self.origin.author(who, 0, doc, self.now_ms, &puts)?;
        self.origin
            .settle_parts(std::slice::from_ref(&env), Vec::new());
        self.log.push(env.clone());
        Ok(env)
    }

    pub fn create_item(&mut self, code: &str) -> SignedChange {
        self.try_create_item(code).expect("a new item is written")
    }

    /// Writes the item; `None` when it is already exactly so (nothing to sign).
    pub fn try_create_item(&mut self, code: &str) -> Option<SignedChange> {
        let fields = ItemFields::minimal(
            ItemCode::new(code).unwrap(),
            format!("事项 {code}"),
            hallsync_model::records::item::ItemType::PublicService,
            "民政局".into(),
            5,
        );
        let puts = fields.writes();
        let city = self.city.clone();
        self.write(&city, &DocId::item(&fields.code), puts).ok()
    }

    pub fn station_doc(hall_id: &str, code: &str) -> DocId {
        DocId::station(&hall(hall_id), &ItemCode::new(code).unwrap())
    }

    pub fn propose(
        &mut self,
        who: &DeviceKey,
        hall_id: &str,
        code: &str,
    ) -> Result<SignedChange, hallsync_model::Rejection> {
        let fields = StationFields {
            hall: hall(hall_id),
            item: ItemCode::new(code).unwrap(),
            action: hallsync_model::records::station::StationAction::Station,
            proposed_at_ms: self.now_ms,
            note: None,
            reason_kind: None,
            reason: None,
            basis: None,
            executed_at: None,
        };
        let puts = fields.writes();
        self.write(who, &Fed::station_doc(hall_id, code), puts)
    }

    /// The approval value `who` would write for the current heads of `doc` on the origin.
    pub fn approval_puts(
        &self,
        who: &DeviceKey,
        doc: &DocId,
        decision: Decision,
        reason: Option<&str>,
    ) -> Vec<(String, ScalarValue)> {
        let heads = self
            .origin
            .record(doc)
            .unwrap()
            .heads()
            .iter()
            .map(|h| h.to_string())
            .collect();
        let approval = Approval {
            decision,
            heads,
            reason: reason.map(str::to_string),
            at_ms: self.now_ms,
        };
        vec![(
            approval.key(&who.device_id()),
            ScalarValue::Str(approval.to_value().into()),
        )]
    }

    pub fn decide(
        &mut self,
        who: &DeviceKey,
        doc: &DocId,
        decision: Decision,
        reason: Option<&str>,
    ) -> Result<SignedChange, hallsync_model::Rejection> {
        let puts = self.approval_puts(who, doc, decision, reason);
        self.write(who, doc, puts)
    }

    /// Makes a change on a copy of `doc` without any check, as a modified client would, and logs it.
    pub fn forge(
        &mut self,
        who: &DeviceKey,
        epoch: u32,
        doc: &DocId,
        puts: Vec<(String, ScalarValue)>,
    ) -> SignedChange {
        let env = forge_on(&self.origin, who, epoch, doc, &puts);
        self.log.push(env.clone());
        env
    }
}

/// Builds a signed change on `replica`'s copy of `doc`, skipping every authorization check.
pub fn forge_on(
    replica: &Replica,
    who: &DeviceKey,
    epoch: u32,
    doc: &DocId,
    puts: &[(String, ScalarValue)],
) -> SignedChange {
    use automerge::transaction::Transactable;
    // A put of the value already there makes no operation; then a nonce makes the change exist.
    for nonce in [None, Some(epoch)] {
        let mut fork = match replica.record(doc) {
            Some(state) => state.doc().fork(),
            None => automerge::Automerge::new(),
        };
        fork.set_actor(who.device_id().actor(epoch));
        let mut tx = fork.transaction();
        for (k, v) in puts {
            tx.put(automerge::ROOT, k.as_str(), v.clone()).unwrap();
        }
        if let Some(n) = nonce {
            tx.put(automerge::ROOT, "forged_nonce", i64::from(n))
                .unwrap();
        }
        tx.commit();
        if let Some(change) = fork.get_last_local_change() {
            return SignedChange::sign(doc.clone(), &change, who);
        }
    }
    unreachable!("a put of a fresh key always makes a change")
}

/// A fresh replica of the fixture's network.
pub fn fresh(fed: &Fed) -> Replica {
    Replica::new(fed.genesis())
}

impl Fed {
    /// Publishes `cert` in the trust record as its issuer.
    pub fn publish_cert(
        &mut self,
        issuer: &DeviceKey,
        cert: &Certificate,
    ) -> Result<SignedChange, hallsync_model::Rejection> {
        self.write(
            issuer,
            &DocId::trust(),
            vec![(cert_key(cert), ScalarValue::Bytes(cert.to_bytes()))],
        )
    }

    /// `revoker` revokes every certificate of `target`, keeping what the origin holds of its writing
    /// (as the node's `revoke` does) unless `keep` is false.
    pub fn revoke(
        &mut self,
        revoker: &DeviceKey,
        target: &DeviceKey,
        keep: bool,
    ) -> Result<SignedChange, hallsync_model::Rejection> {
        use hallsync_model::trust::revocation::{Revocation, RevocationBody, RevocationTarget};
        let holder = target.device_id();
        let (keep_heads, keep_certs) = if keep {
            self.origin.keep_all_known(&holder)
        } else {
            (Vec::new(), Vec::new())
        };
        let revocation = Revocation::sign(
            RevocationBody {
                target: RevocationTarget::Device(holder),
                reason: "test".into(),
                keep_heads,
                keep_certs,
                issuer: revoker.device_id(),
                issued_at_ms: self.now_ms,
            },
            revoker,
        )
        .unwrap();
        self.write(
            revoker,
            &DocId::trust(),
            vec![(
                hallsync_model::records::trust_doc::revocation_key(&revocation),
                ScalarValue::Bytes(revocation.to_bytes()),
            )],
        )
    }
}

/// A deterministic shuffle of `items` from `seed` (xorshift), so a failing property replays exactly.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut st = seed | 1;
    for i in (1..items.len()).rev() {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        items.swap(i, (st % (i as u64 + 1)) as usize);
    }
}

/// Text puts for a record: `[("action", "withdraw"), …]`.
pub fn texts(pairs: &[(&str, &str)]) -> Vec<(String, ScalarValue)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), ScalarValue::Str((*v).into())))
        .collect()
}
