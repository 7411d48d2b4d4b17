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
//! - All of this runs on the guard's [`Clock`] (milliseconds), so a test's
//!   `ManualClock` drives it; only the refresher's sleeps use tokio timers,
//!   each at most `MAX_SLEEP` (1 s), after which it asks the clock again.

use crate::error::{Error, Result};
use crate::http::Http;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tessera_jose::{Clock, Jwks, KeySet};

/// The refresher's longest single sleep. The wait is recomputed from the
/// [`Clock`] after each one, so a clock that jumps (a test's `ManualClock`,
/// a stepped wall clock) is noticed within this.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// A duration in whole milliseconds, the unit of [`Clock::now_millis`].
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

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
    /// When the set was last fetched successfully, in clock milliseconds
    /// (`None`: static keys).
    fetched: Option<i64>,
    /// Refetch at or after this (clock milliseconds).
    fresh_until: i64,
}

/// Every time read below goes through `clock` (milliseconds); only the
/// background refresher sleeps on tokio timers, for durations computed from
/// the clock.
pub(crate) struct KeyCache {
    source: Option<(Http, String)>,
    cfg: CacheConfig,
    clock: Arc<dyn Clock>,
    state: RwLock<Snapshot>,
    /// Serialises fetches (single flight) and remembers when (clock
    /// milliseconds) an unknown `kid` last caused one (scheduled fetches do
    /// not count against it).
    fetch_lock: tokio::sync::Mutex<Option<i64>>,
    pub(crate) fetches: AtomicU64,
    pub(crate) fetch_failures: AtomicU64,
}

impl KeyCache {
    pub(crate) fn fixed(keys: KeySet, clock: Arc<dyn Clock>) -> Self {
        KeyCache {
            source: None,
            cfg: CacheConfig::default(),
            state: RwLock::new(Snapshot {
                keys: Arc::new(keys),
                fetched: None,
                fresh_until: clock.now_millis(),
            }),
            clock,
            fetch_lock: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            fetch_failures: AtomicU64::new(0),
        }
    }

    /// Fetches the set once; fails if that first fetch fails.
    pub(crate) async fn remote(
        http: Http,
        url: String,
        cfg: CacheConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let cache = KeyCache {
            source: Some((http, url)),
            cfg,
            state: RwLock::new(Snapshot {
                keys: Arc::new(KeySet::new()),
                fetched: None,
                fresh_until: clock.now_millis(),
            }),
            clock,
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
        let now = self.clock.now_millis();
        let s = self.state.read().map_err(|_| Error::KeysUnavailable)?;
        match s.fetched {
            Some(at) if now.saturating_sub(at) > millis(self.cfg.max_stale) => {
                Err(Error::KeysUnavailable)
            }
            _ => Ok(s.keys.clone()),
        }
    }

    /// How long until the background task should refetch (zero: now).
    pub(crate) fn until_refresh(&self) -> Duration {
        let now = self.clock.now_millis();
        let Ok(s) = self.state.read() else {
            return Duration::ZERO;
        };
        // A clock set back before the last fetch: refetch now rather than
        // wait out the jump.
        if s.fetched.is_some_and(|at| now < at) {
            return Duration::ZERO;
        }
        Duration::from_millis(u64::try_from(s.fresh_until.saturating_sub(now)).unwrap_or(0))
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
        let now = self.clock.now_millis();
        // Within the interval. (A clock set back before the last fetch
        // allows one fetch, which restarts the interval.)
        let interval = millis(self.cfg.unknown_kid_interval);
        if last.is_some_and(|t| (0..interval).contains(&now.saturating_sub(t))) {
            return Ok(current);
        }
        *last = Some(now);
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
        let now = self.clock.now_millis();
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
                        fresh_until: now.saturating_add(millis(ttl.mul_f64(0.8))),
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

/// Keeps the key set fresh until the guard is dropped. It sleeps toward the
/// refresh time the clock gives, at most [`MAX_SLEEP`] at a time, and asks
/// the clock again after each sleep.
pub(crate) async fn refresher(cache: std::sync::Weak<KeyCache>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let Some(c) = cache.upgrade() else { return };
        let wait = c.until_refresh();
        if !wait.is_zero() {
            drop(c);
            tokio::time::sleep(wait.min(MAX_SLEEP)).await;
            continue;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tessera_jose::{Algorithm, ManualClock, SigningKey};

    /// What the test JWKS endpoint answers.
    struct Script {
        /// `None`: 500.
        jwks: Option<String>,
        cache_control: Option<&'static str>,
    }

    /// A JWKS endpoint on an ephemeral port, answering as `script` says and
    /// counting requests.
    struct Issuer {
        url: String,
        script: Arc<Mutex<Script>>,
        hits: Arc<AtomicU64>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Issuer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Issuer {
        async fn start(cache_control: Option<&'static str>) -> Self {
            use axum::response::IntoResponse;
            let key = SigningKey::generate(Algorithm::ES256).unwrap();
            let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
            let script = Arc::new(Mutex::new(Script {
                jwks: Some(keys.to_jwks().to_json()),
                cache_control,
            }));
            let hits = Arc::new(AtomicU64::new(0));
            let (s, h) = (script.clone(), hits.clone());
            let app = axum::Router::new().route(
                "/jwks.json",
                axum::routing::get(move || {
                    let (s, h) = (s.clone(), h.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        let s = s.lock().unwrap();
                        let Some(body) = s.jwks.clone() else {
                            return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
                        };
                        let mut resp = body.into_response();
                        if let Some(cc) = s.cache_control {
                            resp.headers_mut().insert(
                                http::header::CACHE_CONTROL,
                                http::HeaderValue::from_static(cc),
                            );
                        }
                        resp
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
            let task = tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
            Issuer {
                url,
                script,
                hits,
                task,
            }
        }

        fn fail(&self) {
            self.script.lock().unwrap().jwks = None;
        }

        fn hits(&self) -> u64 {
            self.hits.load(Ordering::SeqCst)
        }
    }

    const T0: i64 = 1_800_000_000;

    async fn cache(issuer: &Issuer, clock: &Arc<ManualClock>, cfg: CacheConfig) -> KeyCache {
        let http = Http::new(&[], Duration::from_secs(5)).unwrap();
        KeyCache::remote(http, issuer.url.clone(), cfg, clock.clone())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_key_set_older_than_max_stale_is_refused() {
        let issuer = Issuer::start(None).await;
        let clock = Arc::new(ManualClock::new(T0));
        let cfg = CacheConfig {
            max_stale: Duration::from_secs(60),
            ..CacheConfig::default()
        };
        let keys = cache(&issuer, &clock, cfg).await;
        assert_eq!(keys.keys().unwrap().len(), 1);
        issuer.fail();
        // Exactly max_stale old: still served.
        clock.advance(Duration::from_secs(60));
        assert_eq!(keys.keys().unwrap().len(), 1);
        // A failed refetch does not make the old set any younger.
        assert!(keys.refresh().await.is_err());
        clock.advance(Duration::from_millis(1));
        assert_eq!(keys.keys().unwrap_err(), Error::KeysUnavailable);
        // The issuer back: a good fetch trusts the set again.
        issuer.script.lock().unwrap().jwks = Some(keys_json());
        keys.refresh().await.unwrap();
        assert_eq!(keys.keys().unwrap().len(), 1);
        assert_eq!(
            (keys.fetches.load(Ordering::Relaxed), issuer.hits()),
            (3, 3)
        );
    }

    fn keys_json() -> String {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
        keys.to_jwks().to_json()
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_at_most_once_per_interval() {
        let issuer = Issuer::start(None).await;
        let clock = Arc::new(ManualClock::new(T0));
        let cfg = CacheConfig {
            unknown_kid_interval: Duration::from_secs(10),
            ..CacheConfig::default()
        };
        let keys = cache(&issuer, &clock, cfg).await;
        assert_eq!(issuer.hits(), 1, "the first fetch");
        // The first unknown kid fetches (the build-time fetch does not count).
        keys.refresh_for_unknown(Some("nope")).await.unwrap();
        assert_eq!(issuer.hits(), 2);
        // Within the interval: no second fetch, however many ask.
        for _ in 0..5 {
            keys.refresh_for_unknown(Some("nope")).await.unwrap();
        }
        clock.advance(Duration::from_millis(9_999));
        keys.refresh_for_unknown(Some("nope")).await.unwrap();
        assert_eq!(issuer.hits(), 2);
        // A scheduled refresh does not spend the budget nor restart it.
        keys.refresh().await.unwrap();
        assert_eq!(issuer.hits(), 3);
        // Once the interval has passed: one more fetch.
        clock.advance(Duration::from_millis(1));
        keys.refresh_for_unknown(Some("nope")).await.unwrap();
        assert_eq!(issuer.hits(), 4);
        keys.refresh_for_unknown(Some("nope")).await.unwrap();
        assert_eq!(issuer.hits(), 4);
        // A clock set back allows one fetch, which restarts the interval.
        clock.set(T0 - 3600);
        keys.refresh_for_unknown(Some("nope")).await.unwrap();
        keys.refresh_for_unknown(Some("nope")).await.unwrap();
        assert_eq!(issuer.hits(), 5);
        assert_eq!(keys.fetches.load(Ordering::Relaxed), 5);
    }

    #[tokio::test]
    async fn freshness_is_cache_control_clamped_to_min_and_max_ttl() {
        let cfg = CacheConfig {
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(3600),
            ..CacheConfig::default()
        };
        // Refetch at 80% of the clamped freshness.
        for (cache_control, refresh_in) in [
            (Some("max-age=300"), 240),
            (Some("max-age=5"), 24),        // below min_ttl
            (Some("no-store"), 24),         // zero, below min_ttl
            (Some("max-age=100000"), 2880), // above max_ttl
            (None, 2880),                   // silent: max_ttl
        ] {
            let issuer = Issuer::start(cache_control).await;
            let clock = Arc::new(ManualClock::new(T0));
            let keys = cache(&issuer, &clock, cfg.clone()).await;
            let at = Duration::from_secs(refresh_in);
            assert_eq!(keys.until_refresh(), at, "{cache_control:?}");
            clock.advance(at - Duration::from_millis(1));
            assert_eq!(keys.until_refresh(), Duration::from_millis(1));
            clock.advance(Duration::from_millis(1));
            assert_eq!(keys.until_refresh(), Duration::ZERO, "{cache_control:?}");
        }
        // A clock set back before the last fetch: due at once.
        let issuer = Issuer::start(None).await;
        let clock = Arc::new(ManualClock::new(T0));
        let keys = cache(&issuer, &clock, cfg).await;
        clock.set(T0 - 1);
        assert_eq!(keys.until_refresh(), Duration::ZERO);
    }

    #[tokio::test]
    async fn the_refresher_follows_the_clock_not_the_timer() {
        let issuer = Issuer::start(Some("max-age=60")).await;
        let clock = Arc::new(ManualClock::new(T0));
        let cfg = CacheConfig {
            min_ttl: Duration::from_secs(1),
            ..CacheConfig::default()
        };
        let keys = Arc::new(cache(&issuer, &clock, cfg).await);
        let task = tokio::spawn(refresher(Arc::downgrade(&keys)));
        // Real time passes, the clock does not: nothing is due.
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(issuer.hits(), 1);
        // The clock jumps past 80% of max-age: noticed within one sleep.
        clock.advance(Duration::from_secs(48));
        let refreshed = async {
            while issuer.hits() < 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), refreshed)
            .await
            .expect("a background refresh");
        // Fresh again: no further fetch until the clock moves.
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(issuer.hits(), 2);
        // The refresher stops with the cache.
        drop(keys);
        tokio::time::timeout(Duration::from_secs(3), task)
            .await
            .unwrap()
            .unwrap();
    }
}
