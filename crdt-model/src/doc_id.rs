//! Document ids: `trust`, `item/CODE`, `station/HALL/CODE`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::RecordError;
use crate::hall::{is_short_token, HallId};

/// Longest item code accepted (a 33-character handling-item code fits, C1–C2).
pub const ITEM_CODE_CHARS_MAX: usize = 40;

/// A catalogue item's code (事项编码): a short token safe in record ids; the C1/C2 shape checks are
/// in the item-code rules (`records::item_code`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemCode(String);

impl TryFrom<String> for ItemCode {
    type Error = RecordError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        ItemCode::new(&text)
    }
}

impl From<ItemCode> for String {
    fn from(code: ItemCode) -> String {
        code.0
    }
}

impl ItemCode {
    /// Validates and wraps `text`.
    ///
    /// # Errors
    /// [`RecordError::BadItemCode`] for an empty, too long or non-ASCII code.
    pub fn new(text: &str) -> Result<Self, RecordError> {
        if is_short_token(text, ITEM_CODE_CHARS_MAX) {
            Ok(ItemCode(text.to_string()))
        } else {
            Err(RecordError::BadItemCode {
                text: text.chars().take(64).collect(),
            })
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ItemCode({})", self.0)
    }
}

/// What a document holds, parsed from its id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocKind {
    /// The network's certificates.
    Trust,
    /// One catalogue item, shared by every hall (四级四同).
    Item(ItemCode),
    /// One item's stationing at one hall (事项进驻).
    Station(HallId, ItemCode),
    /// The approval policies.
    Policy,
    /// The working-day calendar of a year.
    Calendar(i32),
    /// One person's window-staff filing at a hall.
    Staff(HallId, String),
    /// One department's stationing at a hall.
    Department(HallId, String),
    /// A case accepted at the first hall and handled at the second.
    Case(HallId, HallId, String),
}

/// A document id as it travels on the wire and sits in the store.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId {
    text: String,
    kind: DocKind,
}

impl DocId {
    /// The trust document's id.
    pub fn trust() -> Self {
        DocId::from_kind(DocKind::Trust)
    }

    /// The approval policy record's id.
    pub fn policy() -> Self {
        DocId::from_kind(DocKind::Policy)
    }

    /// The id of `year`'s working-day calendar.
    pub fn calendar(year: i32) -> Self {
        DocId::from_kind(DocKind::Calendar(year))
    }

    /// The id of case `case_no`, accepted at `accepting` and handled at `handling`.
    pub fn case(accepting: &HallId, handling: &HallId, case_no: &str) -> Self {
        DocId::from_kind(DocKind::Case(
            accepting.clone(),
            handling.clone(),
            case_no.to_string(),
        ))
    }

    /// The id of department `dept`'s stationing at `hall`.
    pub fn department(hall: &HallId, dept: &str) -> Self {
        DocId::from_kind(DocKind::Department(hall.clone(), dept.to_string()))
    }

    /// The id of `person`'s staff filing at `hall`.
    pub fn staff(hall: &HallId, person: &str) -> Self {
        DocId::from_kind(DocKind::Staff(hall.clone(), person.to_string()))
    }

    /// The id of the catalogue item `code`.
    pub fn item(code: &ItemCode) -> Self {
        DocId::from_kind(DocKind::Item(code.clone()))
    }

    /// The id of item `code`'s stationing at `hall`.
    pub fn station(hall: &HallId, code: &ItemCode) -> Self {
        DocId::from_kind(DocKind::Station(hall.clone(), code.clone()))
    }

    fn from_kind(kind: DocKind) -> Self {
        let text = match &kind {
            DocKind::Trust => "trust".to_string(),
            DocKind::Policy => "policy".to_string(),
            DocKind::Calendar(year) => format!("calendar/{year}"),
            DocKind::Staff(hall, person) => format!("staff/{hall}/{person}"),
            DocKind::Department(hall, dept) => format!("dept/{hall}/{dept}"),
            DocKind::Case(a, h, no) => format!("case/{a}/{h}/{no}"),
            DocKind::Item(code) => format!("item/{code}"),
            DocKind::Station(hall, code) => format!("station/{hall}/{code}"),
        };
        DocId { text, kind }
    }

    /// The parsed kind.
    pub fn kind(&self) -> &DocKind {
        &self.kind
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for DocId {
    type Err = RecordError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || RecordError::BadDocId {
            text: text.chars().take(80).collect(),
        };
        let parts: Vec<&str> = text.split('/').collect();
        let kind = match parts.as_slice() {
            ["trust"] => DocKind::Trust,
            ["policy"] => DocKind::Policy,
            ["calendar", year] if year.len() == 4 => DocKind::Calendar(
                year.parse()
                    .ok()
                    .filter(|y| (2000..=2200).contains(y))
                    .ok_or_else(bad)?,
            ),
            ["item", code] => DocKind::Item(ItemCode::new(code).map_err(|_| bad())?),
            ["staff", hall, person] if is_short_token(person, 40) => {
                DocKind::Staff(HallId::new(hall).map_err(|_| bad())?, person.to_string())
            }
            ["case", a, h, no] if is_short_token(no, 40) => DocKind::Case(
                HallId::new(a).map_err(|_| bad())?,
                HallId::new(h).map_err(|_| bad())?,
                no.to_string(),
            ),
            ["dept", hall, dept] if is_short_token(dept, 40) => {
                DocKind::Department(HallId::new(hall).map_err(|_| bad())?, dept.to_string())
            }
            ["station", hall, code] => DocKind::Station(
                HallId::new(hall).map_err(|_| bad())?,
                ItemCode::new(code).map_err(|_| bad())?,
            ),
            _ => return Err(bad()),
        };
        Ok(DocId::from_kind(kind))
    }
}

impl TryFrom<String> for DocId {
    type Error = RecordError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<DocId> for String {
    fn from(id: DocId) -> String {
        id.text
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({})", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_round_trip() {
        for text in [
            "trust",
            "policy",
            "item/11440300MB2C",
            "station/440305/11440300MB2C",
        ] {
            let id: DocId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
        }
    }

    #[test]
    fn malformed_doc_ids_are_rejected() {
        for text in [
            "",
            "trust/x",
            "item/",
            "item/a b",
            "station/440305",
            "other/1",
            "item/a/b/c",
        ] {
            assert!(text.parse::<DocId>().is_err(), "{text}");
        }
    }
}
