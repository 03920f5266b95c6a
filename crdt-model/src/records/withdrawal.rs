//! Adjustment and withdrawal of a stationed item (ST 5.3.4, 8; DOMAIN-REFERENCE iii-2, S4–S6).
//!
//! A withdrawal is a stationing proposal whose action is `withdraw`; it needs a written reason and
//! its legal basis before it may be approved (S4). Once approved, the management department and the
//! department each publish it, and the item list is updated, within 3 working days (ST 8.1.2, 8.2.1;
//! S5): a publication is a signed attestation (`publication/<signer>/<digest>`) and the record shows the
//! due date and whether it is overdue. A hall that records the withdrawal as executed while no approval
//! covers it is flagged (ST 8.2.2; S6).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::DeviceId;

/// Withdrawal reasons (ST 8.1.1): code and label.
pub const REASON_KINDS: [(&str, &str); 4] = [
    ("law_change", "法律法规调整"),
    ("cancelled", "事项取消或下放"),
    ("negotiated", "协商撤离"),
    ("other", "其他"),
];

/// Working days within which an approved withdrawal must be published (ST 8.1.2, 8.2.1).
pub const PUBLISH_WORKING_DAYS: u32 = 3;

/// Prefix of publication keys.
pub const PUBLICATION_PREFIX: &str = "publication/";

/// Who published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Publisher {
    /// The management department (政务服务管理部门): an administrator of the supervising tier.
    Management,
    /// The stationed department: the hall's own people.
    Department,
}

/// A signed statement that the withdrawal was published (and, for management, the item list updated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publication {
    /// Who publishes.
    pub by: Publisher,
    /// When the signer says it published, ms since the Unix epoch.
    pub at_ms: i64,
    /// Where (portal, counter, app …), for the record.
    pub channels: String,
}

impl Publication {
    /// The key `signer` writes it under.
    pub fn key(&self, signer: &DeviceId) -> String {
        let digest = Sha256::digest(format!("{:?}{}", self.by, self.at_ms).as_bytes());
        format!(
            "{PUBLICATION_PREFIX}{}/{}",
            signer.short(),
            hex::encode(&digest[..6])
        )
    }

    /// The stored value.
    pub fn to_value(&self) -> String {
        // Plain data always serializes.
        crate::encoding::json_text(self)
    }

    /// Parses a stored value.
    pub fn parse(text: &str) -> Option<Publication> {
        let p: Publication = serde_json::from_str(text).ok()?;
        (p.channels.chars().count() <= 500).then_some(p)
    }
}
