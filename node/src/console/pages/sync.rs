//! 同步 Sync: the node's own device id and addresses, each peer as the node knows it (last seen,
//! lag, path), the quarantine with reasons, and equivocations.

use axum::extract::{Query, State};
use axum::Extension;
use maud::html;

use super::{shell, Page};
use crate::console::guard::Authed;
use crate::console::labels;
use crate::console::layout::{self, device, Flash};
use crate::console::ConsoleState;
use crate::engine::response::QuarantinePage;
use crate::engine::Command;

/// `GET /console/sync`.
pub async fn page(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(flash): Query<Flash>,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let quarantine: QuarantinePage = console
        .fetch(Command::Quarantine {
            after: None,
            limit: Some(100),
        })
        .await?;
    let s = &shell.status;
    let m = s.membership.as_ref();
    let body = html! {
        div.box {
            table { tbody {
                tr { th { "本机设备 " small { "device id" } } td.mono { (s.device_id) } }
                tr { th { "大厅 " small { "hall" } } td { (s.hall_name) " (" (s.hall) ") · " (layout::label(labels::level(&s.level))) } }
                tr { th { "网络 " small { "network" } } td.mono { (m.map(|m| m.network_id.as_str()).unwrap_or("—")) } }
                tr { th { "在线 " small { "online" } } td { @if s.online { "是 yes" } @else { span.bad { "否 no (net offline)" } } } }
                tr { th { "可达性 " small { "reachability" } } td { (s.reach.as_deref().unwrap_or("—")) } }
                tr { th { "对外地址 " small { "announced" } } td.mono { @if s.announced.is_empty() { span.muted { "— （未设置 network.announce）" } } @for a in &s.announced { (a) br; } } }
                tr { th { "监听地址 " small { "listening" } } td.mono { @for a in &s.listen_addrs { (a) br; } } }
                tr { th { "状态摘要 " small { "state digest" } } td.mono { (m.map(|m| m.state_digest.as_str()).unwrap_or("—")) } }
                tr { th { "双签冲突 " small { "equivocations" } } td { @let n = m.map_or(0, |m| m.equivocations); @if n > 0 { span.bad { (n) } } @else { "0" } } }
                tr { th { "已吊销证书 " small { "revoked certificates" } } td { (m.map_or(0, |m| m.revoked_certificates)) } }
            } }
        }
        h2 { "对端 " small { "peers" } }
        @if s.peers.is_empty() {
            (layout::none_yet("还没有对端。", "No peers yet."))
        } @else {
            div.scroll { table {
                thead { tr {
                    th { "设备 " small { "device" } }
                    th { "大厅 " small { "halls" } }
                    th { "连接 " small { "path" } }
                    th { "最近联系 " small { "last seen" } }
                    th { "最近同步 " small { "last sync" } }
                    th { "差异 " small { "lag (they / we lacked)" } }
                    th { "轮次 " small { "rounds ok / failed" } }
                    th { "最近错误 " small { "last error" } }
                } }
                tbody {
                    @for p in &s.peers {
                        tr {
                            td { (device(&p.device_id)) }
                            td.mono { (p.halls.join(", ")) }
                            td { @if p.connected { (p.path.as_deref().unwrap_or("direct")) } @else { span.muted { "未连接 not connected" } } }
                            td { (layout::when(p.last_seen_ms.unwrap_or(0))) }
                            td {
                                (layout::when(p.last_sync_ms.unwrap_or(0)))
                                @match p.in_sync { Some(true) => { br; span.muted { "一致 in sync" } }, Some(false) => { br; "有差异 differed" }, None => {} }
                                @if p.catching_up { br; span.provisional { "追赶中 catching up" } }
                            }
                            td.num { (p.it_lacked) " / " (p.we_lacked) }
                            td.num { (p.rounds_completed) " / " (p.rounds_failed) }
                            td { @if let Some(e) = &p.last_error { span.bad { (e) } } }
                        }
                    }
                }
            } }
        }
        h2 { "隔离区 " small { "quarantine: " (quarantine.total) " waiting, " (quarantine.bytes) " bytes" } }
        @if quarantine.quarantined.is_empty() {
            (layout::none_yet("没有等待中的变更。", "No change is waiting."))
        } @else {
            div.scroll { table {
                thead { tr { th { "变更 " small { "change" } } th { "记录 " small { "record" } } th { "作者 " small { "author" } } th { "原因 " small { "why it waits" } } } }
                tbody {
                    @for r in &quarantine.quarantined {
                        tr { td.mono { (r.id) } td.mono { (r.doc) } td { (device(&r.author)) } td { (r.reason_code) ": " (r.reason) } }
                    }
                }
            } }
        }
        @if !quarantine.refused.is_empty() {
            h2 { "最近拒收 " small { "latest refusals (" (quarantine.refused_total) " since start)" } }
            div.scroll { table {
                thead { tr { th { "记录 " small { "record" } } th { "作者 " small { "author" } } th { "原因 " small { "why" } } } }
                tbody {
                    @for r in &quarantine.refused {
                        tr { td.mono { (r.doc) } td { (device(&r.author)) } td { (r.reason_code) ": " (r.reason) } }
                    }
                }
            } }
        }
    };
    shell.render("/console/sync", ("同步", "Sync"), &flash, body)
}
