//! Halls and their levels.
//!
//! A hall's level is an explicit attribute, never inferred from the shape of its code: Dongguan's towns
//! sit directly under the city, and parks (园区) may have no division code at all (DOMAIN-REFERENCE R4,
//! R6). So a hall id is any short ASCII token, and the tree comes from the certificates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::RecordError;

/// Longest hall id accepted, in characters (a 12-digit statistical code fits with room for a suffix).
pub const HALL_ID_CHARS_MAX: usize = 32;

/// A hall's id: usually its division code (R1–R3), or any letters, digits and '-' for halls without one.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HallId(String);

impl HallId {
    /// Validates and wraps `text`.
    ///
    /// # Errors
    /// [`RecordError::BadHallId`] for an empty, too long or non-ASCII id.
    pub fn new(text: &str) -> Result<Self, RecordError> {
        if is_short_token(text, HALL_ID_CHARS_MAX) {
            Ok(HallId(text.to_string()))
        } else {
            Err(RecordError::BadHallId {
                text: text.chars().take(64).collect(),
            })
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for HallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HallId({})", self.0)
    }
}

/// True for 1 to `chars_max` ASCII letters, digits or '-': the shape of every id people type (hall
/// ids, item codes), safe in record ids, file names and URLs.
pub(crate) fn is_short_token(text: &str, chars_max: usize) -> bool {
    !text.is_empty()
        && text.len() <= chars_max
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The tier of a hall. Ordered from the top: a hall's parent always has a smaller level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 市政务服务中心, the root of trust.
    City,
    /// 区/县政务服务中心.
    District,
    /// 镇/街道政务服务中心 or 便民服务中心.
    Township,
    /// 村/社区便民服务站.
    Village,
}

impl Level {
    /// Every level, top first.
    pub const ALL: [Level; 4] = [
        Level::City,
        Level::District,
        Level::Township,
        Level::Village,
    ];

    /// The name used in config files, the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Township => "township",
            Level::Village => "village",
        }
    }

    /// Chinese label first, English second, as shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Level::City => "市级 city",
            Level::District => "区县 district",
            Level::Township => "镇街 township",
            Level::Village => "村社区 village",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = RecordError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == text)
            .ok_or_else(|| RecordError::BadLevel {
                text: text.chars().take(64).collect(),
            })
    }
}

/// What the trust state knows of a hall: taken from the certificates that name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HallInfo {
    /// The hall.
    pub id: HallId,
    /// Its tier.
    pub level: Level,
    /// The hall above it; `None` only for the city centre.
    pub parent: Option<HallId>,
    /// Its name, as certified.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hall_ids_are_short_ascii_tokens() {
        assert!(HallId::new("441900003000").is_ok());
        assert!(HallId::new("songshan-lake").is_ok());
        assert!(HallId::new("").is_err());
        assert!(HallId::new("有中文").is_err());
        assert!(HallId::new(&"9".repeat(33)).is_err());
    }

    #[test]
    fn levels_parse_and_order_top_down() {
        assert_eq!("township".parse::<Level>().unwrap(), Level::Township);
        assert!("county".parse::<Level>().is_err());
        assert!(Level::City < Level::Village);
    }
}
