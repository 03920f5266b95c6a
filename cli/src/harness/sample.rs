//! Complete sample catalogue items, for the demo and the tests: every guide element present (C4),
//! codes of the national 12-character shape (C1).

use hallsync_model::records::item::{ItemFields, ItemType};
use hallsync_model::ItemCode;

/// A complete item with code `code` (12 characters whose type part matches `item_type`).
///
/// # Panics
/// When `code` is not a short token; callers pass literals.
pub fn sample_item(
    code: &str,
    name: &str,
    item_type: ItemType,
    department: &str,
    promised_days: i64,
) -> ItemFields {
    // A literal from the demo or a test: a bug there should stop it at once.
    let code = ItemCode::new(code).expect("sample codes are valid tokens");
    ItemFields::example(code, name, item_type, department, promised_days)
}

/// A 12-character public-service code (type 20) with main item number `n`.
pub fn public_service_code(n: u32) -> String {
    format!("4420{:05}000", n % 100_000)
}
