//! 审计 Audit: any record explained as `hallsync audit` explains it — every change with its signer,
//! time, status and why, every decision — as a timeline.

use axum::extract::{Query, State};
use axum::Extension;
use maud::html;
use serde::Deserialize;

use super::{shell, Page};
use crate::console::guard::Authed;
use crate::console::labels;
use crate::console::layout::{self, device, label, Flash};
use crate::console::ConsoleState;
use crate::engine::Command;
use hallsync_model::audit::AuditReport;

/// The audit page's query.
#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    record: Option<String>,
}

/// `GET /console/audit?record=ID`.
pub async fn page(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(q): Query<AuditQuery>,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let record = q.record.clone().filter(|r| !r.trim().is_empty());
    let mut flash = Flash::default();
    let report: Option<AuditReport> = match &record {
        None => None,
        Some(r) => match console.ask(Command::Audit { record: r.clone() }).await {
            Ok(a) => Some(a),
            Err(e) => {
                flash.error = Some(e);
                None
            }
        },
    };
    let body = html! {
        form.inline method="get" action="/console/audit" {
            label for="record" { "记录 " small { "record" } }
            input #record type="text" name="record" size="50" value=[record.as_deref()] placeholder="item/CODE · station/HALL/CODE · staff/HALL/PERSON · case/… · trust";
            button type="submit" { "解释 Explain" }
        }
        @if let Some(a) = &report {
            h2 { (label(labels::kind(&a.doc))) " · " span.mono { (a.doc) } }
            ol.timeline {
                @for c in &a.changes {
                    li class=[(c.status != "effective").then_some("not")] {
                        strong { (label(labels::audit_status(&c.status))) }
                        " · " (layout::when(c.at_ms)) " · " (device(&c.author))
                        br;
                        span.muted { "字段 fields: " }
                        @for (i, k) in c.keys.iter().enumerate() { @if i > 0 { "、" } (labels::field(k).0) }
                        br;
                        (c.why)
                        @if !c.certificates.is_empty() {
                            br;
                            span.muted { "证书 certificates: " }
                            @for (i, cert) in c.certificates.iter().enumerate() {
                                @if i > 0 { "; " }
                                (cert.role) " @ " (cert.hall) " (" (cert.standing) ")"
                            }
                        }
                        br; span.mono.muted { (c.hash) }
                    }
                }
            }
            @if !a.approvals.is_empty() {
                h2 { "审批意见 " small { "decisions" } }
                table {
                    thead { tr { th { "意见 " small { "decision" } } th { "审批人 " small { "by" } } th { "理由 " small { "reason" } } } }
                    tbody {
                        @for d in &a.approvals {
                            tr {
                                td { @match d.decision { hallsync_model::Decision::Approve => { "批准 approve" }, hallsync_model::Decision::Reject => { span.bad { "驳回 reject" } } } }
                                td { (device(&d.approver)) }
                                td { (d.reason.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        } @else if record.is_none() {
            (layout::none_yet("输入记录编号以查看其签名历史。", "Enter a record id to see its signed history."))
        }
    };
    shell.render("/console/audit", ("审计", "Audit"), &flash, body)
}
