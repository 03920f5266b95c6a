//! Complete sample catalogue items, for the demo and the tests: every guide element present (C4),
//! codes of the national 12-character shape (C1).

use hallsync_model::records::item::{ItemFields, Material};
use hallsync_model::ItemCode;

/// A complete item with code `code` (12 characters whose type part matches `item_type`).
///
/// # Panics
/// When `code` is not a short token; callers pass literals.
pub fn sample_item(
    code: &str,
    name: &str,
    item_type: &str,
    department: &str,
    promised_days: i64,
) -> ItemFields {
    let mut item = ItemFields::minimal(
        // A literal from the demo or a test: a bug there should stop it at once.
        ItemCode::new(code).expect("sample codes are valid tokens"),
        name.into(),
        item_type.into(),
        department.into(),
        promised_days,
    );
    item.legal_basis_setting = "《中华人民共和国行政许可法》".into();
    item.legal_basis_implementing = "《广东省政务服务事项实施清单》".into();
    item.conditions = "申请人为本市户籍居民或持有效居住证 applicant resides in the city".into();
    item.process =
        "收件 → 受理 → 审查 → 决定 → 送达 receive, accept, review, decide, deliver".into();
    item.statutory_days = promised_days.max(1) * 2;
    item.cross_region = "citywide".into();
    item.guide = format!("{name}办事指南 service guide");
    item.materials = vec![
        Material {
            id: "id-card".into(),
            name: "居民身份证".into(),
            form: "original".into(),
            count: 1,
            required: true,
            deferrable: false,
        },
        Material {
            id: "photo".into(),
            name: "近期免冠照片".into(),
            form: "original".into(),
            count: 2,
            required: true,
            deferrable: true,
        },
    ];
    item
}

/// A 12-character public-service code (type 20) with main item number `n`.
pub fn public_service_code(n: u32) -> String {
    format!("4420{:05}000", n % 100_000)
}
