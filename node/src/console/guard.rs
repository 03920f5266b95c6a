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

impl Authed {
    /// The session as the access log names it: a short digest of its secret, never the secret.
    pub fn who(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.secret.as_bytes());
        format!("console session {}", hex::encode(&digest[..4]))
    }
}

/// Every value of the cookie `name` in `headers`: a page on another port of the same host can set
/// a cookie of the same name with a longer path, which browsers send first, so each is tried.
pub fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = String> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(n, _)| *n == name)
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

/// True when the request's `Host` names the console itself: an IP literal and the console's port,
/// and the bound IP unless it listens on every address. A name (`evil.example` resolving to
/// 127.0.0.1: DNS rebinding) is refused, so a page of another site never reaches the console.
fn host_ok(headers: &HeaderMap, bound: std::net::SocketAddr) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    match host.parse::<std::net::SocketAddr>() {
        Ok(addr) => {
            addr.port() == bound.port() && (bound.ip().is_unspecified() || addr.ip() == bound.ip())
        }
        Err(_) => false,
    }
}

/// True when the request's `Origin` (if a browser sent one) is the console's own: the host the
/// request was sent to (checked by [`host_ok`]), over plain HTTP.
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

/// True unless the browser says the request comes from another origin of the same site (another
/// port of 127.0.0.1, which `SameSite=Strict` lets through with the cookie) or from another site:
/// a signed-in page is only ever asked for by the console itself or typed by the person.
fn fetched_by_the_console(headers: &HeaderMap) -> bool {
    !matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("same-site" | "cross-site")
    )
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

/// Largest sign-in body: the form's one field, a 64-digit secret.
const SIGNIN_BYTES_MAX: usize = 1024;

/// How much body a request to `path` may send, and in how long.
fn body_bounds(path: &str) -> (usize, std::time::Duration) {
    use crate::control::server::{BODY_TIMEOUT, SMALL_BODY_TIMEOUT};
    match path {
        "/console/signin" => (SIGNIN_BYTES_MAX, SMALL_BODY_TIMEOUT),
        "/console/catalogue/import" => (super::UPLOAD_BYTES_MAX, BODY_TIMEOUT),
        _ => (super::FORM_BYTES_MAX, SMALL_BODY_TIMEOUT),
    }
}

/// Reads the body within its bounds before the handler runs, so a client that announces a body
/// and stalls is cut off instead of holding a connection slot.
async fn with_bounded_body(request: Request, path: &str) -> Result<Request, Response> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return Ok(request);
    }
    let (limit, timeout) = body_bounds(path);
    let (parts, body) = request.into_parts();
    match crate::control::server::read_body(body, limit, timeout).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err((status, message)) => Err(refuse(status, "请求体无效", &message)),
    }
}

/// Decides a request (see the module doc); `Ok` carries it on, with its session when it needs one.
async fn admit(console: &ConsoleState, request: Request, path: &str) -> Result<Request, Response> {
    if !host_ok(request.headers(), console.bound) {
        return Err(refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "请用控制台的地址访问",
            "use the console's own address (an IP and port, as `hallsync console` prints it)",
        ));
    }
    let state_changing = request.method() != Method::GET && request.method() != Method::HEAD;
    if is_open(path) {
        if state_changing && !same_origin(request.headers()) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "跨站请求被拒绝，来自另一个网站",
                "a request from another site is refused",
            ));
        }
        return with_bounded_body(request, path).await;
    }
    let now = now_ms();
    let found: Option<(String, Session)> =
        cookies(request.headers(), &console.cookie).find_map(|secret| {
            let session = console.sessions().session(&secret, now)?;
            Some((secret, session))
        });
    let Some((secret, session)) = found else {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "未登录或会话已过期",
            "not signed in, or the session has expired",
        ));
    };
    if !fetched_by_the_console(request.headers()) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "请求来自另一个网站或端口，已拒绝",
            "refused: the request comes from another site or port",
        ));
    }
    if state_changing {
        let token_ok = request
            .uri()
            .query()
            .and_then(|q| query_value(q, "csrf"))
            .is_some_and(|t| constant_time_eq(t.as_bytes(), session.csrf.as_bytes()));
        if !(token_ok && same_origin(request.headers())) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "请求缺少有效的防伪令牌，已拒绝（或来自另一个网站）",
                "refused: the request lacks this session's CSRF token or comes from another site",
            ));
        }
    }
    let mut request = with_bounded_body(request, path).await?;
    request.extensions_mut().insert(Authed {
        csrf: session.csrf,
        secret,
    });
    Ok(request)
}

/// The gate (see the module doc).
pub async fn guard(State(console): State<ConsoleState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut response = match admit(&console, request, &path).await {
        Ok(request) => next.run(request).await,
        Err(refused) => refused,
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
        assert_eq!(
            cookies(&h, "hallsync_console_4000").collect::<Vec<_>>(),
            ["abc"]
        );
        assert_eq!(cookies(&h, "hallsync_console_4002").count(), 0);
        let mut shadowed = HeaderMap::new();
        shadowed.insert(
            header::COOKIE,
            HeaderValue::from_static("hallsync_console_4000=planted; hallsync_console_4000=real"),
        );
        assert_eq!(
            cookies(&shadowed, "hallsync_console_4000").collect::<Vec<_>>(),
            ["planted", "real"],
            "every value is tried, not only the first"
        );
        assert_eq!(query_value("x=1&csrf=ff&y=2", "csrf"), Some("ff"));
        assert_eq!(query_value("xcsrf=ff", "csrf"), None);
    }

    #[test]
    fn only_the_consoles_own_address_and_fetches_pass() {
        let bound: std::net::SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut h = HeaderMap::new();
        assert!(!host_ok(&h, bound), "no Host");
        for (host, ok) in [
            ("127.0.0.1:4000", true),
            ("127.0.0.1:4001", false),
            ("evil.example:4000", false),
            ("localhost:4000", false),
            ("10.0.0.1:4000", false),
        ] {
            h.insert(header::HOST, HeaderValue::from_static(host));
            assert_eq!(host_ok(&h, bound), ok, "{host}");
        }
        let any: std::net::SocketAddr = "0.0.0.0:4000".parse().unwrap();
        h.insert(header::HOST, HeaderValue::from_static("10.0.0.1:4000"));
        assert!(host_ok(&h, any));
        for (site, ok) in [
            ("same-origin", true),
            ("none", true),
            ("same-site", false),
            ("cross-site", false),
        ] {
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert_eq!(fetched_by_the_console(&h), ok, "{site}");
        }
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
