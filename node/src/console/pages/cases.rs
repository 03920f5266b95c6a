//! 通办件 Cases: state, due date (working days, with the calendar's provisional flag), overdue in
//! red, and each case's timeline of signed transitions.

use axum::extract::{Query, State};
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;

use super::{shell, Page};
use crate::console::guard::Authed;
use crate::console::layout::{self, device, encode, Flash};
use crate::console::ConsoleState;
use crate::engine::response::CasesPage;
use crate::engine::Command;
use hallsync_model::cases::CaseView;
use hallsync_model::records::case::CASE_STATES;

/// Cases on one page.
const PAGE: usize = 50;

/// The cases page's query.
#[derive(Deserialize)]
pub struct CasesQuery {
    #[serde(default)]
    overdue: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

fn timeline(case: &CaseView) -> Markup {
    html! {
        ol.timeline {
            @for step in &case.history {
                li class=[(!step.applied).then_some("not")] {
                    strong { (step.to.label()) } " " span.en { (step.to.as_str()) }
                    " · " (layout::when(step.at_ms)) " · " (device(&step.by))
                    @if !step.note.is_empty() { br; "说明 note: " (step.note) }
                    @if !step.materials.is_empty() { br; "材料 materials: " (step.materials.join("、")) }
                    @if let Some(by) = &step.supply_by { br; "补齐期限 supply by: " (by) }
                    @if let Some(mode) = &step.mode { br; "送达方式 mode: " (mode) }
                    @if let Some(why) = &step.why_not { br; span.bad { "未生效 not applied: " (why) } }
                }
            }
        }
    }
}

/// `GET /console/cases`.
pub async fn page(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(q): Query<CasesQuery>,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let overdue = q.overdue.as_deref() == Some("on");
    let state = q.state.clone().filter(|s| !s.is_empty());
    let listed: CasesPage = console
        .fetch(Command::Cases {
            overdue,
            by: Some(authed.who()),
            // No lookup by id here: it would put the id in the address and the browser's history.
            applicant_id: None,
            state: state.clone(),
            after: q.after.clone(),
            limit: Some(PAGE),
        })
        .await?;
    let body = html! {
        form.inline method="get" action="/console/cases" {
            label for="state" { "状态 " small { "state" } }
            select #state name="state" {
                option value="" { "全部 all" }
                @for (s, zh) in CASE_STATES {
                    option value=(s.as_str()) selected[state.as_deref() == Some(s.as_str())] { (zh) " " (s.as_str()) }
                }
            }
            label { input type="checkbox" name="overdue" value="on" checked[overdue]; " 仅逾期 " small { "overdue only" } }
            button type="submit" { "筛选 Filter" }
        }
        @if listed.cases.is_empty() {
            (layout::none_yet("没有通办件。", "No cases."))
        } @else {
            div.scroll { table {
                thead { tr {
                    th { "件号 " small { "case no." } }
                    th { "事项 " small { "item" } }
                    th { "收件地 → 办理地 " small { "accepting → handling" } }
                    th { "状态 " small { "state" } }
                    th { "受理日 " small { "accepted" } }
                    th { "办结期限 " small { "due" } }
                    th { "时间线 " small { "timeline" } }
                } }
                tbody {
                    @for c in &listed.cases {
                        tr class=[c.overdue.then_some("overdue")] {
                            td.mono.code { a href={ "/console/audit?record=" (encode(&c.doc)) } { (c.case_no) } }
                            td.mono.code { (c.item) }
                            td.mono.code { (c.accepting) " → " (c.handling) }
                            td { (c.state.label()) " " span.en { (c.state.as_str()) }
                                @if let Some(a) = &c.applicant { br; "申请人 applicant: " (a.name) " " span.mono { (masked(&a.id)) } }
                                @else if let Some(at) = c.erased_at { br; span.muted { "个人信息已删除 personal data erased " (layout::when(at)) } }
                                @else if c.sealed { br; span.muted { "申请人信息已加密 applicant sealed" } }
                                @if !c.warnings.is_empty() { ul.warnings { @for w in &c.warnings { li { (w) } } } } }
                            td { (c.accepted_on.as_deref().unwrap_or("—")) }
                            td {
                                (c.due.as_deref().unwrap_or("—"))
                                @if c.provisional { " " span.provisional { "（暂定 provisional）" } }
                                @if c.overdue { " " span.overdue { "逾期 overdue" } }
                                @else if let Some(left) = c.working_days_left { br; span.muted { "剩 " (left) " 个工作日 working days left" } }
                            }
                            td { details { summary { (c.history.len()) " 步 steps" } (timeline(c)) } }
                        }
                    }
                }
            } }
        }
        @if let Some(next) = &listed.next {
            p.pager { a href={ "/console/cases?after=" (encode(next)) @if overdue { "&overdue=on" } @if let Some(s) = &state { "&state=" (encode(s)) } } { "下一页 Next page →" } }
        }
    };
    shell.render(
        "/console/cases",
        ("通办件", "Cross-region cases"),
        &q.flash,
        body,
    )
}

/// An id number as a list shows it: region and the last four characters, the rest hidden.
fn masked(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}
