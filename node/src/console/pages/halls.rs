//! A hall's records: 进驻 its stationed items (status, publication due dates, overdue flags),
//! 部门 its departments, 窗口人员 its staff by window, and 大厅 the hall tree below this node.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;

use super::{shell, Page};
use crate::console::guard::Authed;
use crate::console::labels;
use crate::console::layout::{self, encode, label, Flash, Shell};
use crate::console::ConsoleState;
use crate::engine::response::{DepartmentList, HallTree, ItemsPage, StaffList};
use crate::engine::Command;
use hallsync_model::StationView;

/// Stationings on one page.
const PAGE: usize = 100;

/// The query of the hall pages: which hall, a cursor, the flash.
#[derive(Deserialize)]
pub struct HallQuery {
    #[serde(default)]
    hall: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// A choice of hall among the tree below this node, for the hall pages.
async fn hall_picker(console: &ConsoleState, action: &str, chosen: &str) -> Markup {
    let tree: HallTree = console
        .ask(Command::Halls)
        .await
        .unwrap_or(HallTree { halls: Vec::new() });
    html! {
        form.inline method="get" action=(action) {
            label for="hall" { "大厅 " small { "hall" } }
            select #hall name="hall" {
                @for h in &tree.halls {
                    option value=(h.id) selected[h.id == chosen] {
                        (("　").repeat(h.depth)) (h.name) " (" (h.id) ")"
                    }
                }
            }
            button type="submit" { "查看 Show" }
        }
    }
}

/// What every hall page starts with: the shell, the hall chosen (this node's by default), and the
/// answer to `ask(hall)`.
async fn hall_page<T: serde::de::DeserializeOwned>(
    console: &ConsoleState,
    authed: &Authed,
    q: &HallQuery,
    ask: impl FnOnce(String) -> Command,
) -> Result<(Shell, String, T), axum::response::Response> {
    let shell = shell(console, authed).await?;
    let hall = q
        .hall
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| shell.status.hall.clone());
    let answer = console.fetch(ask(hall.clone())).await?;
    Ok((shell, hall, answer))
}

fn station_row(s: &StationView) -> Markup {
    let w = s.withdrawal.as_ref();
    html! {
        tr class=[w.is_some_and(|w| w.overdue).then_some("overdue")] {
            td.mono.code { a href={ "/console/catalogue/item/" (encode(&s.item)) } { (s.item) } }
            td { (label(labels::station_status(&s.status))) }
            td { @if let Some(a) = s.effective_action { (label(labels::action(a.as_str()))) } @else { span.muted { "—" } } }
            td {
                @if let Some(p) = &s.pending {
                    (label(labels::action(&p.action))) " " span.muted { (p.approvals) "/" (p.approvals_required) }
                }
                @if let Some(r) = &s.rejected_reason { div.bad { "驳回理由 rejected: " (r) } }
            }
            td {
                @if let Some(w) = w {
                    "理由 " (w.reason) br; "依据 " (w.basis)
                }
            }
            td {
                @if let Some(w) = w {
                    (w.publish_due)
                    @if w.provisional { " " span.provisional title="日历尚未发布，按暂定日历计算 the year's calendar is not published; provisional" { "（暂定 provisional）" } }
                    @if w.overdue { " " span.overdue { "逾期 overdue" } }
                    @if let Some(on) = &w.published_on { br; span.muted { "已公布 published " (on) } }
                    @if let Some(late) = w.published_late_working_days { " " span.bad { "晚 " (late) " 个工作日 late" } }
                    br;
                    span.muted {
                        "管理机构 management " (if w.published_by_management { "✓" } else { "✗" })
                        " · 部门 department " (if w.published_by_department { "✓" } else { "✗" })
                    }
                }
            }
            td { @if let Some(v) = &s.violation { span.bad { (v) } } }
            td { a href={ "/console/audit?record=" (encode(&format!("station/{}/{}", s.hall, s.item))) } { "审计 audit" } }
        }
    }
}

/// `GET /console/stationing`.
pub async fn stationing(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(q): Query<HallQuery>,
) -> Page {
    let (shell, hall, listed): (Shell, String, ItemsPage) =
        hall_page(&console, &authed, &q, |hall| Command::Stationings {
            hall: Some(hall),
            after: q.after.clone(),
            limit: Some(PAGE),
        })
        .await?;
    let rows: Vec<&StationView> = listed
        .stationed
        .iter()
        .chain(&listed.not_effective)
        .collect();
    let body = html! {
        (hall_picker(&console, "/console/stationing", &hall).await)
        @if rows.is_empty() {
            (layout::none_yet("这个大厅还没有进驻事项。", "No item is stationed at this hall yet."))
        } @else {
            div.scroll { table {
                thead { tr {
                    th { "事项 " small { "item" } }
                    th { "状态 " small { "status" } }
                    th { "现行 " small { "in effect" } }
                    th { "待审批 / 驳回 " small { "pending / rejected" } }
                    th { "撤离理由 " small { "withdrawal" } }
                    th { "公布期限 " small { "publish by (S5)" } }
                    th { "违规 " small { "violation" } }
                    th {}
                } }
                tbody { @for s in &rows { (station_row(s)) } }
            } }
        }
        @if let Some(next) = &listed.next {
            p.pager { a href={ "/console/stationing?hall=" (encode(&hall)) "&after=" (encode(next)) } { "下一页 Next page →" } }
        }
    };
    shell.render(
        "/console/stationing",
        ("进驻事项", "Stationed items"),
        &q.flash,
        body,
    )
}

/// `GET /console/departments`.
pub async fn departments(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(q): Query<HallQuery>,
) -> Page {
    let (shell, hall, listed): (Shell, String, DepartmentList) =
        hall_page(&console, &authed, &q, |hall| Command::DepartmentList {
            hall: Some(hall),
        })
        .await?;
    let body = html! {
        (hall_picker(&console, "/console/departments", &hall).await)
        @if listed.departments.is_empty() {
            (layout::none_yet("这个大厅还没有部门进驻。", "No department is stationed at this hall yet."))
        } @else {
            div.scroll { table {
                thead { tr {
                    th { "部门编号 " small { "id" } }
                    th { "名称 " small { "name" } }
                    th { "状态 " small { "status" } }
                    th { "进驻方案 " small { "plan" } }
                    th { "撤离日期 " small { "withdrawn on" } }
                    th { "待审批 " small { "pending" } }
                } }
                tbody {
                    @for d in &listed.departments {
                        tr {
                            td.mono.code { a href={ "/console/audit?record=" (encode(&format!("dept/{}/{}", d.hall, d.dept))) } { (d.dept) } }
                            td { (d.filing.as_ref().map(|f| f.name.as_str()).unwrap_or("")) }
                            td { (d.status.zh()) " " span.en { (d.status.as_str()) } }
                            td { (d.filing.as_ref().map(|f| f.plan.as_str()).unwrap_or("")) }
                            td { (d.withdrawn_on.as_deref().unwrap_or("")) }
                            td { @if let Some(p) = &d.pending { (label(labels::action(&p.action))) " " span.muted { (p.approvals) "/" (p.approvals_required) } } }
                        }
                    }
                }
            } }
        }
    };
    shell.render(
        "/console/departments",
        ("部门", "Departments"),
        &q.flash,
        body,
    )
}

/// `GET /console/staff`: the roster by window.
pub async fn staff(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(q): Query<HallQuery>,
) -> Page {
    let (shell, hall, listed): (Shell, String, StaffList) =
        hall_page(&console, &authed, &q, |hall| Command::StaffList {
            hall: Some(hall),
        })
        .await?;
    // A filing not yet approved has no effective fields: its proposal says what it would be.
    let proposed = |s: &hallsync_model::roster::StaffView, key: &str| -> String {
        s.pending
            .as_ref()
            .and_then(|p| p.changes.iter().find(|c| c.field == key))
            .and_then(|c| c.after.clone())
            .unwrap_or_default()
    };
    let mut by_window: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for s in &listed.staff {
        let window = s
            .filing
            .as_ref()
            .map(|f| f.window.clone())
            .unwrap_or_else(|| proposed(s, "window"));
        by_window.entry(window).or_default().push(s);
    }
    let body = html! {
        (hall_picker(&console, "/console/staff", &hall).await)
        @if listed.staff.is_empty() {
            (layout::none_yet("这个大厅还没有窗口人员备案。", "No window staff are filed at this hall yet."))
        }
        @for (window, people) in &by_window {
            h2 { "窗口 " (window) " " small { "window" } }
            div.scroll { table {
                thead { tr {
                    th { "姓名 " small { "name" } }
                    th { "工号 " small { "job no." } }
                    th { "部门 " small { "department" } }
                    th { "岗位 " small { "role" } }
                    th { "状态 " small { "state" } }
                    th { "上岗 / 离岗 " small { "on duty / left" } }
                    th { "提示 " small { "warnings" } }
                } }
                tbody {
                    @for s in people {
                        tr {
                            @if let Some(f) = &s.filing {
                                td { (f.name) }
                                td.mono { (f.job_no) }
                                td.mono { (f.department) }
                                td { (label(labels::staff_role(&f.role))) @if f.is_business_lead { " · 业务负责人 lead" } }
                            } @else {
                                td { (proposed(s, "name")) }
                                td.mono { (proposed(s, "job_no")) }
                                td.mono { (proposed(s, "department")) }
                                td { (label(labels::staff_role(&proposed(s, "role")))) }
                            }
                            td {
                                (label(labels::staff_state(&s.state)))
                                @if let Some(p) = &s.pending { br; span.muted { "待审批 pending " (p.approvals) "/" (p.approvals_required) } }
                                @if let Some(h) = &s.held { br; span.bad { "离岗暂缓 departure held: " (h) } }
                            }
                            td {
                                @if let Some(f) = &s.filing {
                                    (f.on_duty_from.as_deref().unwrap_or("—")) " / " (f.left_on.as_deref().unwrap_or("—"))
                                }
                                @if let Some(on) = &s.left_effective_on { br; span.muted { "离岗生效 effective " (on) } }
                            }
                            td { @if !s.warnings.is_empty() { ul.warnings { @for w in &s.warnings { li { (w) } } } } }
                        }
                    }
                }
            } }
        }
    };
    shell.render(
        "/console/staff",
        ("窗口人员", "Window staff"),
        &q.flash,
        body,
    )
}

/// `GET /console/halls`: the hall tree below this node.
pub async fn tree(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(flash): Query<Flash>,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let tree: HallTree = console.fetch(Command::Halls).await?;
    let body = html! {
        @if tree.halls.is_empty() {
            (layout::none_yet("尚未加入网络。", "This node has not joined a network yet."))
        } @else {
            table.tree {
                thead { tr { th { "大厅 " small { "hall" } } th { "编号 " small { "id" } } th { "层级 " small { "level" } } th {} } }
                tbody {
                    @for h in &tree.halls {
                        tr class={ "depth-" (h.depth.min(3)) } {
                            td { (h.name) }
                            td.mono.code { (h.id) }
                            td { (h.level) }
                            td {
                                a href={ "/console/stationing?hall=" (encode(&h.id)) } { "进驻 " span.en { "stationing" } } " · "
                                a href={ "/console/departments?hall=" (encode(&h.id)) } { "部门 " span.en { "departments" } } " · "
                                a href={ "/console/staff?hall=" (encode(&h.id)) } { "人员 " span.en { "staff" } }
                            }
                        }
                    }
                }
            }
        }
    };
    shell.render("/console/halls", ("大厅", "Hall tree"), &flash, body)
}
