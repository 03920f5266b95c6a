//! Human-readable output: Chinese labels with English beside them. `--json` prints the raw value.

use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// Prints `value` as JSON or as text for `kind` (the command's name).
pub fn print(kind: &str, value: &Value, json: bool) {
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    match kind {
        "status" => status(value),
        "items" => items(value),
        "pending" => pending(value),
        "quarantine" => quarantine(value),
        "audit" => audit(value),
        "store-check" => {
            let differences = value["differences"].as_array().cloned().unwrap_or_default();
            if differences.is_empty() && value["unreadable_records"].as_u64() == Some(0) {
                outln!(
                    "存储一致 the store equals a rebuild from its signed changes: {} records, {} quarantined ({:.1} s)",
                    value["records"], value["quarantined"], value["seconds"].as_f64().unwrap_or(0.0)
                );
            } else {
                outln!("存储不一致 the store differs from a rebuild from its signed changes:");
                for d in differences {
                    outln!("  {}", s(&d));
                }
                if let Some(n) = value["unreadable_records"].as_u64().filter(|n| *n > 0) {
                    outln!("  {n} stored records are unreadable");
                }
            }
        }
        "cases" => {
            let list = value["cases"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                outln!("没有案件 no cases");
            }
            for c in list {
                let due = match (c["due"].as_str(), c["working_days_left"].as_i64()) {
                    (Some(d), Some(left)) => format!("截止 due {d} (剩余 {left} 工作日 working days left)"),
                    _ => "未受理 not accepted yet".into(),
                };
                let overdue = if c["overdue"] == Value::Bool(true) { "  ⚠ 逾期 OVERDUE" } else { "" };
                outln!("  {}  {} → {}  事项 item {}  {}  {due}{overdue}", s(&c["doc"]), s(&c["accepting"]), s(&c["handling"]), s(&c["item"]), s(&c["state"]));
                for h in c["history"].as_array().into_iter().flatten().filter(|h| h["applied"] == Value::Bool(false)) {
                    outln!("      (未生效 not applied) {} → {}: {}", s(&h["from"]), s(&h["to"]), s(&h["why_not"]));
                }
            }
        }
        "dept-list" => {
            for d in value["departments"].as_array().into_iter().flatten() {
                let f = &d["filing"];
                let name = if f.is_null() { d["pending"]["item"].as_str().unwrap_or("") } else { s(&f["name"]) };
                let pending = if d["pending"].is_null() { "" } else { "  (另有待审批 pending change)" };
                outln!("  大厅 hall {}  {}  {}{pending}", s(&d["hall"]), name, s(&d["status"]));
            }
        }
        "staff-list" => {
            for v in value["staff"].as_array().into_iter().flatten() {
                let f = &v["filing"];
                if f.is_null() {
                    outln!("  (待审批 pending filing) {}", v["pending"]["doc"].as_str().unwrap_or(""));
                    continue;
                }
                outln!(
                    "  {} {} 窗口 window {} {} — {} (上岗 on duty {}, 离岗 left {})",
                    s(&f["person"]), s(&f["name"]), s(&f["window"]), s(&f["role"]), s(&v["state"]),
                    f["on_duty_from"].as_str().unwrap_or("-"), f["left_on"].as_str().unwrap_or("-")
                );
                for note in v["held"].as_str().into_iter().chain(v["warnings"].as_array().into_iter().flatten().filter_map(|w| w.as_str())) {
                    outln!("      ⚠ {note}");
                }
            }
        }
        "catalogue-import" => {
            for e in value["errors"].as_array().into_iter().flatten() {
                outln!("第 {} 行 row {} 列 column「{}」: {}", e["row"], e["row"], s(&e["column"]), s(&e["message"]));
            }
            if value["ok"] == Value::Bool(true) {
                if value["dry_run"] == Value::Bool(true) {
                    outln!("检查通过 all {} rows are good (dry run: nothing imported)", value["rows"]);
                } else {
                    outln!("已导入 imported {} item(s), {} unchanged", value["imported"], value["unchanged"]);
                }
            }
        }
        "calendar-show" => {
            let published = if value["published"] == Value::Bool(true) { "已发布 published" } else { "暂定 provisional (weekdays only)" };
            outln!("{} 年 year: {published} — {}", value["year"], s(&value["source"]));
            let list = |k: &str| value[k].as_array().map(|a| a.iter().map(|d| s(d).to_string()).collect::<Vec<_>>().join(" ")).unwrap_or_default();
            outln!("放假 days off: {}", list("off_days"));
            outln!("调休上班 make-up working days: {}", list("make_up_workdays"));
        }
        "calendar-due" => {
            let prov = if value["provisional"] == Value::Bool(true) { "  (暂定 provisional: a year's notice is not loaded, W6)" } else { "" };
            outln!("自 from {} 起 {} 个工作日 working days → 截止 due {}{prov}", s(&value["from"]), value["days"], s(&value["due"]));
            outln!("剩余 working days left from today: {}", value["working_days_left"]);
        }
        "policy-show" => {
            for (action, p) in value["effective"].as_object().into_iter().flatten() {
                outln!("规则 policy {action}: {} approver(s), tier {}", p["approvers_required"], s(&p["approver_tier"]));
            }
            if let Some(p) = value.get("pending").filter(|p| !p.is_null()) {
                outln!("待批准的修改 pending change {} ({}/{} approvals)", s(&p["id"]), p["approvals"], p["approvals_required"]);
            }
        }
        "revoke" => outln!(
            "已吊销 revoked {} certificate(s) by revocation {}; kept what it signed in {} record(s)",
            value["certificates_revoked"], s(&value["revocation"]), value["kept_records"]
        ),
        "rotate-key" => {
            outln!("新设备编号 new device id: {}", s(&value["device_id"]));
            outln!("旧密钥已停用 old key retired: {} (file {})", s(&value["old_device_id"]), s(&value["retired_key_file"]));
        }
        "invite" => {
            outln!("邀请令牌 invitation token (give it to the invitee):");
            outln!("{}", s(&value["token"]));
        }
        _ => changed(value),
    }
}

fn changed(value: &Value) {
    if let Some(doc) = value["doc"].as_str() {
        outln!(
            "已签名并持久化 signed and stored: {doc} (change {})",
            s(&value["change"])
        );
    }
    if let Some(p) = value.get("proposal").filter(|p| !p.is_null()) {
        outln!(
            "提案 proposal {} — {} {} at hall {}",
            s(&p["id"]),
            s(&p["action"]),
            s(&p["item"]),
            s(&p["hall"])
        );
    }
    for key in [
        "applied",
        "quarantined",
        "refused",
        "duplicates",
        "changes",
        "online",
        "stopping",
    ] {
        if let Some(v) = value.get(key) {
            outln!("{key}: {v}");
        }
    }
}

fn status(v: &Value) {
    outln!("设备 device        {}", s(&v["device_id"]));
    outln!(
        "网络 network       {}",
        v["network_id"].as_str().unwrap_or("(未加入 not joined)")
    );
    outln!(
        "大厅 hall          {} {} ({})",
        s(&v["hall"]),
        s(&v["hall_name"]),
        s(&v["level"])
    );
    if let Some(roles) = v["roles"].as_array() {
        let r: Vec<String> = roles
            .iter()
            .map(|r| format!("{}@{}", s(&r["role"]), s(&r["hall"])))
            .collect();
        outln!("角色 roles         {}", r.join(", "));
    }
    let running = if v["running"] == Value::Bool(true) {
        if v["online"] == Value::Bool(true) {
            "运行中 running"
        } else {
            "运行中·离线 running, offline"
        }
    } else {
        "未运行 not running"
    };
    outln!("节点 node          {running}");
    let peers = v["connected_peers"]
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0);
    outln!("已连接 peers       {peers}");
    outln!("记录 documents     {}", v["documents"]);
    outln!(
        "隔离 quarantined   {} ({} bytes; {} evicted since start)",
        v["quarantined"],
        v["quarantine_bytes"],
        v["quarantine_evicted"]
    );
    outln!(
        "拒收 refused       {} changes (junk, forged or uncertified; not kept)",
        v["refused_changes"]
    );
    outln!("拒绝准入 refused peers {}", v["admission_refusals"]);
    outln!("状态摘要 digest    {}", s(&v["state_digest"]));
}

fn items(v: &Value) {
    outln!("事项目录 catalogue:");
    for i in v["items"].as_array().into_iter().flatten() {
        let missing = i["missing_elements"]
            .as_array()
            .map(|a| a.iter().map(|m| s(m).to_string()).collect::<Vec<_>>())
            .unwrap_or_default();
        if !missing.is_empty() {
            outln!(
                "  ⚠ {} 指南不全 guide incomplete (C4): {}",
                s(&i["code"]),
                missing.join(", ")
            );
        }
        if let Some(w) = i["code_warning"].as_str() {
            outln!("  ⚠ {} 编码 code: {w}", s(&i["code"]));
        }
        outln!(
            "  {}  {}  [{}]  {}  承诺 promised {} 工作日 working days",
            s(&i["code"]),
            s(&i["name"]),
            s(&i["type_label"]),
            s(&i["department"]),
            i["promised_days"]
        );
    }
    outln!("已进驻 stationed (effective):");
    for st in v["stationed"].as_array().into_iter().flatten() {
        if let Some(w) = st.get("withdrawal").filter(|w| !w.is_null()) {
            let overdue = if w["overdue"] == Value::Bool(true) {
                "  ⚠ 逾期未公布 OVERDUE (S5)".to_string()
            } else if let Some(late) = w["published_late_working_days"].as_u64() {
                format!("  ⚠ 逾期公布 published {late} working days late (S5)")
            } else {
                String::new()
            };
            outln!(
                "  大厅 hall {}  事项 item {}  已撤离 withdrawn on {}: 公布截止 publish by {} (管理部门 management {}, 部门 department {}){overdue}",
                s(&st["hall"]), s(&st["item"]), s(&w["approved_on"]), s(&w["publish_due"]),
                w["published_by_management"], w["published_by_department"]
            );
            continue;
        }
        if let Some(violation) = st["violation"].as_str() {
            outln!(
                "  ⚠ 大厅 hall {} 事项 item {}: {violation}",
                s(&st["hall"]),
                s(&st["item"])
            );
        }
        let extra = if st["pending"].is_null() {
            ""
        } else {
            "  (另有待审批 also pending)"
        };
        outln!(
            "  大厅 hall {}  事项 item {}  {}{extra}",
            s(&st["hall"]),
            s(&st["item"]),
            s(&st["status"])
        );
    }
    outln!("未生效 not effective (pending or rejected):");
    for st in v["not_effective"].as_array().into_iter().flatten() {
        let why = st["rejected_reason"]
            .as_str()
            .map(|r| format!("  驳回 rejected: {r}"))
            .unwrap_or_default();
        outln!(
            "  大厅 hall {}  事项 item {}  {}{why}",
            s(&st["hall"]),
            s(&st["item"]),
            s(&st["status"])
        );
    }
}

fn pending(v: &Value) {
    let list = v["pending"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        outln!("没有待审批 no proposals await your decision");
    }
    for p in list {
        outln!(
            "{}  {} 事项 item {} 大厅 hall {}  ({}/{} 审批 approvals)  by {}",
            s(&p["id"]),
            s(&p["action"]),
            s(&p["item"]),
            s(&p["hall"]),
            p["approvals"],
            p["approvals_required"],
            p["proposers"]
                .as_array()
                .map(|a| a
                    .iter()
                    .map(|x| s(x).chars().take(15).collect::<String>())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        );
    }
}

fn audit(v: &Value) {
    outln!("记录 record {}", s(&v["doc"]));
    for c in v["changes"].as_array().into_iter().flatten() {
        let author: String = s(&c["author"]).chars().take(15).collect();
        outln!(
            "  {}  {:<11} by {author}  {}",
            &s(&c["hash"])[..12.min(s(&c["hash"]).len())],
            s(&c["status"]),
            s(&c["why"])
        );
        for cert in c["certificates"].as_array().into_iter().flatten() {
            outln!(
                "      证书 cert {} {}@{} {}",
                s(&cert["id"]),
                s(&cert["role"]),
                s(&cert["hall"]),
                s(&cert["standing"])
            );
        }
    }
    for a in v["approvals"].as_array().into_iter().flatten() {
        let approver: String = s(&a["approver"]).chars().take(15).collect();
        outln!(
            "  审批 {} by {approver} {}",
            s(&a["decision"]),
            a["reason"].as_str().unwrap_or("")
        );
    }
}

fn quarantine(v: &Value) {
    let list = v["quarantined"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        outln!("隔离区为空 quarantine is empty");
    }
    for q in list {
        outln!(
            "{}  {}  [{}] {}",
            s(&q["id"]),
            s(&q["doc"]),
            s(&q["reason_code"]),
            s(&q["reason"])
        );
    }
    if v["evicted"].as_u64().unwrap_or(0) > 0 {
        outln!(
            "已淘汰 evicted {} oldest entries to stay within the bounds",
            v["evicted"]
        );
    }
    let refused = v["refused"].as_array().cloned().unwrap_or_default();
    if !refused.is_empty() {
        outln!(
            "拒收未保留 refused and not kept: {} since start; the latest:",
            v["refused_total"]
        );
        for r in refused {
            outln!(
                "  {}  by {}  [{}] {}",
                s(&r["doc"]),
                s(&r["author"]),
                s(&r["reason_code"]),
                s(&r["reason"])
            );
        }
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
