//! The administrators' console: web pages in Chinese (English beside) for approving, watching and
//! explaining, served by the node itself.
//!
//! Hall managers approve signed changes; they are not shell users. The console gives them the same
//! commands the CLI sends (one code path: every page asks the event loop with a [`Command`] and
//! reads the typed answer), on server-rendered HTML that works without JavaScript, with one small
//! script for the live badges and one for sign-in. Nothing is fetched from outside the binary:
//! halls are often offline.
//!
//! ## Who may use it
//! The console acts as this node's device, so it is as strong as the control token: `hallsync
//! console` (which must read `control.json`) asks the node for a one-time sign-in link (see
//! [`sessions`]), the browser trades it for an `HttpOnly; SameSite=Strict` session cookie, and
//! every state-changing request must carry the session's CSRF token in its URL and come from the
//! console's own origin. The checks run on the request line and headers, before a byte of a body
//! is read ([`guard`]). What the device may decide is the node's business, not the console's:
//! approving one's own proposal or deciding as an operator is refused by the engine whatever a
//! browser sends.
//!
//! ## Where
//! Beside the control API on loopback by default, or on `[console] listen`.

// A handler's refusal is a whole page, as large as its success: boxing it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod guard;
pub mod labels;
pub mod layout;
pub mod pages;
pub mod sessions;

use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::control::CommandRequest;
use crate::engine::Command;
use sessions::{ConsoleLimits, Sessions};

/// Largest form body (approve, reject, sign-in), in bytes.
pub const FORM_BYTES_MAX: usize = 64 * 1024;

/// Largest catalogue upload, in bytes.
pub const UPLOAD_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The session cookie's name, before the console's port: browsers keep cookies by host, not by
/// port, so two nodes' consoles on one machine (127.0.0.1:4000 and :4001) need cookies of their
/// own names, or signing in to one would sign out of the other.
pub const COOKIE_PREFIX: &str = "hallsync_console_";

/// What `hallsync console` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleLink {
    /// The sign-in link, with its secret in the fragment.
    pub url: String,
    /// How long it stays good, in seconds.
    pub expires_in_s: i64,
}

/// The console's shared state: sessions and the way to the event loop.
#[derive(Clone)]
pub struct ConsoleState {
    sessions: Arc<Mutex<Sessions>>,
    commands: mpsc::Sender<CommandRequest>,
    /// `http://ADDR`, where sign-in links point.
    base: Arc<String>,
    /// The session cookie's name ([`COOKIE_PREFIX`] and the port).
    cookie: Arc<String>,
    /// The address the console listens on: requests must name it as their `Host`.
    bound: std::net::SocketAddr,
    /// One uploaded table parsed at a time, off the async workers: a workbook is bounded (see
    /// `table_io`), but parsing it is still seconds of CPU that must not stall the node.
    parsing: Arc<tokio::sync::Semaphore>,
    /// The last answer of `/console/live` and when it was computed (see [`pages::LIVE_REUSE_MS`]).
    live: Arc<Mutex<Option<(i64, pages::Live)>>>,
    limits: ConsoleLimits,
}

/// Milliseconds since the Unix epoch on this machine's clock (0 before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh secret from the OS RNG, as 64 hex digits.
///
/// # Errors
/// The OS has no randomness to give.
pub fn secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

impl ConsoleState {
    /// The console of a node reached at `addr`, asking its event loop over `commands`.
    pub fn new(
        addr: std::net::SocketAddr,
        commands: mpsc::Sender<CommandRequest>,
        limits: ConsoleLimits,
    ) -> ConsoleState {
        ConsoleState {
            sessions: Arc::new(Mutex::new(Sessions::new(limits))),
            commands,
            base: Arc::new(format!("http://{addr}")),
            cookie: Arc::new(format!("{COOKIE_PREFIX}{}", addr.port())),
            bound: addr,
            parsing: Arc::new(tokio::sync::Semaphore::new(1)),
            live: Arc::new(Mutex::new(None)),
            limits,
        }
    }

    /// The limits of `[console]`.
    pub fn limits_of(section: &hallsync_config::ConsoleSection) -> ConsoleLimits {
        ConsoleLimits {
            link_ttl_ms: i64::from(section.link_minutes) * 60_000,
            session_ttl_ms: i64::from(section.session_minutes) * 60_000,
            links_max: 16,
            sessions_max: section.sessions_max as usize,
        }
    }

    /// The session store. A poisoned lock means a panic while holding it, which the store's
    /// methods never do; the data is still whole (every method leaves it consistent), so use it.
    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live badges' last answer, if computed less than `reuse_ms` before `now_ms`.
    fn live_cached(&self, now_ms: i64, reuse_ms: i64) -> Option<pages::Live> {
        let kept = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.as_ref()
            .filter(|(at, _)| (0..reuse_ms).contains(&(now_ms - at)))
            .map(|(_, live)| live.clone())
    }

    /// Keeps `live` as computed at `now_ms`.
    fn keep_live(&self, now_ms: i64, live: pages::Live) {
        *self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((now_ms, live));
    }

    /// Issues a one-time sign-in link (for `hallsync console`, which holds the control token).
    ///
    /// # Errors
    /// The OS has no randomness to give.
    pub fn issue_link(&self) -> Result<ConsoleLink, String> {
        let link = secret()?;
        self.sessions().issue_link(&link, now_ms());
        Ok(ConsoleLink {
            url: format!("{}/console/signin#{link}", self.base),
            expires_in_s: self.limits.link_ttl_ms / 1000,
        })
    }

    /// [`ConsoleState::ask`] for a page handler: a refusal comes back as the page saying so.
    ///
    /// # Errors
    /// The refusal's page.
    pub async fn fetch<T: DeserializeOwned>(
        &self,
        command: Command,
    ) -> Result<T, axum::response::Response> {
        self.ask(command).await.map_err(|e| pages::failed(&e))
    }

    /// Reads an uploaded table on a blocking thread, one upload at a time.
    ///
    /// # Errors
    /// The table's problem, in words.
    pub async fn parse_table(
        &self,
        name: String,
        format: crate::table_io::TableFormat,
        bytes: Vec<u8>,
    ) -> Result<crate::table_io::Table, String> {
        let _turn = self
            .parsing
            .acquire()
            .await
            .map_err(|_| "the node is shutting down".to_string())?;
        tokio::task::spawn_blocking(move || {
            crate::table_io::read_table_bytes(&name, format, &bytes)
        })
        .await
        .map_err(|e| format!("reading the table failed: {e}"))?
        .map_err(|e| e.to_string())
    }

    /// Runs `command` on the event loop and reads its answer as `T`.
    ///
    /// # Errors
    /// The node's refusal in words, or an answer of another shape.
    pub async fn ask<T: DeserializeOwned>(&self, command: Command) -> Result<T, String> {
        let value = crate::control::server::run(&self.commands, command).await?;
        serde_json::from_value(value).map_err(|e| format!("the node answered unexpectedly: {e}"))
    }
}

/// The console's routes, under `/console`.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route(
            "/console/signin",
            get(pages::signin::page).post(pages::signin::submit),
        )
        .route("/console/signout", post(pages::signin::signout))
        .route("/console/assets/{name}", get(pages::asset))
        .route("/console/live", get(pages::live))
        .route("/console/pending", get(pages::pending::page))
        .route("/console/approve", post(pages::pending::approve))
        .route("/console/reject", post(pages::pending::reject))
        .route("/console/catalogue", get(pages::catalogue::page))
        .route(
            "/console/catalogue/item/{code}",
            get(pages::catalogue::item),
        )
        .route("/console/catalogue/export", get(pages::catalogue::export))
        .route(
            "/console/catalogue/import",
            get(pages::catalogue::import_page)
                .post(pages::catalogue::import)
                .layer(DefaultBodyLimit::max(UPLOAD_BYTES_MAX)),
        )
        .route("/console/stationing", get(pages::halls::stationing))
        .route("/console/departments", get(pages::halls::departments))
        .route("/console/staff", get(pages::halls::staff))
        .route("/console/halls", get(pages::halls::tree))
        .route("/console/cases", get(pages::cases::page))
        .route("/console/sync", get(pages::sync::page))
        .route("/console/audit", get(pages::audit::page))
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(FORM_BYTES_MAX))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}
