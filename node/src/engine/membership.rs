//! Creating a node, founding a network, inviting and joining.

use hallsync_config::{Config, NodeSection};
use hallsync_model::records::trust_doc::cert_key;
use hallsync_model::trust::cert::{RecordKind, Scope};
use hallsync_model::{
    CertBody, Certificate, DeviceId, DocId, Genesis, HallId, Level, Role, ScalarValue, TrustState,
};
use serde::Serialize;

use super::token::Invitation;
use super::{now_ms, Engine, META_CERTS, META_GENESIS};
use crate::error::NodeError;
use crate::keyfile;
use crate::paths::DataDir;
use crate::store::RedbStore;

/// What `init` made.
#[derive(Clone, Debug, Serialize)]
pub struct InitOutcome {
    /// The new device id.
    pub device_id: String,
    /// The network id, when `--genesis` founded one.
    pub network_id: Option<String>,
}

/// Creates a node in `dir`: config, device key (0600) and store; with `genesis`, also the network
/// (root administrator certificate and trust document).
///
/// # Errors
/// [`NodeError::AlreadyInitialised`], a config error, or IO and store errors.
pub fn init(
    dir: &DataDir,
    node: NodeSection,
    listen: Option<String>,
    announce: Vec<String>,
    genesis: bool,
) -> Result<InitOutcome, NodeError> {
    if dir.key_file().exists() || dir.store_file().exists() {
        return Err(NodeError::AlreadyInitialised {
            path: dir.root().to_path_buf(),
        });
    }
    let mut config = Config::new(node);
    if let Some(listen) = listen {
        config.network.listen = vec![listen];
    }
    config.network.announce = announce;
    // Halls above villages have reachable addresses: they relay for those behind NAT.
    config.network.relay_serve = config.node.level != "village";
    config.validate()?;
    if genesis && config.node.level != "city" {
        return Err(NodeError::NotAllowed(
            "only a city node founds a network (--genesis needs --level city)".into(),
        ));
    }
    std::fs::create_dir_all(dir.root()).map_err(|source| NodeError::Io {
        action: "create",
        path: dir.root().to_path_buf(),
        source,
    })?;
    // Created private: nothing to warn about on a new node.
    let _ = dir.secure();
    config.save(dir.root())?;
    let key = keyfile::create(&dir.key_file())?;
    let mut store = RedbStore::open(&dir.store_file())?;
    let _ = dir.secure();
    let mut network_id = None;
    if genesis {
        let hall = HallId::new(&config.node.hall)?;
        let root = Certificate::sign(
            CertBody::city_root(key.device_id(), hall, config.node.name.clone(), now_ms()),
            &key,
        )?;
        store.put_meta(META_GENESIS, &key.device_id().0)?;
        let certs = postcard::to_stdvec(&vec![root.clone()])
            .map_err(|e| NodeError::Store(e.to_string()))?;
        store.put_meta(META_CERTS, &certs)?;
        drop(store);
        let mut engine = Engine::open(dir)?;
        engine.author(
            &DocId::trust(),
            &[(cert_key(&root), ScalarValue::Bytes(root.to_bytes()))],
        )?;
        network_id = Some(
            Genesis {
                key: key.device_id(),
            }
            .network_id()
            .to_string(),
        );
    }
    Ok(InitOutcome {
        device_id: key.device_id().to_string(),
        network_id,
    })
}

/// What an administrator asks to certify with `invite`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The invitee's device id.
    pub device: String,
    /// The invitee's hall.
    pub hall: String,
    /// That hall's level.
    pub level: String,
    /// operator or admin.
    pub role: String,
    /// That hall's parent; the inviter's hall when absent.
    pub parent: Option<String>,
    /// That hall's name; the hall id when absent.
    pub hall_name: Option<String>,
    /// Record kinds (catalogue, stationing, policy); the role's usual ones when absent.
    pub kinds: Option<Vec<String>>,
    /// Whether the certificate covers the halls under `hall` too; the role's default when absent.
    pub subtree: Option<bool>,
    /// Whether the holder may certify others; the role's default when absent.
    pub may_certify: Option<bool>,
    /// Days of validity from now; no expiry when absent.
    pub valid_days: Option<u32>,
}

/// What `join` installed.
#[derive(Clone, Debug, Serialize)]
pub struct JoinOutcome {
    /// The network joined.
    pub network_id: String,
    /// This node's hall.
    pub hall: String,
    /// Its role there.
    pub role: String,
    /// Peers added to the config.
    pub peers: Vec<String>,
    /// Set when the token named no address to dial: the operator must add one to `network.peers`.
    pub warning: Option<String>,
}

impl Engine {
    /// Installs an invitation token: the network's genesis, this device's certificate chain, and the
    /// inviter's addresses as peers in the config.
    ///
    /// # Errors
    /// [`NodeError::BadToken`] when the chain does not verify or is for another device or hall;
    /// [`NodeError::AlreadyJoined`].
    pub fn join(&mut self, token: &str) -> Result<JoinOutcome, NodeError> {
        let invitation = Invitation::decode(token)?;
        if let Some(replica) = &self.replica {
            return Err(NodeError::AlreadyJoined {
                network: replica.trust().genesis().network_id().to_string(),
            });
        }
        let genesis = Genesis {
            key: invitation.genesis,
        };
        let mut trust = TrustState::new(genesis.clone());
        trust.add(invitation.chain.clone());
        let me = self.key.device_id();
        let mine = invitation
            .chain
            .first()
            .filter(|c| c.body.holder == me && trust.valid().contains_key(&c.id()))
            .ok_or_else(|| NodeError::BadToken {
                reason: format!(
                    "it holds no valid certificate for this device ({me}); ask for a token made for this device id"
                ),
            })?
            .clone();
        if mine.body.hall.as_str() != self.config.node.hall
            || mine.body.level.as_str() != self.config.node.level
        {
            return Err(NodeError::BadToken {
                reason: format!(
                    "it certifies hall {} ({}), but this node was initialised for hall {} ({})",
                    mine.body.hall, mine.body.level, self.config.node.hall, self.config.node.level
                ),
            });
        }
        let certs =
            postcard::to_stdvec(&invitation.chain).map_err(|e| NodeError::Store(e.to_string()))?;
        self.store.put_meta(META_CERTS, &certs)?;
        self.store.put_meta(META_GENESIS, &invitation.genesis.0)?;
        let mut added = Vec::new();
        for addr in &invitation.addrs {
            if !self.config.network.peers.contains(addr) {
                self.config.network.peers.push(addr.clone());
                added.push(addr.clone());
            }
        }
        self.config.validate()?;
        self.config.save(self.dir.root())?;
        self.load_replica()?;
        Ok(JoinOutcome {
            network_id: genesis.network_id().to_string(),
            hall: mine.body.hall.to_string(),
            role: mine.body.role.as_str().to_string(),
            warning: self.config.network.peers.is_empty().then(|| {
                "the token names no address of the inviting node (it was not running): add its address \
                 to network.peers in config.toml, as /ip4/IP/tcp/PORT/p2p/PEER_ID"
                    .to_string()
            }),
            peers: added,
        })
    }

    /// Issues a certificate for another device, publishes it in the trust document, and returns the
    /// invitation token. The same jurisdiction rule every receiver applies is checked first.
    ///
    /// # Errors
    /// [`NodeError::Trust`] when this administrator may not certify that hall; parse errors.
    pub fn invite(
        &mut self,
        request: &InviteRequest,
        addrs: Vec<String>,
    ) -> Result<String, NodeError> {
        let holder: DeviceId = request.device.parse()?;
        let hall = HallId::new(&request.hall)?;
        let level: Level = request.level.parse()?;
        let role: Role = request.role.parse()?;
        // The city centre has no parent: a city-level certificate is a colleague at the city hall.
        let parent = match level {
            Level::City => None,
            _ => Some(HallId::new(
                request.parent.as_deref().unwrap_or(&self.config.node.hall),
            )?),
        };
        let mut scope = Scope::for_role(role);
        if let Some(kinds) = &request.kinds {
            scope.kinds = kinds
                .iter()
                .map(|k| k.parse())
                .collect::<Result<Vec<RecordKind>, _>>()?;
            scope.kinds.sort();
            scope.kinds.dedup();
        }
        if let Some(subtree) = request.subtree {
            scope.subtree = subtree;
        }
        if let Some(may_certify) = request.may_certify {
            scope.may_certify = may_certify;
        }
        let now = now_ms();
        let valid_until_ms = request.valid_days.map(|d| now + i64::from(d) * 86_400_000);
        let body = CertBody {
            holder,
            hall: hall.clone(),
            level,
            parent: parent.clone(),
            hall_name: request
                .hall_name
                .clone()
                .unwrap_or_else(|| hall.to_string()),
            role,
            scope,
            valid_from_ms: 0,
            valid_until_ms,
            successor_of: None,
            issuer: self.key.device_id(),
            issued_at_ms: now_ms(),
        };
        let cert = Certificate::sign(body, &self.key)?;
        let replica = self.replica()?;
        replica.trust().check_issue(&cert)?;
        let mut chain = vec![cert.clone()];
        if let Some(mine) = replica
            .trust()
            .valid_certs_of(&self.key.device_id())
            .find(|c| {
                c.body.role == Role::Admin
                    && (c.body.hall == hall
                        || parent
                            .as_ref()
                            .is_some_and(|p| replica.trust().is_within(p, &c.body.hall)))
            })
        {
            chain.extend(replica.trust().chain(&mine.id()));
        }
        let genesis = replica.trust().genesis().key;
        self.author(
            &DocId::trust(),
            &[(cert_key(&cert), ScalarValue::Bytes(cert.to_bytes()))],
        )?;
        Ok(Invitation {
            genesis,
            chain,
            addrs,
        }
        .encode(&self.key))
    }
}
