//! Following the auth server's revocation feed (`GET /v1/revocations`), so
//! that an access token of a logged-out or theft-revoked session is refused
//! within seconds instead of at its expiry.
//!
//! The follower long-polls with client credentials and keeps every revoked
//! session id until `revoked_at + max_age` (the longest an access token of
//! it can still be valid), so the list stays bounded. If the feed is
//! unreachable, the list keeps what it had and polling retries with backoff;
//! tokens are then only as fresh as their `exp` (see [`Stats`](crate::Stats)
//! for the last successful poll).
//!
//! Signing keys the feed names as revoked are refused for good (their
//! tokens whatever their `exp`; the list is a handful of kids at most).
//! Revoked session-less tokens (client credentials) are refused by `jti`
//! until their `exp` plus the guard's leeway.

use crate::error::{Error, Result};
use crate::http::Http;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tessera_jose::Clock;

/// How long one long poll may wait on the server.
const WAIT_SECS: u64 = 25;

/// One page of the feed, as the server writes it.
type Page = tessera_api::RevocationFeed;

pub(crate) struct Revocations {
    /// Session id → forget after (Unix seconds).
    sids: RwLock<HashMap<String, i64>>,
    /// Revoked signing keys: never forgotten.
    kids: RwLock<HashSet<String>>,
    /// Revoked session-less tokens: `jti` → forget after (Unix seconds).
    jtis: RwLock<HashMap<String, i64>>,
    /// Seconds a token is still accepted past its `exp`.
    leeway: i64,
    pub(crate) polls: AtomicU64,
    pub(crate) last_ok: AtomicI64,
}

impl Revocations {
    pub(crate) fn new(leeway: i64) -> Self {
        Revocations {
            sids: RwLock::new(HashMap::new()),
            kids: RwLock::new(HashSet::new()),
            jtis: RwLock::new(HashMap::new()),
            leeway,
            polls: AtomicU64::new(0),
            last_ok: AtomicI64::new(0),
        }
    }

    pub(crate) fn is_revoked(&self, sid: &str) -> bool {
        self.sids
            .read()
            .map(|m| m.contains_key(sid))
            .unwrap_or(false)
    }

    /// True if the feed named this signing key as revoked.
    pub(crate) fn is_key_revoked(&self, kid: &str) -> bool {
        self.kids.read().map(|k| k.contains(kid)).unwrap_or(false)
    }

    /// True if the feed named this token id as revoked.
    pub(crate) fn is_token_revoked(&self, jti: &str) -> bool {
        self.jtis
            .read()
            .map(|m| m.contains_key(jti))
            .unwrap_or(false)
    }

    pub(crate) fn len(&self) -> usize {
        self.sids.read().map(|m| m.len()).unwrap_or(0)
    }

    fn apply(&self, page: &Page, now: i64) {
        if !page.revoked_keys.is_empty() {
            if let Ok(mut k) = self.kids.write() {
                for key in &page.revoked_keys {
                    if k.insert(key.kid.clone()) {
                        tracing::warn!(kid = %key.kid, "the issuer revoked a signing key");
                    }
                }
            }
        }
        if let Ok(mut m) = self.jtis.write() {
            for t in &page.revoked_tokens {
                let until = t.exp.saturating_add(self.leeway);
                if until >= now {
                    m.insert(t.jti.clone(), until);
                }
            }
            m.retain(|_, until| *until >= now);
        }
        if let Ok(mut m) = self.sids.write() {
            for e in &page.revoked {
                let until = e.revoked_at.saturating_add(page.max_age.max(0));
                if until > now {
                    m.insert(e.sid.clone(), until);
                }
            }
            m.retain(|_, until| *until > now);
            metrics::gauge!("tessera_guard_revoked_sessions").set(m.len() as f64);
        }
    }
}

pub(crate) struct Follower {
    pub http: Http,
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    pub clock: Arc<dyn Clock>,
}

impl Follower {
    async fn poll(&self, cursor: Option<&str>, wait: u64) -> Result<Page> {
        let mut url = format!("{}?wait={wait}", self.url);
        if let Some(c) = cursor {
            url.push_str("&since=");
            url.push_str(c);
        }
        let got = self
            .http
            .get(&url, Some((&self.client_id, &self.client_secret)))
            .await?;
        serde_json::from_slice(&got.body)
            .map_err(|_| Error::Fetch("revocation feed answer is not the expected JSON".into()))
    }

    /// The first poll (at build time): fails if the feed cannot be read.
    pub(crate) async fn first(&self, into: &Revocations) -> Result<String> {
        let page = self.poll(None, 0).await?;
        into.apply(&page, self.clock.now());
        into.polls.fetch_add(1, Ordering::Relaxed);
        into.last_ok.store(self.clock.now(), Ordering::Relaxed);
        Ok(page.cursor)
    }

    /// Follows the feed until `into` is dropped.
    pub(crate) async fn run(self, into: Weak<Revocations>, mut cursor: String) {
        let mut backoff = Duration::from_millis(500);
        let mut wait = WAIT_SECS;
        loop {
            if into.strong_count() == 0 {
                return;
            }
            match self.poll(Some(&cursor), wait).await {
                Ok(page) => {
                    // A cut page: the rest at once.
                    wait = if page.more { 0 } else { WAIT_SECS };
                    let Some(r) = into.upgrade() else { return };
                    let now = self.clock.now();
                    r.apply(&page, now);
                    r.polls.fetch_add(1, Ordering::Relaxed);
                    r.last_ok.store(now, Ordering::Relaxed);
                    cursor = page.cursor;
                    backoff = Duration::from_millis(500);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "revocation feed poll failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
