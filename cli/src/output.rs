//! Human-readable output: Chinese labels with English beside them. `--json` prints the raw value.
//!
//! Every answer is read into the node's own answer types (`hallsync_node::engine::response` and the
//! model's views) before it is printed, so a field the node renamed fails with an error that names
//! it instead of printing "-".

use anyhow::{Context, Result};
use hallsync_model::audit::AuditReport;
use hallsync_model::calendar::YearCalendar;
use hallsync_model::records::case::CaseState;
use hallsync_node::engine::response::{
    BundleImported, CasesPage, DepartmentList, DueReport, ImportReport, InviteToken, ItemsPage,
    PeerStatus, PendingPage, PolicyReport, QuarantinePage, Revoked, Rotated, StaffList,
    StatusReport, StoreCheck, Written,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Reads the node's answer to `kind` as `T`.
fn typed<T: DeserializeOwned>(kind: &str, value: &Value) -> Result<T> {
    serde_json::from_value(value.clone()).with_context(|| {
        format!(
            "the node's answer to `{kind}` is not in the form this CLI reads; are the node and the CLI the same version? (`--json` prints it as it came)"
        )
    })
}

/// Prints `value` as JSON or as text for `kind` (the command's name).
///
/// # Errors
/// The answer is not of the form `kind` has (a node of another version).
pub fn print(kind: &str, value: &Value, json: bool) -> Result<()> {
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return Ok(());
    }
    match kind {
        "status" => status(&typed(kind, value)?),
        "peer-list" => peer_list(&typed(kind, value)?),
        "items" => items(&typed(kind, value)?),
        "pending" => pending(&typed(kind, value)?),
        "quarantine" => quarantine(&typed(kind, value)?),
        "audit" => audit(&typed(kind, value)?),
        "console" => {
            let link: hallsync_node::console::ConsoleLink = typed(kind, value)?;
            outln!(
                "在浏览器中打开（{} 秒内有效，只能用一次） open in a browser (good once, for {} s):",
                link.expires_in_s,
                link.expires_in_s
            );
            outln!("{}", link.url);
        }
        "access-log" => {
            let log: hallsync_node::engine::access_log::AccessLog = typed(kind, value)?;
            if log.entries.is_empty() {
                outln!("没有记录 no personal data has been shown on this node");
            }
            for e in &log.entries {
                outln!("{}  {}  {}  by {}", e.at_ms, e.case, e.what, e.by);
            }
        }
        "halls" => {
            let tree: hallsync_node::engine::response::HallTree = typed(kind, value)?;
            for h in &tree.halls {
                outln!("{}{} ({})  {}", "  ".repeat(h.depth), h.name, h.id, h.level);
            }
        }
        "store-check" => store_check(&typed(kind, value)?),
        "cases" => cases(&typed(kind, value)?),
        "dept-list" => departments(&typed(kind, value)?),
        "staff-list" => staff(&typed(kind, value)?),
        "catalogue-import" => catalogue_import(&typed(kind, value)?),
        "calendar-show" => calendar(&typed(kind, value)?),
        "calendar-due" => due(&typed(kind, value)?),
        "policy-show" => policy(&typed(kind, value)?),
        "revoke" => {
            let r: Revoked = typed(kind, value)?;
            outln!(
                "已吊销 revoked {} certificate(s) by revocation {}; kept what it signed in {} record(s)",
                r.certificates_revoked,
                r.revocation,
                r.kept_records
            );
        }
        "rotate-key" => {
            let r: Rotated = typed(kind, value)?;
            outln!("新设备编号 new device id: {}", r.device_id);
            outln!(
                "旧密钥已停用 old key retired: {} (file {})",
                r.old_device_id,
                r.retired_key_file
            );
        }
        "invite" => {
            let t: InviteToken = typed(kind, value)?;
            outln!("邀请令牌 invitation token (give it to the invitee):");
            outln!("{}", t.token);
        }
        "backup" => {
            let b: hallsync_node::engine::response::BackupWritten = typed(kind, value)?;
            outln!(
                "已备份 backed up to {} ({} bytes of store); it holds the device key: keep it as safe as the key",
                b.file,
                b.store_bytes
            );
        }
        "restore" => {
            let r: hallsync_node::engine::response::Restored = typed(kind, value)?;
            outln!(
                "已恢复 restored into {}: hall {}, device {}; start it with `hallsync run --data {}` (stop the original first)",
                r.restored,
                r.hall,
                r.device_id,
                r.restored
            );
        }
        "import" => {
            let b: BundleImported = typed(kind, value)?;
            outln!(
                "已导入 applied {}, 隔离 quarantined {}, 拒收 refused {}, 已有 already held {}",
                b.applied,
                b.quarantined,
                b.refused,
                b.duplicates
            );
        }
        _ => match serde_json::from_value::<Written>(value.clone()) {
            Ok(w) => written(&w),
            // Answers of one or two values (`stop`, `net`, `export`): each as it came.
            Err(_) => {
                for (key, v) in value.as_object().into_iter().flatten() {
                    outln!("{key}: {v}");
                }
            }
        },
    }
    Ok(())
}

fn written(w: &Written) {
    outln!(
        "已签名并持久化 signed and stored: {} (change {})",
        w.doc,
        w.change
    );
    if let Some(p) = &w.proposal {
        outln!(
            "提案 proposal {} — {} {} at hall {} ({}/{} 审批 approvals)",
            p.id,
            p.action,
            p.item,
            p.hall,
            p.approvals,
            p.approvals_required
        );
    }
    if let Some(note) = &w.note {
        outln!("注意 note: {note}");
    }
    if let Some(c) = &w.case {
        outln!("案件 case {}: {}", c.doc, state_label(c.state));
    }
}

fn state_label(state: CaseState) -> String {
    format!("{} {state}", state.label())
}

fn status(v: &StatusReport) {
    outln!("设备 device        {}", v.device_id);
    let network = v
        .membership
        .as_ref()
        .map_or("(未加入 not joined)", |m| m.network_id.as_str());
    outln!("网络 network       {network}");
    outln!(
        "大厅 hall          {} {} ({})",
        v.hall,
        v.hall_name,
        v.level
    );
    if let Some(m) = &v.membership {
        let r: Vec<String> = m
            .roles
            .iter()
            .map(|r| format!("{}@{}", r.role, r.hall))
            .collect();
        outln!("角色 roles         {}", r.join(", "));
    }
    let running = match (v.running, v.online) {
        (true, true) => "运行中 running",
        (true, false) => "运行中·离线 running, offline",
        (false, _) => "未运行 not running",
    };
    outln!("节点 node          {running}");
    if let Some(reach) = &v.reach {
        outln!("可达性 reach       {reach}");
    }
    for addr in &v.announced {
        outln!("公布地址 announced {addr}");
    }
    for addr in &v.listen_addrs {
        outln!("地址 address       {addr}");
    }
    outln!("已连接 peers       {}", v.connected_peers.len());
    for p in v.peers.iter().filter(|p| p.connected) {
        outln!("  {}", peer_line(p));
    }
    if let Some(m) = &v.membership {
        outln!("记录 documents     {}", m.documents);
        outln!(
            "隔离 quarantined   {} ({} bytes; {} evicted since start)",
            m.quarantined,
            m.quarantine_bytes,
            m.quarantine_evicted
        );
        outln!(
            "拒收 refused       {} changes (junk, forged or uncertified; not kept)",
            m.refused_changes
        );
        if m.missing_parts > 0 {
            outln!(
                "缺少 missing       {} sealed parts of cases (asked of peers every round)",
                m.missing_parts
            );
        }
    }
    outln!("拒绝准入 refused peers {}", v.admission_refusals);
    if let Some(addr) = &v.metrics_addr {
        outln!("监控指标 metrics   http://{addr}/metrics");
    }
    if let Some(m) = &v.membership {
        outln!("状态摘要 digest    {}", m.state_digest);
    }
}

/// How long ago `ms` (since the Unix epoch) was, in words.
fn ago(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "从未 never".into();
    };
    let now = hallsync_node::engine::now_ms();
    let s = (now - ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s} 秒前 s ago"),
        60..=3599 => format!("{} 分钟前 min ago", s / 60),
        3600..=172_799 => format!("{} 小时前 h ago", s / 3600),
        _ => format!("{} 天前 days ago", s / 86_400),
    }
}

/// One peer in a line: who, where, how it is doing.
fn peer_line(p: &PeerStatus) -> String {
    let halls = if p.halls.is_empty() {
        "(未知大厅 hall unknown)".to_string()
    } else {
        p.halls.join(",")
    };
    let sync = match p.in_sync {
        _ if p.catching_up => format!(
            "追赶中 catching up ({} changes received so far, more to come)",
            p.changes_received
        ),
        Some(true) => "已同步 in sync".to_string(),
        Some(false) => format!(
            "未同步 not in sync (它缺 it lacked {}, 我缺 we lacked {})",
            p.it_lacked, p.we_lacked
        ),
        None => "尚未同步 no round yet".into(),
    };
    format!(
        "{} 大厅 hall {halls}  {sync}  上次同步 last sync {}",
        short(&p.device_id),
        ago(p.last_sync_ms)
    )
}

fn peer_list(v: &StatusReport) {
    if !v.running {
        outln!("节点未运行 the node is not running: only the configured addresses are known");
    }
    if v.running && v.peers.is_empty() {
        outln!("没有对端 no peer seen since the node started");
    }
    for p in &v.peers {
        let state = if p.connected {
            "已连接 connected"
        } else {
            "未连接 not connected"
        };
        outln!("{}  {state}", peer_line(p));
        outln!("    设备 device {}", p.device_id);
        outln!("    地址 address /p2p/{}", p.peer_id);
        if let Some(path) = &p.path {
            outln!("    路径 path {path}");
        }
        outln!(
            "    最近联系 last seen {}  轮次 rounds {} ok / {} failed  字节 bytes in {} / out {}",
            ago(p.last_seen_ms),
            p.rounds_completed,
            p.rounds_failed,
            p.bytes_in,
            p.bytes_out
        );
        if let Some(d) = &p.shared_digest {
            outln!(
                "    共同记录摘要 shared digest {d} (the peer prints the same for us when in sync)"
            );
        }
        if let Some(e) = &p.last_error {
            outln!("    最近错误 last error: {e}");
        }
    }
    if !v.configured_peers.is_empty() {
        outln!("配置的地址 configured addresses (network.peers):");
        for a in &v.configured_peers {
            outln!("  {a}");
        }
    }
}

fn items(v: &ItemsPage) {
    outln!("事项目录 catalogue:");
    for i in &v.items {
        let code = i.fields.code.as_str();
        if !i.missing_elements.is_empty() {
            outln!(
                "  ⚠ {code} 指南不全 guide incomplete (C4): {}",
                i.missing_elements.join(", ")
            );
        }
        if let Some(w) = &i.code_warning {
            outln!("  ⚠ {code} 编码 code: {w}");
        }
        outln!(
            "  {code}  {}  [{}]  {}  承诺 promised {} 工作日 working days  通办 {}",
            i.fields.name,
            i.type_label,
            i.fields.department,
            i.fields.promised_days,
            i.fields.cross_region.zh()
        );
    }
    outln!("已进驻 stationed (effective):");
    for st in &v.stationed {
        if let Some(w) = &st.withdrawal {
            let overdue = if w.overdue {
                "  ⚠ 逾期未公布 OVERDUE (S5)".to_string()
            } else if let Some(late) = w.published_late_working_days {
                format!("  ⚠ 逾期公布 published {late} working days late (S5)")
            } else {
                String::new()
            };
            outln!(
                "  大厅 hall {}  事项 item {}  已撤离 withdrawn on {}: 公布截止 publish by {} (管理部门 management {}, 部门 department {}){overdue}",
                st.hall, st.item, w.approved_on, w.publish_due,
                w.published_by_management, w.published_by_department
            );
            continue;
        }
        if let Some(violation) = &st.violation {
            outln!(
                "  ⚠ 大厅 hall {} 事项 item {}: {violation}",
                st.hall,
                st.item
            );
        }
        let extra = if st.pending.is_some() {
            "  (另有待审批 also pending)"
        } else {
            ""
        };
        outln!(
            "  大厅 hall {}  事项 item {}  {}{extra}",
            st.hall,
            st.item,
            st.status
        );
    }
    outln!("未生效 not effective (pending or rejected):");
    for st in &v.not_effective {
        let why = st
            .rejected_reason
            .as_ref()
            .map(|r| format!("  驳回 rejected: {r}"))
            .unwrap_or_default();
        outln!(
            "  大厅 hall {}  事项 item {}  {}{why}",
            st.hall,
            st.item,
            st.status
        );
    }
}

fn short(id: &str) -> String {
    id.chars().take(15).collect()
}

fn pending(v: &PendingPage) {
    use hallsync_node::console::labels;
    if v.pending.is_empty() {
        outln!("没有待审批 no proposals await your decision");
    }
    for p in &v.pending {
        let by: Vec<String> = p.proposers.iter().map(|x| short(x)).collect();
        let subject = match p.doc.split('/').next().unwrap_or("") {
            "station" => format!("事项 item {} 大厅 hall {}", p.item, p.hall),
            "staff" => format!("人员 person {} 大厅 hall {}", p.item, p.hall),
            "dept" => format!("部门 department {} 大厅 hall {}", p.item, p.hall),
            _ => p.item.clone(),
        };
        let (kind_zh, kind_en) = labels::kind(&p.doc);
        let (action_zh, action_en) = labels::action(&p.action);
        outln!(
            "{}  {kind_zh} {kind_en}: {action_zh} {action_en}  {subject}  ({}/{} 审批 approvals)  by {}",
            p.id,
            p.approvals,
            p.approvals_required,
            by.join(", ")
        );
        for c in &p.changes {
            let (zh, en) = labels::field(&c.field);
            outln!(
                "    {zh} {en}: {} → {}",
                c.before.as_deref().unwrap_or("（无 none）"),
                c.after.as_deref().unwrap_or("（无 none）")
            );
        }
        for w in &p.warnings {
            outln!("    ! {w}");
        }
    }
}

fn audit(v: &AuditReport) {
    outln!("记录 record {}", v.doc);
    for c in &v.changes {
        outln!(
            "  {}  {:<11} by {}  {}",
            &c.hash[..12.min(c.hash.len())],
            c.status,
            short(&c.author),
            c.why
        );
        for cert in &c.certificates {
            outln!(
                "      证书 cert {} {}@{} {}",
                cert.id,
                cert.role,
                cert.hall,
                cert.standing
            );
        }
    }
    for a in &v.approvals {
        outln!(
            "  审批 {:?} by {} {}",
            a.decision,
            short(&a.approver),
            a.reason.as_deref().unwrap_or("")
        );
    }
}

fn quarantine(v: &QuarantinePage) {
    if v.quarantined.is_empty() {
        outln!("隔离区为空 quarantine is empty");
    }
    for q in &v.quarantined {
        outln!("{}  {}  [{}] {}", q.id, q.doc, q.reason_code, q.reason);
    }
    if v.evicted > 0 {
        outln!(
            "已淘汰 evicted {} oldest entries to stay within the bounds",
            v.evicted
        );
    }
    if !v.refused.is_empty() {
        outln!(
            "拒收未保留 refused and not kept: {} since start; the latest:",
            v.refused_total
        );
        for r in &v.refused {
            outln!(
                "  {}  by {}  [{}] {}",
                r.doc,
                r.author,
                r.reason_code,
                r.reason
            );
        }
    }
}

fn store_check(v: &StoreCheck) {
    if v.differences.is_empty() && v.unreadable_records == 0 {
        outln!(
            "存储一致 the store equals a rebuild from its signed changes: {} records, {} quarantined ({:.1} s)",
            v.records, v.quarantined, v.seconds
        );
        return;
    }
    outln!("存储不一致 the store differs from a rebuild from its signed changes:");
    for d in &v.differences {
        outln!("  {d}");
    }
    if v.unreadable_records > 0 {
        outln!("  {} stored records are unreadable", v.unreadable_records);
    }
}

fn cases(v: &CasesPage) {
    if v.cases.is_empty() {
        outln!("没有案件 no cases");
    }
    for c in &v.cases {
        let due = match (&c.due, c.working_days_left) {
            (Some(d), Some(left)) => {
                let provisional = if c.provisional {
                    " 暂定 provisional"
                } else {
                    ""
                };
                format!("截止 due {d}{provisional} (剩余 {left} 工作日 working days left)")
            }
            _ => "未受理 not accepted yet".into(),
        };
        let overdue = if c.overdue {
            "  ⚠ 逾期 OVERDUE"
        } else {
            ""
        };
        outln!(
            "  {}  {} → {}  事项 item {}  {}  {due}{overdue}",
            c.doc,
            c.accepting,
            c.handling,
            c.item,
            state_label(c.state)
        );
        if let Some(a) = &c.applicant {
            outln!("      申请人 applicant: {} {}", a.name, a.id);
        } else if let Some(at) = c.erased_at {
            outln!(
                "      个人信息已删除 personal data erased {} (D1)",
                hallsync_model::calendar::Date::from_unix_ms(at)
            );
        } else if c.sealed {
            outln!("      申请人信息已加密 applicant sealed to the parties");
        }
        for h in c.history.iter().filter(|h| !h.applied) {
            outln!(
                "      (未生效 not applied) {} → {}: {}",
                h.from,
                h.to,
                h.why_not.as_deref().unwrap_or("")
            );
        }
        for w in &c.warnings {
            outln!("      ⚠ {w}");
        }
    }
}

fn departments(v: &DepartmentList) {
    for d in &v.departments {
        let name = match (&d.filing, &d.pending) {
            (Some(f), _) => f.name.as_str(),
            (None, Some(p)) => p.item.as_str(),
            (None, None) => "",
        };
        let pending = if d.pending.is_some() {
            "  (另有待审批 pending change)"
        } else {
            ""
        };
        outln!(
            "  大厅 hall {}  {} {}  {} {}{pending}",
            d.hall,
            d.dept,
            name,
            d.status.zh(),
            d.status
        );
    }
}

fn staff(v: &StaffList) {
    for s in &v.staff {
        let Some(f) = &s.filing else {
            let doc = s.pending.as_ref().map_or("", |p| p.doc.as_str());
            outln!("  (待审批 pending filing) {doc}");
            continue;
        };
        outln!(
            "  {} {} 部门 department {} 窗口 window {} {} — {} (上岗 on duty {}, 离岗 left {})",
            f.person,
            f.name,
            f.department,
            f.window,
            f.role,
            s.state,
            f.on_duty_from.as_deref().unwrap_or("-"),
            f.left_on.as_deref().unwrap_or("-")
        );
        for note in s.held.iter().chain(&s.warnings) {
            outln!("      ⚠ {note}");
        }
    }
}

fn catalogue_import(v: &ImportReport) {
    for e in &v.errors {
        outln!(
            "第 {} 行 row {} 列 column「{}」: {}",
            e.row,
            e.row,
            e.column,
            e.message
        );
    }
    if v.ok && v.dry_run {
        outln!(
            "检查通过 all {} rows are good (dry run: nothing imported)",
            v.rows
        );
    } else if v.ok {
        outln!(
            "已导入 imported {} item(s), {} unchanged",
            v.imported,
            v.unchanged
        );
    }
}

fn calendar(y: &YearCalendar) {
    let published = if y.published {
        "已发布 published"
    } else {
        "暂定 provisional (weekdays only)"
    };
    outln!("{} 年 year: {published} — {}", y.year, y.source);
    let list = |days: &std::collections::BTreeSet<hallsync_model::calendar::Date>| {
        days.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    outln!("放假 days off: {}", list(&y.off_days));
    outln!(
        "调休上班 make-up working days: {}",
        list(&y.make_up_workdays)
    );
}

fn due(d: &DueReport) {
    let prov = if d.provisional {
        "  (暂定 provisional: a year's notice is not loaded, W6)"
    } else {
        ""
    };
    outln!(
        "自 from {} 起 {} 个工作日 working days → 截止 due {}{prov}",
        d.from,
        d.days,
        d.due
    );
    outln!("剩余 working days left from today: {}", d.working_days_left);
}

fn policy(p: &PolicyReport) {
    for (action, rule) in &p.effective {
        outln!(
            "规则 policy {action}: {} approver(s), tier {}",
            rule.approvers_required,
            rule.approver_tier.as_str()
        );
    }
    if let Some(p) = &p.pending {
        outln!(
            "待批准的修改 pending change {} ({}/{} approvals)",
            p.id,
            p.approvals,
            p.approvals_required
        );
    }
}

/// Ends the command after a failed write to stdout: quietly when the reader went away (a closed
/// pipe), with an error otherwise. Exiting here is the exception to returning errors: output is the
/// last thing a command does, after every store write it made is committed (redb is crash-safe, so
/// no destructor has work left), and threading a result through every printed line would only carry
/// this same decision up.
#[allow(clippy::disallowed_methods)]
pub fn stdout_failed(error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("错误 error: cannot write the output: {error}");
    std::process::exit(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_with_a_renamed_field_is_an_error_that_names_it() {
        // Goal (issue #11): the CLI reads the node's answers typed; a renamed field is an error that
        // names it, never a silent "-".
        let good = serde_json::json!({ "pending": [], "next": null });
        assert!(typed::<PendingPage>("pending", &good).is_ok());
        let renamed = serde_json::json!({ "proposals": [], "next": null });
        let err = typed::<PendingPage>("pending", &renamed).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("`pending`") && text.contains("missing field"),
            "{text}"
        );
    }
}
