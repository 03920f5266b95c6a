//! 待审批 Pending: every proposal this device may decide, with what it changes, who proposed it,
//! the policy's progress and the rules to weigh; approve, or reject with a reason.
//!
//! Maker-checker: the node lists no proposal of this device's own (`Replica::pending_page`), so no
//! button appears for one, and the engine refuses a decision on one whatever a browser posts.

use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::{Extension, Form};
use maud::{html, Markup};
use serde::Deserialize;

use super::{shell, Page};
use crate::console::guard::Authed;
use crate::console::labels;
use crate::console::layout::{self, device, encode, label, Flash};
use crate::console::ConsoleState;
use crate::engine::response::PendingPage;
use crate::engine::Command;
use hallsync_model::Proposal;

/// Proposals on one page.
const PAGE: usize = 50;

/// The page's query: a cursor and the flash.
#[derive(Deserialize)]
pub struct PendingQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// A value as the diff shows it: times of `*_ms` fields as times, the rest as written.
fn value(field: &str, v: &Option<String>) -> Markup {
    match v {
        None => html! { span.muted { "（无 none）" } },
        Some(v) if field.ends_with("_ms") => {
            html! { (v.parse::<i64>().map(layout::when).unwrap_or_else(|_| v.clone())) }
        }
        Some(v) => {
            let (zh, en) = labels::action(v);
            if field == "action" && !en.is_empty() {
                label((zh, en))
            } else {
                layout::lines(v)
            }
        }
    }
}

/// What the proposal is about, in one line.
fn subject(p: &Proposal) -> Markup {
    let kind = p.doc.split('/').next().unwrap_or("");
    html! {
        @match kind {
            "station" => {
                "事项 item "
                a.mono href={ "/console/catalogue/item/" (encode(&p.item)) } { (p.item) }
                " · 大厅 hall " span.mono { (p.hall) }
            }
            "staff" => { "人员 person " span.mono { (p.item) } " · 大厅 hall " span.mono { (p.hall) } }
            "dept" => { "部门 department " (p.item) " · 大厅 hall " span.mono { (p.hall) } }
            _ => { (p.item) }
        }
    }
}

/// One proposal's card.
fn card(p: &Proposal, csrf: &str) -> Markup {
    html! {
        div.box.proposal data-proposal=(p.id) {
            h3 {
                (label(labels::kind(&p.doc))) " · " (label(labels::action(&p.action)))
                " — " (subject(p))
            }
            div.meta {
                span { "提议编号 id " span.mono { (p.id) } }
                span { "提出人 proposed by " @for (i, who) in p.proposers.iter().enumerate() { @if i > 0 { ", " } (device(who)) } }
                span { "提出时间 at " (layout::when(p.proposed_at_ms)) }
                span.progress { "审批进度 approvals " (p.approvals) " / " (p.approvals_required) }
                @if !p.approved_by.is_empty() {
                    span { "已批准 approved by " @for (i, who) in p.approved_by.iter().enumerate() { @if i > 0 { ", " } (device(who)) } }
                }
                span { "记录 record " a.mono href={ "/console/audit?record=" (encode(&p.doc)) } { (p.doc) } }
            }
            @if p.changes.is_empty() {
                p.muted { "没有字段变化 no field changes" }
            } @else {
                div.scroll {
                    table.diff {
                        thead { tr { th { "字段 " small { "field" } } th { "现行 " small { "in effect now" } } th { "提议 " small { "proposed" } } } }
                        tbody {
                            @for c in &p.changes {
                                tr {
                                    th { (label(labels::field(&c.field))) }
                                    td { @if c.before.is_some() { del { (value(&c.field, &c.before)) } } @else { (value(&c.field, &c.before)) } }
                                    td { @if c.after.is_some() { ins { (value(&c.field, &c.after)) } } @else { (value(&c.field, &c.after)) } }
                                }
                            }
                        }
                    }
                }
            }
            @if !p.warnings.is_empty() {
                ul.warnings { @for w in &p.warnings { li { (w) } } }
            }
            div.actions {
                form method="post" action={ "/console/approve?csrf=" (csrf) } {
                    input type="hidden" name="id" value=(p.id);
                    button.primary type="submit" { "批准 Approve" }
                }
                form method="post" action={ "/console/reject?csrf=" (csrf) } {
                    input type="hidden" name="id" value=(p.id);
                    textarea name="reason" required placeholder="驳回理由（必填） reason for rejecting (required)" {}
                    " "
                    button.danger type="submit" { "驳回 Reject" }
                }
            }
        }
    }
}

/// `GET /console/pending`.
pub async fn page(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(q): Query<PendingQuery>,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let listed: PendingPage = console
        .fetch(Command::Pending {
            after: q.after.clone(),
            limit: Some(PAGE),
        })
        .await?;
    let body = html! {
        p.muted {
            "本机可审批的提议。自己提出的提议须由他人审批，不在此列。 "
            "Proposals this device may decide; one's own proposals are decided by others and are not listed."
        }
        @if listed.pending.is_empty() {
            (layout::none_yet("没有待审批的提议。", "Nothing waits for a decision."))
        }
        @for p in &listed.pending { (card(p, &shell.csrf)) }
        @if let Some(next) = &listed.next {
            p.pager { a href={ "/console/pending?after=" (encode(next)) } { "下一页 Next page →" } }
        }
    };
    shell.render("/console/pending", ("待审批", "Pending"), &q.flash, body)
}

/// The approve form.
#[derive(Deserialize)]
pub struct Decide {
    id: String,
    #[serde(default)]
    reason: Option<String>,
}

fn back(result: Result<serde_json::Value, String>, ok: &str) -> Redirect {
    match result {
        Ok(_) => Redirect::to(&format!("/console/pending?ok={}", encode(ok))),
        Err(e) => Redirect::to(&format!("/console/pending?error={}", encode(&e))),
    }
}

/// `POST /console/approve`: the node signs an approval.
pub async fn approve(State(console): State<ConsoleState>, Form(form): Form<Decide>) -> Redirect {
    let result = console
        .ask(Command::Approve {
            id: form.id.clone(),
        })
        .await;
    back(result, &format!("已批准 {} approved", form.id))
}

/// `POST /console/reject`: the node signs a rejection with the reason.
pub async fn reject(State(console): State<ConsoleState>, Form(form): Form<Decide>) -> Redirect {
    let reason = form.reason.unwrap_or_default();
    if reason.trim().is_empty() {
        return back(Err("驳回须写明理由 a rejection needs a reason".into()), "");
    }
    let result = console
        .ask(Command::Reject {
            id: form.id.clone(),
            reason,
        })
        .await;
    back(result, &format!("已驳回 {} rejected", form.id))
}
