//! Error enums, one per operation family.

/// Parsing device ids and keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The text is not a device id; the reason says which part is wrong.
    #[error("`{text}` is not a device id: {reason} (copy it again from `hallsync status` on that device)")]
    BadDeviceId {
        /// What was given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes are not an ed25519 public key.
    #[error("the bytes are not an ed25519 public key")]
    NotAKey,
}

/// Issuing and checking certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The certificate's signature does not verify.
    #[error("certificate {cert} has a bad signature")]
    BadCertSignature {
        /// The certificate.
        cert: String,
    },
    /// A self-signed certificate that is not the genesis key's city administrator certificate.
    #[error("only the genesis key's own certificate may be self-signed, for a city hall with no parent, as admin")]
    BadRoot,
    /// The issuer's administrator certificates do not cover the hall.
    #[error("issuer {issuer} has no administrator certificate whose jurisdiction covers hall {hall}: an administrator may certify only its own hall and the halls under it")]
    OutsideJurisdiction {
        /// Short id of the issuer.
        issuer: String,
        /// The hall it tried to certify.
        hall: String,
    },
    /// The parent hall is not known yet.
    #[error("parent hall {hall} is not known to this network: certify the parent hall first")]
    UnknownHall {
        /// The missing hall.
        hall: String,
    },
    /// A child hall must be below its parent's level.
    #[error("hall {hall} at level {level} cannot sit under a hall at level {parent_level}: a parent is always higher")]
    LevelOrder {
        /// The hall.
        hall: String,
        /// Its level.
        level: String,
        /// Its parent's level.
        parent_level: String,
    },
    /// The hall is already known with another level or parent.
    #[error("hall {hall} is already certified with another level or parent: use the same level and parent")]
    HallConflict {
        /// The hall.
        hall: String,
    },
    /// The certificate is wider than every certificate its issuer could issue it from.
    #[error("issuer {issuer} may not issue this certificate: it must be allowed to certify, and the new certificate must be no wider (halls, record kinds, certifying right, validity period) than its own")]
    WiderThanIssuer {
        /// Short id of the issuer.
        issuer: String,
    },
    /// A key-rotation certificate that does not repeat its predecessor exactly.
    #[error("a key-rotation certificate must be signed by the old key and repeat its certificate's hall, role, scope and validity exactly")]
    BadSuccessor,
    /// The body names another issuer than the signing key.
    #[error("the certificate names another issuer than the key signing it")]
    IssuerMismatch,
    /// The hall name exceeds the limit.
    #[error("hall name is {bytes} bytes; at most {bytes_max} are allowed")]
    HallNameTooLong {
        /// Its length.
        bytes: usize,
        /// The limit.
        bytes_max: usize,
    },
    /// Not a role name.
    #[error("`{text}` is not a role: use operator or admin")]
    BadRole {
        /// What was given.
        text: String,
    },
    /// A peer that is not one of this network's devices asked to sync.
    #[error("device {device} is not a member of this network: {reason}; an administrator invites a device with `hallsync invite`")]
    NotAMember {
        /// Short id of the device.
        device: String,
        /// Why its membership was not shown.
        reason: String,
    },
    /// Bytes that do not decode.
    #[error("cannot encode or decode the {what}: {reason}")]
    Encoding {
        /// What was being encoded or decoded.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
}

/// Record ids and field values given by people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Not a hall id.
    #[error("`{text}` is not a hall id: use 1 to 32 ASCII letters, digits or '-' (a division code, R1–R3, or a park's own id, R6)")]
    BadHallId {
        /// What was given.
        text: String,
    },
    /// Not a level.
    #[error("`{text}` is not a level: use city, district, township or village")]
    BadLevel {
        /// What was given.
        text: String,
    },
    /// Not a document id.
    #[error("`{text}` is not a record id: expected trust, policy, calendar/YYYY, item/CODE, station/HALL/CODE, staff/HALL/PERSON, dept/HALL/DEPT or case/ACCEPTING/HANDLING/NO")]
    BadDocId {
        /// What was given.
        text: String,
    },
    /// Not an item code.
    #[error("`{text}` is not an item code: use 1 to 40 ASCII letters, digits or '-' (C1, C2)")]
    BadItemCode {
        /// What was given.
        text: String,
    },
    /// Not an item type.
    #[error("`{text}` is not an item type: use one of {allowed}")]
    BadItemType {
        /// What was given.
        text: String,
        /// The allowed values.
        allowed: String,
    },
    /// A text field is empty or too long.
    #[error("field {field} must have 1 to {chars_max} characters, got {chars}")]
    BadText {
        /// The field.
        field: &'static str,
        /// Its length.
        chars: usize,
        /// The limit.
        chars_max: usize,
    },
    /// A rule of the standards, named by its id.
    #[error("{rule}: {message}")]
    Rule {
        /// The rule id, e.g. C5.
        rule: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// A number out of range.
    #[error("field {field} is {value}; it must be between {min} and {max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value.
        value: i64,
        /// The lower bound.
        min: i64,
        /// The upper bound.
        max: i64,
    },
}
