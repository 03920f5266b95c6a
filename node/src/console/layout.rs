//! The page shell (header with the live badges, navigation, flash messages) and the formatting
//! every page shares: dates as 2026-11-30 on China Standard Time, devices by their short id.

use axum::response::Html;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

use crate::engine::response::StatusReport;

/// The pages, in the navigation's order: path, Chinese, English.
pub const NAV: [(&str, &str, &str); 9] = [
    ("/console/pending", "待审批", "Pending"),
    ("/console/catalogue", "事项目录", "Catalogue"),
    ("/console/stationing", "进驻", "Stationing"),
    ("/console/departments", "部门", "Departments"),
    ("/console/staff", "窗口人员", "Staff"),
    ("/console/halls", "大厅", "Halls"),
    ("/console/cases", "通办件", "Cases"),
    ("/console/sync", "同步", "Sync"),
    ("/console/audit", "审计", "Audit"),
];

/// A one-line message after an action, carried in the redirect's query (`ok=` / `error=`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Flash {
    /// What was done.
    #[serde(default)]
    pub ok: Option<String>,
    /// What was refused, and why.
    #[serde(default)]
    pub error: Option<String>,
}

/// What every page's shell shows.
pub struct Shell {
    /// The node's status.
    pub status: StatusReport,
    /// Proposals waiting for this device (at most one page's worth counted).
    pub pending: usize,
    /// More than `pending` wait.
    pub pending_more: bool,
    /// The session's CSRF token.
    pub csrf: String,
    /// The live sync badge: Chinese, English, all well.
    pub sync: (String, String, bool),
}

impl Shell {
    /// This page in the shell, as a handler's answer (see [`page`]).
    pub fn render(
        &self,
        here: &str,
        title: (&str, &str),
        flash: &Flash,
        body: Markup,
    ) -> Result<axum::response::Response, axum::response::Response> {
        use axum::response::IntoResponse;
        Ok(page(self, here, title, flash, body).into_response())
    }
}

/// A time as people in the hall read it: `2026-11-30 14:05` on China Standard Time (UTC+8, no
/// daylight saving, as `Date::from_unix_ms` counts days); `—` for none.
pub fn when(ms: i64) -> String {
    if ms <= 0 {
        return "—".into();
    }
    let date = hallsync_model::calendar::Date::from_unix_ms(ms);
    let minutes = (ms.div_euclid(60_000) + 8 * 60).rem_euclid(24 * 60);
    format!("{date} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// A device id as pages show it: its first 16 characters (the full id is in the title).
pub fn device(id: &str) -> Markup {
    let short: String = id.chars().take(16).collect();
    html! { span.mono title=(id) { (short) } }
}

/// `text`, percent-encoded for a URL's query.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A label, Chinese then English in a quieter tone.
pub fn label((zh, en): (&str, &str)) -> Markup {
    html! {
        (zh)
        @if !en.is_empty() { " " span.en { (en) } }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · hallsync" }
            link rel="stylesheet" href="/console/assets/console.css";
        }
    }
}

/// A page outside the shell (sign-in, refusals).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="zh-CN" {
                (head(title))
                body { main.signin { div.box { (body) } } }
            }
        }
        .into_string(),
    )
}

/// A page in the shell: `here` is its path in [`NAV`].
pub fn page(
    shell: &Shell,
    here: &str,
    title: (&str, &str),
    flash: &Flash,
    body: Markup,
) -> Html<String> {
    let s = &shell.status;
    let pending = if shell.pending_more {
        format!("{}+", shell.pending)
    } else {
        shell.pending.to_string()
    };
    Html(
        html! {
            (DOCTYPE)
            html lang="zh-CN" {
                (head(&format!("{} {}", title.0, title.1)))
                body {
                    header.top {
                        span.title { "政务服务大厅同步" small { "hallsync console" } }
                        span.who {
                            (s.hall_name) " (" (s.hall) ") · " (label(super::labels::level(&s.level))) " · 本机 device "
                            (device(&s.device_id))
                        }
                        span.live {
                            a.badge #live-pending href="/console/pending" data-count=(shell.pending) { "待审批 Pending " (pending) }
                            span #live-sync class={ "badge " (if shell.sync.2 { "ok" } else { "warn" }) } {
                                (shell.sync.0) " " (shell.sync.1)
                            }
                            form method="post" action={ "/console/signout?csrf=" (shell.csrf) } {
                                button type="submit" { "退出 Sign out" }
                            }
                        }
                    }
                    div.layout {
                        nav.side {
                            @for (path, zh, en) in NAV {
                                a href=(path) class=[(path == here).then_some("here")] { (zh) small { (en) } }
                            }
                        }
                        main {
                            h1 { (title.0) " " small { (title.1) } }
                            @if let Some(ok) = &flash.ok { div.flash.ok { (ok) } }
                            @if let Some(error) = &flash.error { div.flash.error { (error) } }
                            (body)
                        }
                    }
                    script src="/console/assets/live.js" {}
                }
            }
        }
        .into_string(),
    )
}

/// Text that may hold line breaks, shown with them.
pub fn lines(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

/// An empty marker, for tables with nothing to show.
pub fn none_yet(zh: &str, en: &str) -> Markup {
    html! { p.muted { (zh) " " (en) } }
}

/// Raw markup from a trusted constant (never from a record or a request).
pub fn trusted(text: &'static str) -> PreEscaped<&'static str> {
    PreEscaped(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_on_china_standard_time() {
        // 2026-11-30 00:00 UTC is 08:00 in the hall.
        assert_eq!(
            when(1_796_000_000_000 - 1_796_000_000_000 % 86_400_000),
            "2026-11-30 08:00"
        );
        assert_eq!(when(0), "—");
        assert_eq!(encode("撤 a&b"), "%E6%92%A4%20a%26b");
    }
}
