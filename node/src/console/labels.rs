//! Words the console shows: Chinese first, English beside it.
//!
//! Record keys, actions and states are codes in the records (so that every node reads them the same
//! way); people read them through these tables. A code without a label is shown as itself, so a
//! field added to a record is visible before it is translated, and `labels_cover_every_field`
//! catches the omission.

/// A record field's label, `(Chinese, English)`, by its key in any record kind.
pub fn field(key: &str) -> (&str, &str) {
    match key {
        "hall" => ("大厅", "hall"),
        "item" => ("事项", "item"),
        "action" => ("操作", "action"),
        "note" => ("备注", "note"),
        "reason" => ("撤离理由", "reason"),
        "basis" => ("法律依据", "legal basis"),
        "reason_kind" => ("撤离类型", "kind of reason"),
        "executed_at" => ("执行日期", "carried out on"),
        "proposed_at_ms" => ("提出时间", "proposed at"),
        "person" => ("人员编号", "person id"),
        "name" => ("名称 / 姓名", "name"),
        "department" => ("部门", "department"),
        "job_no" => ("工号", "job number"),
        "certificates" => ("资格证书", "certificates"),
        "window" => ("窗口", "window"),
        "replaces" => ("接替人员", "replaces"),
        "role" => ("岗位", "role"),
        "leave_reason" => ("离岗原因", "reason for leaving"),
        "trained_on" => ("培训日期", "trained on"),
        "on_duty_from" => ("上岗日期", "on duty from"),
        "left_on" => ("离岗日期", "left on"),
        "is_business_lead" => ("业务负责人", "business lead"),
        "dept" => ("部门编号", "department id"),
        "uscc" => ("统一社会信用代码", "credit code"),
        "plan" => ("进驻方案", "stationing plan"),
        "authorization_letter" => ("授权书", "letter of authorisation"),
        "filing" => ("备案材料", "filing"),
        "application" => ("申请书", "application"),
        "archives_handover" => ("档案移交", "archives handover"),
        "code" => ("事项编码", "item code"),
        "legacy_code" => ("沿用旧编码", "legacy code"),
        "item_type" => ("事项类型", "item type"),
        "legal_basis_setting" => ("设定依据", "legal basis (setting)"),
        "legal_basis_implementing" => ("实施依据", "legal basis (implementing)"),
        "conditions" => ("办理条件", "conditions"),
        "process" => ("办理流程", "process"),
        "is_fee" => ("是否收费", "charged"),
        "fee_standard" => ("收费标准", "fee standard"),
        "fee_basis" => ("收费依据", "fee basis"),
        "statutory_days" => ("法定时限（工作日）", "statutory limit (working days)"),
        "promised_days" => ("承诺时限（工作日）", "promised limit (working days)"),
        "cross_region" => ("通办范围", "cross-region scope"),
        "guide" => ("办事指南", "guide"),
        "materials" => ("申报材料", "materials"),
        "approvers_required" => ("审批人数", "approvers required"),
        "approver_tier" => ("审批层级", "approver tier"),
        other if other.starts_with("policy/") => ("审批规则", "approval policy"),
        other if other.starts_with("approval/") => ("审批意见", "decision"),
        other if other.starts_with("publication/") => ("公布记录", "publication"),
        other if other.starts_with("material/") => ("申报材料", "material"),
        other => (other, ""),
    }
}

/// A staff member's state, by the roster's code.
pub fn staff_state(code: &str) -> (&str, &str) {
    match code {
        "proposed" => ("备案待审批", "filing pending"),
        "filed" => ("已备案", "filed"),
        "trained" => ("已培训", "trained"),
        "on_duty" => ("在岗", "on duty"),
        "left" => ("已离岗", "left"),
        other => (other, ""),
    }
}

/// A staff role's label, by its code (the record's own table).
pub fn staff_role(code: &str) -> (&str, &str) {
    hallsync_model::records::staff::STAFF_ROLES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or((code, ""), |(c, zh)| (*zh, *c))
}

/// A hall level's label, by its code.
pub fn level(code: &str) -> (&str, &str) {
    match code {
        "city" => ("市级", "city"),
        "district" => ("区县级", "district"),
        "township" => ("镇街级", "township"),
        "village" => ("村居级", "village"),
        other => (other, ""),
    }
}

/// An action's label, by its code in any record kind.
pub fn action(code: &str) -> (&str, &str) {
    match code {
        "station" => ("进驻", "station"),
        "adjust" => ("调整", "adjust"),
        "withdraw" => ("撤离", "withdraw"),
        "file" => ("备案", "file"),
        "policy" => ("审批规则变更", "policy change"),
        "staff" => ("人员备案", "staff filing"),
        other => (other, ""),
    }
}

/// A record kind's label, by the first part of its id (`station/…`, `staff/…`).
pub fn kind(doc: &str) -> (&'static str, &'static str) {
    match doc.split('/').next().unwrap_or("") {
        "station" => ("事项进驻", "stationing"),
        "staff" => ("窗口人员", "window staff"),
        "dept" | "department" => ("部门进驻", "department"),
        "policy" => ("审批规则", "approval policy"),
        "item" => ("事项目录", "catalogue item"),
        "case" => ("通办件", "case"),
        "trust" => ("证书与信任", "certificates"),
        "calendar" => ("工作日历", "calendar"),
        _ => ("记录", "record"),
    }
}

/// A stationing's status, by the code the view gives.
pub fn station_status(code: &str) -> (&str, &str) {
    match code {
        "approved" => ("已生效", "in effect"),
        "approved+pending" => ("已生效，另有待审批", "in effect, change pending"),
        "pending" => ("待审批", "pending"),
        "rejected" => ("已驳回", "rejected"),
        "withdrawn" => ("已撤离", "withdrawn"),
        other => (other, ""),
    }
}

/// An audit status, by the code the audit gives.
pub fn audit_status(code: &str) -> (&str, &str) {
    match code {
        "effective" => ("已生效", "effective"),
        "pending" => ("待审批", "pending"),
        "rejected" => ("已驳回", "rejected"),
        "approval" => ("审批意见", "decision"),
        "trust" => ("证书变更", "certificate change"),
        "quarantined" => ("隔离等待", "waiting in quarantine"),
        other => (other, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cover_every_field_a_proposal_can_change() {
        for key in [
            "hall",
            "item",
            "action",
            "note",
            "reason",
            "basis",
            "reason_kind",
            "executed_at",
            "proposed_at_ms",
            "person",
            "name",
            "department",
            "job_no",
            "certificates",
            "window",
            "replaces",
            "role",
            "leave_reason",
            "trained_on",
            "on_duty_from",
            "left_on",
            "is_business_lead",
            "dept",
            "uscc",
            "plan",
            "authorization_letter",
            "filing",
            "application",
            "archives_handover",
            "policy/stationing",
        ] {
            let (zh, en) = field(key);
            assert!(!en.is_empty() && zh != key, "{key} has no label");
        }
        assert_eq!(field("unknown_key"), ("unknown_key", ""));
    }
}
