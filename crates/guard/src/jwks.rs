//! The key-set cache.
//!
//! - Freshness comes from the JWKS response's `Cache-Control` (clamped to
//!   `[min_ttl, max_ttl]`); a background task refetches at 80% of it.
//! - A token with an unknown `kid` triggers at most one fetch per
//!   `unknown_kid_interval`: concurrent callers wait for the one fetch in
//!   flight instead of starting their own (stampede protection).
//! - When fetches fail, the last good set keeps serving until it is older
//!   than `max_stale`; after that every token is refused with
//!   [`Error::KeysUnavailable`].
//! - The URL is fixed at build time. Nothing in a token (`jku`, `x5u`,
//!   `jwk`) ever leads to a fetch.

use crate::error::{Error, Result};
use crate::http::Http;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tessera_jose::{Jwks, KeySet};
use tokio::time::Instant;

/// Tuning for the key-set cache.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Shortest freshness honoured, whatever `Cache-Control` says.
    pub min_ttl: Duration,
    /// Longest freshness honoured, and the default without `Cache-Control`.
    pub max_ttl: Duration,
    /// Minimum time between fetches caused by unknown `kid`s.
    pub unknown_kid_interval: Duration,
    /// How long the last good key set keeps serving while the issuer is
    /// unreachable.
    pub max_stale: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(3600),
            unknown_kid_interval: Duration::from_secs(10),
            max_stale: Duration::from_secs(24 * 3600),
        }
    }
}

struct Snapshot {
    keys: Arc<KeySet>,
    /// When the set was last fetched successfully (`None`: static keys).
    fetched: Option<Instant>,
    /// Refetch after this.
    fresh_until: Instant,
}

pub(crate) struct KeyCache {
    source: Option<(Http, String)>,
    cfg: CacheConfig,
    state: RwLock<Snapshot>,
    /// Serialises fetches (single flight) and remembers the last fetch an
    /// unknown `kid` caused (scheduled fetches do not count against it).
    fetch_lock: tokio::sync::Mutex<Option<Instant>>,
    pub(crate) fetches: AtomicU64,
    pub(crate) fetch_failures: AtomicU64,
}

impl KeyCache {
    pub(crate) fn fixed(keys: KeySet) -> Self {
        let now = Instant::now();
        KeyCache {
            source: None,
            cfg: CacheConfig::default(),
            state: RwLock::new(Snapshot {
                keys: Arc::new(keys),
                fetched: None,
                fresh_until: now,
            }),
            fetch_lock: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            fetch_failures: AtomicU64::new(0),
        }
    }

    /// Fetches the set once; fails if that first fetch fails.
    pub(crate) async fn remote(http: Http, url: String, cfg: CacheConfig) -> Result<Self> {
        let cache = KeyCache {
            source: Some((http, url)),
            cfg,
            state: RwLock::new(Snapshot {
                keys: Arc::new(KeySet::new()),
                fetched: None,
                fresh_until: Instant::now(),
            }),
            fetch_lock: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            fetch_failures: AtomicU64::new(0),
        };
        let guard = cache.fetch_lock.lock().await;
        cache.fetch().await?;
        drop(guard);
        Ok(cache)
    }

    pub(crate) fn is_remote(&self) -> bool {
        self.source.is_some()
    }

    /// The current set, or `KeysUnavailable` when it is too stale to trust.
    pub(crate) fn keys(&self) -> Result<Arc<KeySet>> {
        let s = self.state.read().map_err(|_| Error::KeysUnavailable)?;
        match s.fetched {
            Some(at) if at.elapsed() > self.cfg.max_stale => Err(Error::KeysUnavailable),
            _ => Ok(s.keys.clone()),
        }
    }

    /// When the background task should refetch.
    pub(crate) fn refresh_at(&self) -> Instant {
        self.state
            .read()
            .map(|s| s.fresh_until)
            .unwrap_or_else(|_| Instant::now())
    }

    /// A token named `kid` that the current set lacks: refetch unless one
    /// happened within `unknown_kid_interval`. Concurrent callers share one
    /// fetch. Returns the set to retry with.
    pub(crate) async fn refresh_for_unknown(&self, kid: Option<&str>) -> Result<Arc<KeySet>> {
        if self.source.is_none() {
            return self.keys();
        }
        let mut last = self.fetch_lock.lock().await;
        // Someone else's fetch, while we waited, may have brought the key.
        let current = self.keys()?;
        if kid.is_some_and(|k| current.get(k).is_some()) {
            return Ok(current);
        }
        if last.is_some_and(|t| t.elapsed() < self.cfg.unknown_kid_interval) {
            return Ok(current);
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(()) => self.keys(),
            // The old set still serves (within max_stale).
            Err(_) => Ok(current),
        }
    }

    /// Scheduled refresh (background task).
    pub(crate) async fn refresh(&self) -> Result<()> {
        let _single_flight = self.fetch_lock.lock().await;
        self.fetch().await
    }

    /// One fetch; callers hold `fetch_lock`.
    async fn fetch(&self) -> Result<()> {
        let Some((http, url)) = &self.source else {
            return Ok(());
        };
        let now = Instant::now();
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = async {
            let got = http.get(url, None).await?;
            let text = std::str::from_utf8(&got.body)
                .map_err(|_| Error::Fetch("JWKS is not UTF-8".into()))?;
            let jwks =
                Jwks::from_json(text).map_err(|e| Error::Fetch(format!("JWKS refused: {e}")))?;
            let keys = KeySet::from_jwks(&jwks);
            if keys.is_empty() {
                return Err(Error::Fetch("JWKS has no usable key".into()));
            }
            Ok((keys, got.max_age))
        }
        .await;
        match result {
            Ok((keys, max_age)) => {
                metrics::counter!("tessera_guard_jwks_fetches_total", "outcome" => "ok")
                    .increment(1);
                let ttl = max_age
                    .unwrap_or(self.cfg.max_ttl)
                    .clamp(self.cfg.min_ttl, self.cfg.max_ttl);
                let n = keys.len();
                if let Ok(mut s) = self.state.write() {
                    *s = Snapshot {
                        keys: Arc::new(keys),
                        fetched: Some(now),
                        fresh_until: now + ttl.mul_f64(0.8),
                    };
                }
                tracing::debug!(keys = n, ttl_secs = ttl.as_secs(), "JWKS fetched");
                Ok(())
            }
            Err(e) => {
                self.fetch_failures.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("tessera_guard_jwks_fetches_total", "outcome" => "error")
                    .increment(1);
                tracing::warn!(error = %e, "JWKS fetch failed; serving the last good key set");
                Err(e)
            }
        }
    }
}

/// Keeps the key set fresh until the guard is dropped.
pub(crate) async fn refresher(cache: std::sync::Weak<KeyCache>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let Some(c) = cache.upgrade() else { return };
        let at = c.refresh_at();
        drop(c);
        tokio::time::sleep_until(at).await;
        let Some(c) = cache.upgrade() else { return };
        match c.refresh().await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(_) => {
                drop(c);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
