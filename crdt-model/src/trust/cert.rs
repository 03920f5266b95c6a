//! Certificates: who holds which role at which hall, signed by an administrator.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::TrustError;
use crate::hall::{HallId, Level};
use crate::identity::{signing_bytes, DeviceId, DeviceKey};

const CERT_DOMAIN: &str = "hallsync/cert/v1";

/// Longest hall name accepted in a certificate, in bytes.
pub const HALL_NAME_BYTES_MAX: usize = 600;

/// What a certificate lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Station operator (窗口/站点操作员): proposes changes for its own hall.
    Operator,
    /// Administrator (政务服务管理部门): approves the halls it supervises and certifies its jurisdiction.
    Admin,
}

impl Role {
    /// The name used in the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Chinese label first, English second.
    pub fn label(self) -> &'static str {
        match self {
            Role::Operator => "操作员 operator",
            Role::Admin => "管理员 admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = TrustError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(TrustError::BadRole {
                text: other.chars().take(64).collect(),
            }),
        }
    }
}

/// The kinds of record a certificate may write (or, for administrators, approve).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Catalogue items (事项目录): city administrators.
    Catalogue,
    /// Item stationing at halls (事项进驻).
    Stationing,
    /// Approval policies: city administrators.
    Policy,
    /// Working-day calendars: city administrators.
    Calendar,
    /// Window-staff filings (窗口人员备案).
    Staff,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [RecordKind; 5] = [
        RecordKind::Catalogue,
        RecordKind::Stationing,
        RecordKind::Policy,
        RecordKind::Calendar,
        RecordKind::Staff,
    ];

    /// The name used in the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Catalogue => "catalogue",
            RecordKind::Stationing => "stationing",
            RecordKind::Policy => "policy",
            RecordKind::Calendar => "calendar",
            RecordKind::Staff => "staff",
        }
    }
}

impl std::str::FromStr for RecordKind {
    type Err = TrustError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| TrustError::BadRole {
                text: format!(
                    "record kind `{}` (use catalogue, stationing, policy or calendar)",
                    text.chars().take(64).collect::<String>()
                ),
            })
    }
}

/// What a certificate covers: which halls, which record kinds, and whether it may certify others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// True: the hall and every hall under it. False: the hall alone.
    pub subtree: bool,
    /// The record kinds it may write or approve, sorted.
    pub kinds: Vec<RecordKind>,
    /// True when the holder may issue certificates (always narrower than its own).
    pub may_certify: bool,
}

impl Scope {
    /// The widest scope: the genesis root's.
    pub fn root() -> Self {
        Scope {
            subtree: true,
            kinds: RecordKind::ALL.to_vec(),
            may_certify: true,
        }
    }

    /// The usual scope for a role: administrators cover their subtree and may certify; operators
    /// write their own hall's stationing.
    pub fn for_role(role: Role) -> Self {
        match role {
            Role::Admin => Scope::root(),
            Role::Operator => Scope {
                subtree: false,
                kinds: vec![RecordKind::Stationing, RecordKind::Staff],
                may_certify: false,
            },
        }
    }

    /// True when this scope allows `kind`.
    pub fn allows(&self, kind: RecordKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// True when `other` is no wider than `self`.
    pub fn contains(&self, other: &Scope) -> bool {
        (self.subtree || !other.subtree)
            && (self.may_certify || !other.may_certify)
            && other.kinds.iter().all(|k| self.kinds.contains(k))
    }
}

/// The signed part of a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertBody {
    /// The key being certified.
    pub holder: DeviceId,
    /// The hall the holder acts for.
    pub hall: HallId,
    /// That hall's level.
    pub level: Level,
    /// That hall's parent; `None` only for the city centre.
    pub parent: Option<HallId>,
    /// That hall's name (Chinese, as people know it).
    pub hall_name: String,
    /// Operator or administrator.
    pub role: Role,
    /// Halls, record kinds and certifying right.
    pub scope: Scope,
    /// Valid for changes the holder timestamps at or after this, ms since the Unix epoch.
    pub valid_from_ms: i64,
    /// Valid for changes timestamped before this; `None` for no expiry.
    pub valid_until_ms: Option<i64>,
    /// Set on a key-rotation certificate: the certificate of the old key, which signs this one and
    /// whose scope this one repeats exactly.
    pub successor_of: Option<CertId>,
    /// Who signed: an administrator whose jurisdiction covers `hall`, or the genesis key itself.
    pub issuer: DeviceId,
    /// When the issuer says it signed, in ms since the Unix epoch: shown to people, never trusted for order.
    pub issued_at_ms: i64,
}

/// A certificate: a body and the issuer's signature over it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// What is certified.
    pub body: CertBody,
    /// The issuer's signature over [`CertBody`]'s canonical bytes.
    #[serde(with = "serde_bytes")]
    pub signature: [u8; 64],
}

/// A certificate's id: the first 16 bytes of the SHA-256 of its encoding, in hex.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CertId(pub String);

impl fmt::Display for CertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertId({})", self.0)
    }
}

impl CertBody {
    /// The genesis key's certificate of itself as the administrator of the city hall `hall`: what
    /// `hallsync init --genesis` signs first, and where every other certificate's chain starts.
    pub fn city_root(holder: DeviceId, hall: HallId, hall_name: String, issued_at_ms: i64) -> Self {
        CertBody {
            holder,
            hall,
            level: Level::City,
            parent: None,
            hall_name,
            role: Role::Admin,
            scope: Scope::root(),
            valid_from_ms: 0,
            valid_until_ms: None,
            successor_of: None,
            issuer: holder,
            issued_at_ms,
        }
    }

    /// True when a change timestamped `at_ms` falls in this certificate's validity period.
    pub fn valid_at(&self, at_ms: i64) -> bool {
        at_ms >= self.valid_from_ms && self.valid_until_ms.is_none_or(|until| at_ms < until)
    }

    fn canonical(&self) -> Result<Vec<u8>, TrustError> {
        let encoded = postcard::to_stdvec(self).map_err(|e| TrustError::Encoding {
            what: "certificate body",
            reason: e.to_string(),
        })?;
        Ok(signing_bytes(CERT_DOMAIN, &[&encoded]))
    }
}

impl Certificate {
    /// Signs `body` with `issuer`.
    ///
    /// # Errors
    /// [`TrustError::IssuerMismatch`] when `body.issuer` is not `issuer`'s id.
    pub fn sign(body: CertBody, issuer: &DeviceKey) -> Result<Self, TrustError> {
        if body.issuer != issuer.device_id() {
            return Err(TrustError::IssuerMismatch);
        }
        if body.hall_name.len() > HALL_NAME_BYTES_MAX {
            return Err(TrustError::HallNameTooLong {
                bytes: body.hall_name.len(),
                bytes_max: HALL_NAME_BYTES_MAX,
            });
        }
        let signature = issuer.sign(&body.canonical()?);
        Ok(Certificate { body, signature })
    }

    /// True when the signature is the issuer's over this body (says nothing of the issuer's authority).
    pub fn signature_ok(&self) -> bool {
        match self.body.canonical() {
            Ok(bytes) => self.body.issuer.verify(&bytes, &self.signature),
            Err(_) => false,
        }
    }

    /// The content address of this certificate.
    pub fn id(&self) -> CertId {
        let encoded = self.to_bytes();
        CertId(hex::encode(&Sha256::digest(&encoded)[..16]))
    }

    /// The wire and storage encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Encoding a plain struct of fixed-shape fields into a Vec cannot fail.
        crate::encoding::postcard_bytes(self)
    }

    /// Decodes bytes from the network or the disk.
    ///
    /// # Errors
    /// [`TrustError::Encoding`] for anything that is not a certificate.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TrustError> {
        postcard::from_bytes(bytes).map_err(|e| TrustError::Encoding {
            what: "certificate",
            reason: e.to_string(),
        })
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Certificate({} {} {} of {} by {})",
            self.id(),
            self.body.role.as_str(),
            self.body.holder.short(),
            self.body.hall,
            self.body.issuer.short()
        )
    }
}
