//! Sign-in links and sessions of the console.
//!
//! Whoever can read the data directory's `control.json` can command the node; the console gives
//! that power to a browser without the token ever entering one. `hallsync console` asks the node
//! (with the control token) for a **sign-in link**: a fresh random secret, good once and for
//! [`ConsoleLimits::link_ttl_ms`], carried in the URL's fragment (which browsers never send to a
//! server or put in a `Referer`). The sign-in page posts it once; the node forgets the link and
//! answers with a **session**: another random secret in an `HttpOnly; SameSite=Strict` cookie,
//! good for [`ConsoleLimits::session_ttl_ms`], and a **CSRF token** that every form carries and
//! every state-changing request must present. Secrets are kept only as SHA-256 digests and
//! compared in constant time, so a memory dump or a timing probe does not give one away.
//!
//! Everything here is bounded: at most [`ConsoleLimits::links_max`] links and
//! [`ConsoleLimits::sessions_max`] sessions; past either, the oldest goes. Time comes in as an
//! argument (ms on the node's clock), so the expiry rules are tested without waiting.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The console's bounds (`[console]` in config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleLimits {
    /// How long a sign-in link may wait before it is used, ms.
    pub link_ttl_ms: i64,
    /// How long a session lasts from sign-in, ms.
    pub session_ttl_ms: i64,
    /// Most sign-in links outstanding.
    pub links_max: usize,
    /// Most sessions at once.
    pub sessions_max: usize,
}

impl Default for ConsoleLimits {
    fn default() -> Self {
        ConsoleLimits {
            link_ttl_ms: 5 * 60 * 1000,
            session_ttl_ms: 10 * 60 * 60 * 1000,
            links_max: 16,
            sessions_max: 32,
        }
    }
}

/// A signed-in browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// What forms carry and state-changing requests must present.
    pub csrf: String,
    /// When it ends, ms.
    pub expires_at_ms: i64,
}

type Digest32 = [u8; 32];

fn digest(secret: &str) -> Digest32 {
    Sha256::digest(secret.as_bytes()).into()
}

/// Equal bytes, compared in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The links and sessions of one node.
#[derive(Debug, Default)]
pub struct Sessions {
    limits: ConsoleLimits,
    /// Link digest → when it stops being good.
    links: BTreeMap<Digest32, i64>,
    /// Session digest → the session.
    sessions: BTreeMap<Digest32, Session>,
}

/// Why a sign-in was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInRefused {
    /// No such link: never issued, already used, or pushed out by newer ones.
    Unknown,
    /// The link was issued but waited too long.
    Expired,
}

impl Sessions {
    /// An empty store under `limits`.
    pub fn new(limits: ConsoleLimits) -> Sessions {
        Sessions {
            limits,
            ..Sessions::default()
        }
    }

    /// Keeps `secret` (fresh randomness from the caller) as a sign-in link good until
    /// `now_ms + link_ttl_ms`; the oldest link goes when [`ConsoleLimits::links_max`] are out.
    pub fn issue_link(&mut self, secret: &str, now_ms: i64) {
        self.links.retain(|_, until| *until > now_ms);
        while self.links.len() >= self.limits.links_max.max(1) {
            let Some(oldest) = self
                .links
                .iter()
                .min_by_key(|(_, until)| **until)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.links.remove(&oldest);
        }
        self.links
            .insert(digest(secret), now_ms + self.limits.link_ttl_ms);
        debug_assert!(self.links.len() <= self.limits.links_max.max(1));
    }

    /// Uses the link `secret` (once: it is gone whatever the answer) and opens a session keyed by
    /// `session_secret` with CSRF token `csrf` (both fresh randomness from the caller).
    ///
    /// # Errors
    /// [`SignInRefused`] for a link that is unknown, used or expired.
    pub fn sign_in(
        &mut self,
        secret: &str,
        session_secret: &str,
        csrf: &str,
        now_ms: i64,
    ) -> Result<Session, SignInRefused> {
        let wanted = digest(secret);
        // Look the link up by comparing every digest in constant time, not by the map's order.
        let found = self
            .links
            .keys()
            .find(|k| constant_time_eq(k.as_slice(), wanted.as_slice()))
            .copied();
        let until = found
            .and_then(|k| self.links.remove(&k))
            .ok_or(SignInRefused::Unknown)?;
        if until <= now_ms {
            return Err(SignInRefused::Expired);
        }
        self.sessions.retain(|_, s| s.expires_at_ms > now_ms);
        while self.sessions.len() >= self.limits.sessions_max.max(1) {
            let Some(oldest) = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.expires_at_ms)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.sessions.remove(&oldest);
        }
        let session = Session {
            csrf: csrf.to_string(),
            expires_at_ms: now_ms + self.limits.session_ttl_ms,
        };
        self.sessions
            .insert(digest(session_secret), session.clone());
        debug_assert!(self.sessions.len() <= self.limits.sessions_max.max(1));
        Ok(session)
    }

    /// The session the cookie value `secret` names, if it is still good.
    pub fn session(&self, secret: &str, now_ms: i64) -> Option<Session> {
        let wanted = digest(secret);
        self.sessions
            .iter()
            .find(|(k, _)| constant_time_eq(k.as_slice(), wanted.as_slice()))
            .map(|(_, s)| s)
            .filter(|s| s.expires_at_ms > now_ms)
            .cloned()
    }

    /// Ends the session `secret` names (sign out).
    pub fn end(&mut self, secret: &str) {
        self.sessions.remove(&digest(secret));
    }

    /// Sessions open (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConsoleLimits {
        ConsoleLimits {
            link_ttl_ms: 1_000,
            session_ttl_ms: 10_000,
            links_max: 2,
            sessions_max: 2,
        }
    }

    #[test]
    fn a_link_signs_in_once_and_only_before_it_expires() {
        let mut s = Sessions::new(limits());
        s.issue_link("link-a", 0);
        let session = s.sign_in("link-a", "sess-a", "csrf-a", 500).unwrap();
        assert_eq!(session.csrf, "csrf-a");
        assert_eq!(
            s.sign_in("link-a", "sess-b", "csrf-b", 600),
            Err(SignInRefused::Unknown),
            "a link is good once"
        );
        s.issue_link("link-b", 0);
        assert_eq!(
            s.sign_in("link-b", "sess-b", "csrf-b", 1_000),
            Err(SignInRefused::Expired)
        );
        assert_eq!(s.sign_in("never", "x", "y", 0), Err(SignInRefused::Unknown));
    }

    #[test]
    fn a_session_ends_at_its_expiry_or_sign_out() {
        let mut s = Sessions::new(limits());
        s.issue_link("l", 0);
        s.sign_in("l", "sess", "c", 0).unwrap();
        assert!(s.session("sess", 9_999).is_some());
        assert!(s.session("sess", 10_000).is_none());
        assert!(s.session("other", 0).is_none());
        s.end("sess");
        assert!(s.session("sess", 0).is_none());
    }

    #[test]
    fn links_and_sessions_stay_within_their_bounds() {
        let mut s = Sessions::new(limits());
        for i in 0..5 {
            s.issue_link(&format!("l{i}"), i);
        }
        // Only the two newest links survive.
        assert_eq!(s.sign_in("l0", "x", "c", 10), Err(SignInRefused::Unknown));
        assert!(s.sign_in("l4", "s4", "c", 10).is_ok());
        assert!(s.sign_in("l3", "s3", "c", 11).is_ok());
        s.issue_link("l5", 12);
        assert!(s.sign_in("l5", "s5", "c", 12).is_ok());
        assert_eq!(s.len(), 2);
        assert!(s.session("s4", 13).is_none(), "the oldest session went");
        assert!(s.session("s5", 13).is_some());
    }
}
