//! The simulated federation: halls, their keys and certificates, and each node's replica.

use hallsync_model::records::trust_doc::cert_key;
use hallsync_model::{
    CertBody, Certificate, DeviceKey, DocId, Genesis, HallId, Level, Replica, Role, ScalarValue,
    SignedChange,
};

use crate::rng::Rng;
use crate::scenario::Scenario;

/// One simulated node.
pub struct Node {
    /// Its hall.
    pub hall: HallId,
    /// Its level.
    pub level: Level,
    /// Its parent node, if any.
    pub parent: Option<usize>,
    /// Its device key (administrator for city/district/township, operator for villages).
    pub key: DeviceKey,
    /// The very same replica the node runs.
    pub replica: Replica,
    /// For villages: daily online window start, in seconds after midnight.
    pub online_from_s: u64,
    /// The district it belongs to (index), for partitions.
    pub district: Option<u32>,
    /// Per neighbour (node index): the sync session with it, as the node runs it.
    pub sessions: std::collections::BTreeMap<usize, hallsync_model::sync::session::Session>,
    /// Its sealing secret (X25519), derived from its device id so that the simulator's random
    /// stream, and with it every seeded run, is the same as before sealing existed.
    pub seal_secret: [u8; 32],
}

/// The sealing secret of the simulated device `device`.
pub fn seal_secret_of(device: &hallsync_model::DeviceId) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::new()
        .chain_update(b"hallsync-sim/seal/v1\0")
        .chain_update(device.to_string().as_bytes())
        .finalize()
        .into()
}

fn certify(
    issuer: &DeviceKey,
    holder: &DeviceKey,
    hall: &HallId,
    level: Level,
    parent: Option<&HallId>,
    role: Role,
) -> Certificate {
    let body = CertBody {
        holder: holder.device_id(),
        hall: hall.clone(),
        level,
        parent: parent.cloned(),
        hall_name: hall.to_string(),
        role,
        scope: hallsync_model::trust::cert::Scope::for_role(role),
        valid_from_ms: 0,
        valid_until_ms: None,
        successor_of: None,
        issuer: issuer.device_id(),
        issued_at_ms: 0,
    };
    // Every body here names its signer as issuer: signing cannot fail.
    Certificate::sign(body, issuer).unwrap_or_else(|_| unreachable!("issuer matches"))
}

/// A replica of a network whose genesis key `key` has certified itself as the city administrator,
/// as `hallsync init --genesis` does: the starting point of the protocol benchmark.
pub fn city_replica(key: &DeviceKey) -> Replica {
    let mut replica = Replica::new(Genesis {
        key: key.device_id(),
    });
    let hall = HallId::new("C").unwrap_or_else(|_| unreachable!("\"C\" is a hall id"));
    let cert = certify(key, key, &hall, Level::City, None, Role::Admin);
    let puts = [(cert_key(&cert), ScalarValue::Bytes(cert.to_bytes()))];
    // The genesis key may always write the trust record; a refusal would be a bug in the model.
    if let Err(e) = replica.author(key, 0, &DocId::trust(), 0, &puts) {
        unreachable!("the genesis key certifies itself: {e}");
    }
    replica
}

/// Builds the hall tree of `scenario` and a replica per node that already holds the trust record.
pub fn build(scenario: &Scenario, rng: &mut Rng) -> (Vec<Node>, Vec<SignedChange>) {
    let genesis_key = DeviceKey::from_seed(rng.bytes32());
    let genesis = Genesis {
        key: genesis_key.device_id(),
    };
    let mut origin = Replica::new(genesis.clone());
    // Certificates by issuer, in the order issuers first certify: each issuer publishes all of its
    // certificates in one trust change (a province's 28 000 halls are then 441 changes, not 28 000
    // forks of a growing trust record).
    let mut issued: Vec<(DeviceKey, Vec<Certificate>)> = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut add = |nodes: &mut Vec<Node>,
                   hall: String,
                   level: Level,
                   parent: Option<usize>,
                   district: Option<u32>,
                   rng: &mut Rng| {
        let key = if nodes.is_empty() {
            genesis_key.clone()
        } else {
            DeviceKey::from_seed(rng.bytes32())
        };
        let hall = HallId::new(&hall).unwrap_or_else(|_| unreachable!("generated ids are tokens"));
        let role = if level == Level::Village {
            Role::Operator
        } else {
            Role::Admin
        };
        let (issuer, parent_hall) = match parent {
            Some(p) => (nodes[p].key.clone(), Some(nodes[p].hall.clone())),
            None => (key.clone(), None),
        };
        let cert = certify(&issuer, &key, &hall, level, parent_hall.as_ref(), role);
        match issued
            .iter_mut()
            .find(|(k, _)| k.device_id() == issuer.device_id())
        {
            Some((_, certs)) => certs.push(cert),
            None => issued.push((issuer, vec![cert])),
        }
        let online_from_s = rng.below(86_400);
        nodes.push(Node {
            hall,
            level,
            parent,
            key,
            replica: Replica::new(genesis.clone()),
            online_from_s,
            district,
            sessions: std::collections::BTreeMap::new(),
            seal_secret: [0; 32],
        });
        let last = nodes.len() - 1;
        nodes[last].seal_secret = seal_secret_of(&nodes[last].key.device_id());
        last
    };
    if scenario.halls.list.is_empty() {
        let city = add(&mut nodes, "C".into(), Level::City, None, None, rng);
        let parents: Vec<(usize, Option<u32>)> = if scenario.halls.districts == 0 {
            vec![(city, None)]
        } else {
            (0..scenario.halls.districts)
                .map(|d| {
                    (
                        add(
                            &mut nodes,
                            format!("D{d}"),
                            Level::District,
                            Some(city),
                            Some(d),
                            rng,
                        ),
                        Some(d),
                    )
                })
                .collect()
        };
        for (p, district) in parents {
            for t in 0..scenario.halls.townships_per_parent {
                let name = format!("{}T{t}", nodes[p].hall);
                let township = add(&mut nodes, name, Level::Township, Some(p), district, rng);
                for v in 0..scenario.halls.villages_per_township {
                    let name = format!("{}V{v}", nodes[township].hall);
                    add(
                        &mut nodes,
                        name,
                        Level::Village,
                        Some(township),
                        district,
                        rng,
                    );
                }
            }
        }
    } else {
        // Listed: parents come before children (checked when the scenario was read).
        let mut index: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        let mut districts = 0;
        for hall in &scenario.halls.list {
            let level: Level = hall.level.parse().unwrap_or(Level::Village);
            let parent = hall.parent.as_deref().and_then(|p| index.get(p).copied());
            let district = match (level, parent) {
                (Level::District, _) => {
                    districts += 1;
                    Some(districts - 1)
                }
                (_, Some(p)) => nodes[p].district,
                _ => None,
            };
            let i = add(&mut nodes, hall.id.clone(), level, parent, district, rng);
            index.insert(hall.id.as_str(), i);
        }
    }
    let mut trust_log = Vec::new();
    for (issuer, certs) in &issued {
        let puts: Vec<(String, ScalarValue)> = certs
            .iter()
            .map(|c| (cert_key(c), ScalarValue::Bytes(c.to_bytes())))
            .collect();
        if let Ok(env) = origin.author(issuer, 0, &DocId::trust(), 0, &puts) {
            trust_log.push(env);
        }
    }
    // Each issuer then publishes its members' signed sealing keys, as a node announces its own: in
    // a change after the certificates (the genesis key's first change holds certificates only).
    let seal_of = |key: &DeviceKey| {
        let secret = seal_secret_of(&key.device_id());
        let announcement = hallsync_model::trust::seal_keys::SealAnnouncement::sign(
            key,
            hallsync_model::seal::OpenKey::from_bytes(secret).seal_key(),
            0,
        );
        (
            announcement.record_key(),
            ScalarValue::Bytes(announcement.to_bytes()),
        )
    };
    let by_device: std::collections::BTreeMap<hallsync_model::DeviceId, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.key.device_id(), i))
        .collect();
    for (issuer, certs) in &issued {
        let puts: Vec<(String, ScalarValue)> = certs
            .iter()
            .filter_map(|c| by_device.get(&c.body.holder))
            .map(|i| seal_of(&nodes[*i].key))
            .collect();
        if let Ok(env) = origin.author(issuer, 0, &DocId::trust(), 0, &puts) {
            trust_log.push(env);
        }
    }
    // Verify and apply the trust record once, then give every node a copy.
    let mut seeded = Replica::new(genesis);
    seeded.ingest(trust_log.clone());
    for node in &mut nodes {
        node.replica = seeded.clone();
        node.replica.set_local_device(node.key.device_id());
    }
    (nodes, trust_log)
}
