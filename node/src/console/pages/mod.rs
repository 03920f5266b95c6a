//! The console's pages, one file per page group; what they share (the shell's data, the live
//! badges, the assets) is here.

pub mod audit;
pub mod cases;
pub mod catalogue;
pub mod halls;
pub mod pending;
pub mod signin;
pub mod sync;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Serialize;

use super::guard::Authed;
use super::layout::{self, Shell};
use super::ConsoleState;
use crate::engine::response::{PendingPage, StatusReport};
use crate::engine::Command;

/// What a page handler answers: the page, or the page that says why not.
pub type Page = Result<Response, Response>;

/// Proposals counted for the badge: one page's worth.
const PENDING_COUNTED: usize = 1000;

/// What a handler answers when the node refuses or fails: the refusal in a page.
pub fn failed(error: &str) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        layout::bare(
            "出错 Error",
            maud::html! {
                h1 { "节点未能回答 " small { "the node could not answer" } }
                p { (error) }
                p { a href="/console/pending" { "返回 Back" } }
            },
        ),
    )
        .into_response()
}

/// The sync badge from a status: Chinese, English, all well.
fn sync_badge(status: &StatusReport) -> (String, String, bool) {
    let connected: Vec<_> = status.peers.iter().filter(|p| p.connected).collect();
    if !status.online {
        return ("离线".into(), "offline".into(), false);
    }
    if connected.is_empty() {
        return ("无连接".into(), "no peers connected".into(), false);
    }
    let catching_up = connected.iter().filter(|p| p.catching_up).count();
    let in_sync = connected.iter().filter(|p| p.in_sync == Some(true)).count();
    if catching_up > 0 {
        (
            "追赶中".into(),
            format!("catching up with {catching_up}"),
            false,
        )
    } else if in_sync == connected.len() {
        (
            format!("已同步 {in_sync}/{}", connected.len()),
            "in sync".into(),
            true,
        )
    } else {
        (
            format!("同步中 {in_sync}/{}", connected.len()),
            "syncing".into(),
            true,
        )
    }
}

/// The data of the page shell: status, pending count, the sync badge.
///
/// # Errors
/// The node's refusal, as a page.
pub async fn shell(console: &ConsoleState, authed: &Authed) -> Result<Shell, Response> {
    let status: StatusReport = console.fetch(Command::Status).await?;
    let pending: PendingPage = console
        .fetch(Command::Pending {
            after: None,
            limit: Some(PENDING_COUNTED),
        })
        .await?;
    Ok(Shell {
        sync: sync_badge(&status),
        status,
        pending: pending.pending.len(),
        pending_more: pending.next.is_some(),
        csrf: authed.csrf.clone(),
    })
}

/// `/console`: to the pending page, where the work is.
pub async fn home() -> Redirect {
    Redirect::to("/console/pending")
}

/// The stylesheet and the scripts, from the binary.
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "console.css" => (
            include_str!("../assets/console.css"),
            "text/css; charset=utf-8",
        ),
        "live.js" => (
            include_str!("../assets/live.js"),
            "text/javascript; charset=utf-8",
        ),
        "signin.js" => (
            include_str!("../assets/signin.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// What the live badges show.
#[derive(Clone, Serialize)]
pub struct Live {
    pending: String,
    sync_zh: String,
    sync_en: String,
    sync_ok: bool,
}

/// How long one answer of `/console/live` serves every open tab: the pending count reads every
/// governed record, so however many consoles poll, the node computes it at most once in this time.
pub const LIVE_REUSE_MS: i64 = 2_000;

/// `/console/live`: the pending count and the sync state, for the badges.
pub async fn live(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
) -> Page {
    let now = super::now_ms();
    if let Some(live) = console.live_cached(now, LIVE_REUSE_MS) {
        return Ok(Json(live).into_response());
    }
    let s = shell(&console, &authed).await?;
    let live = Live {
        pending: if s.pending_more {
            format!("{}+", s.pending)
        } else {
            s.pending.to_string()
        },
        sync_zh: s.sync.0,
        sync_en: s.sync.1,
        sync_ok: s.sync.2,
    };
    console.keep_live(now, live.clone());
    Ok(Json(live).into_response())
}

/// Any other path under the console.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        layout::bare(
            "未找到 Not found",
            maud::html! {
                h1 { "没有这个页面 " small { "no such page" } }
                p { a href="/console/pending" { "返回 Back" } }
            },
        ),
    )
        .into_response()
}
