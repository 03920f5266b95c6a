//! Sign-in with a link from `hallsync console`, and sign-out.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;

use crate::console::guard::Authed;
use crate::console::layout::bare;
use crate::console::sessions::SignInRefused;
use crate::console::{now_ms, secret, ConsoleState};

/// `GET /console/signin`: a form the script fills from the link's fragment and submits; without
/// JavaScript, the secret (the part after `#`) can be pasted.
pub async fn page() -> Response {
    bare(
        "登录 Sign in",
        html! {
            h1 { "登录管理控制台 " small { "sign in to the console" } }
            form #signin method="post" action="/console/signin" {
                p {
                    label for="token" { "登录链接中 # 之后的部分 " small { "the part of the sign-in link after #" } }
                    br;
                    input #token type="text" name="token" size="70" autocomplete="off" required;
                }
                button.primary type="submit" { "登录 Sign in" }
            }
            p.muted { "链接由本机执行 " code { "hallsync console" } " 生成，只能用一次。 Links come from " code { "hallsync console" } " on the node's machine and work once." }
            script src="/console/assets/signin.js" {}
        },
    )
    .into_response()
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignIn {
    token: String,
}

/// `POST /console/signin`: trades a link's secret for a session cookie.
pub async fn submit(State(console): State<ConsoleState>, Form(form): Form<SignIn>) -> Response {
    let (Ok(session_secret), Ok(csrf)) = (secret(), secret()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no randomness").into_response();
    };
    let signed_in = console
        .sessions()
        .sign_in(form.token.trim(), &session_secret, &csrf, now_ms());
    match signed_in {
        Ok(session) => {
            // A browser-session cookie (no Max-Age): closing the browser on a shared hall PC ends
            // it; the node ends it anyway at `expires_at_ms`.
            debug_assert!(session.expires_at_ms > now_ms());
            let cookie = format!(
                "{}={session_secret}; Path=/console; HttpOnly; SameSite=Strict",
                console.cookie
            );
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, cookie),
                    (header::LOCATION, "/console/pending".to_string()),
                ],
            )
                .into_response()
        }
        Err(why) => {
            let (zh, en) = match why {
                SignInRefused::Unknown => (
                    "这个链接无效或已用过",
                    "this link is unknown or was used already",
                ),
                SignInRefused::Expired => ("这个链接已过期", "this link has expired"),
            };
            (
                StatusCode::FORBIDDEN,
                bare(
                    "登录失败 Sign-in refused",
                    html! {
                        h1 { (zh) " " small { (en) } }
                        p { "在节点所在的电脑上运行 " code { "hallsync console" } " 获取新的链接。 Run " code { "hallsync console" } " on the node's machine for a new link." }
                    },
                ),
            )
                .into_response()
        }
    }
}

/// `POST /console/signout`: ends the session and clears the cookie.
pub async fn signout(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
) -> Response {
    console.sessions().end(&authed.secret);
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!(
                    "{}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
                    console.cookie
                ),
            ),
            (header::LOCATION, "/console/signin".to_string()),
        ],
    )
        .into_response()
}
