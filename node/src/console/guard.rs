//! The console's one gate: security headers on every answer, a session for every page but
//! sign-in and the assets, and for every state-changing request the console's own origin and the
//! session's CSRF token — all checked on the request line and headers, before the body is read.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::sessions::{constant_time_eq, Session};
use super::{now_ms, ConsoleState};

/// The console's Content-Security-Policy: nothing from anywhere but the node, no inline script or
/// style, no framing, forms only to the node.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The session a request was let in with, for its handler.
#[derive(Clone, Debug)]
pub struct Authed {
    /// The session's CSRF token, for the forms a page renders.
    pub csrf: String,
    /// The cookie's secret, for sign-out.
    pub secret: String,
}

/// The value of the cookie `name` in `headers`, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// The value of `name` in a query string, percent-decoding not needed: tokens are hex.
fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// True when the request's `Origin` (if a browser sent one) is the console's own: the host the
/// request was sent to, over plain HTTP.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin.to_str().ok(), host) {
        (Some(origin), Some(host)) => origin == format!("http://{host}"),
        _ => false,
    }
}

fn refuse(status: StatusCode, zh: &str, en: &str) -> Response {
    let page = super::layout::bare(
        "拒绝访问 Refused",
        maud::html! {
            h1 { (zh) " " small { (en) } }
            p { "用 " code { "hallsync console" } " 获取登录链接。 Get a sign-in link with " code { "hallsync console" } "." }
        },
    );
    (status, page).into_response()
}

fn is_open(path: &str) -> bool {
    path == "/console/signin" || path.starts_with("/console/assets/")
}

/// The gate (see the module doc).
pub async fn guard(
    State(console): State<ConsoleState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let mut response = if is_open(&path) {
        if request.method() == Method::POST && !same_origin(request.headers()) {
            refuse(
                StatusCode::FORBIDDEN,
                "跨站请求被拒绝",
                "a request from another site is refused",
            )
        } else {
            next.run(request).await
        }
    } else {
        let found: Option<(String, Session)> =
            cookie(request.headers(), &console.cookie).and_then(|secret| {
                let session = console.sessions().session(&secret, now_ms())?;
                Some((secret, session))
            });
        match found {
            None => refuse(
                StatusCode::UNAUTHORIZED,
                "未登录或会话已过期",
                "not signed in, or the session has expired",
            ),
            Some((secret, session)) => {
                let state_changing =
                    request.method() != Method::GET && request.method() != Method::HEAD;
                let token_ok = request
                    .uri()
                    .query()
                    .and_then(|q| query_value(q, "csrf"))
                    .is_some_and(|t| constant_time_eq(t.as_bytes(), session.csrf.as_bytes()));
                if state_changing && !(token_ok && same_origin(request.headers())) {
                    refuse(
                        StatusCode::FORBIDDEN,
                        "请求缺少有效的防伪令牌，已拒绝",
                        "refused: the request lacks this session's CSRF token or comes from another site",
                    )
                } else {
                    request.extensions_mut().insert(Authed {
                        csrf: session.csrf,
                        secret,
                    });
                    next.run(request).await
                }
            }
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !path.starts_with("/console/assets/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_and_the_query_token_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("hallsync_console_4001=x; hallsync_console_4000=abc; b=2"),
        );
        assert_eq!(cookie(&h, "hallsync_console_4000").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "hallsync_console_4002"), None);
        assert_eq!(query_value("x=1&csrf=ff&y=2", "csrf"), Some("ff"));
        assert_eq!(query_value("xcsrf=ff", "csrf"), None);
    }

    #[test]
    fn only_the_consoles_own_origin_passes() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4000"));
        assert!(same_origin(&h), "no Origin: a form without one");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:4000"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:4001"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}
