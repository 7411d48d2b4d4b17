//! Abuse resistance: login backoff per account and per client IP, and
//! token-bucket rate limits per IP for registration and refresh.
//!
//! The account key is the normalised email whether or not an account exists,
//! so throttling behaves identically for real and unknown accounts and never
//! reveals which is which. State is in memory and bounded; time comes from
//! the caller's clock (milliseconds).
//!
//! One cohesive thing: the in-memory and shared throttles implement one
//! policy side by side (about 460 lines); the rest of the file is their tests.

use std::collections::HashMap;
use std::sync::Mutex;

/// Backoff thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Failures allowed before any delay.
    pub free_failures: u32,
    /// First delay, in milliseconds; each further failure doubles it.
    pub base_delay_ms: i64,
    /// Longest delay, in milliseconds.
    pub max_delay_ms: i64,
    /// A key with no failure for this long starts over, in milliseconds.
    pub reset_after_ms: i64,
}

/// Login throttling settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Per account (email).
    pub account: BackoffPolicy,
    /// Per client IP.
    pub ip: BackoffPolicy,
    /// Registrations per IP per minute (burst of the same size).
    pub register_per_minute: u32,
    /// Refreshes per IP per minute (burst of the same size).
    pub refresh_per_minute: u32,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            account: BackoffPolicy {
                free_failures: 5,
                base_delay_ms: 1_000,
                max_delay_ms: 15 * 60 * 1000,
                reset_after_ms: 60 * 60 * 1000,
            },
            ip: BackoffPolicy {
                free_failures: 50,
                base_delay_ms: 1_000,
                max_delay_ms: 15 * 60 * 1000,
                reset_after_ms: 60 * 60 * 1000,
            },
            register_per_minute: 20,
            refresh_per_minute: 600,
        }
    }
}

pub use crate::error::RetryAfter;

fn ceil_secs(ms: i64) -> u64 {
    u64::try_from((ms.max(1) + 999) / 1000).unwrap_or(1)
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_ms: i64,
    blocked_until_ms: i64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// Most keys a table keeps; beyond it, stale entries are dropped first.
const MAX_KEYS: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// In-memory throttling state.
#[derive(Debug, Default)]
pub struct Throttle {
    cfg: ThrottleConfig,
    accounts: Mutex<HashMap<String, Failures>>,
    ips: Mutex<HashMap<String, Failures>>,
    buckets: Mutex<HashMap<(u8, String), Bucket>>,
}

/// What a rate limit guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST /v1/auth/register`.
    Register,
    /// Refresh-token grants.
    Refresh,
}

fn blocked(map: &Mutex<HashMap<String, Failures>>, key: &str, now: i64) -> Option<i64> {
    lock(map)
        .get(key)
        .map(|f| f.blocked_until_ms)
        .filter(|until| *until > now)
}

/// One more failure on `f` (or a fresh key) at `now`.
fn next_failure(f: Option<Failures>, p: &BackoffPolicy, now: i64) -> Failures {
    let mut f = f.unwrap_or(Failures {
        count: 0,
        last_ms: now,
        blocked_until_ms: 0,
    });
    if now.saturating_sub(f.last_ms) >= p.reset_after_ms {
        f.count = 0;
    }
    f.count = f.count.saturating_add(1);
    f.last_ms = now;
    if f.count > p.free_failures {
        let doublings = (f.count - p.free_failures - 1).min(40);
        let delay = p
            .base_delay_ms
            .saturating_mul(1i64 << doublings)
            .min(p.max_delay_ms);
        f.blocked_until_ms = now.saturating_add(delay);
    }
    f
}

/// Takes one token from a bucket of `capacity` refilled at `per_ms`.
fn take_token(
    b: Option<Bucket>,
    capacity: f64,
    per_ms: f64,
    now: i64,
) -> (Bucket, Result<(), RetryAfter>) {
    let mut b = b.unwrap_or(Bucket {
        tokens: capacity,
        at_ms: now,
    });
    let elapsed = now.saturating_sub(b.at_ms).max(0) as f64;
    b.tokens = (b.tokens + elapsed * per_ms).min(capacity);
    b.at_ms = now;
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        (b, Ok(()))
    } else {
        let wait_ms = ((1.0 - b.tokens) / per_ms).ceil() as i64;
        (b, Err(RetryAfter(ceil_secs(wait_ms))))
    }
}

fn fail(map: &Mutex<HashMap<String, Failures>>, key: &str, p: &BackoffPolicy, now: i64) {
    let mut m = lock(map);
    if m.len() >= MAX_KEYS && !m.contains_key(key) {
        m.retain(|_, f| {
            now.saturating_sub(f.last_ms) < p.reset_after_ms || f.blocked_until_ms > now
        });
        if m.len() >= MAX_KEYS {
            // Still full of live entries: forget the oldest tenth.
            let mut ages: Vec<i64> = m.values().map(|f| f.last_ms).collect();
            ages.sort_unstable();
            let cut = ages.get(ages.len() / 10).copied().unwrap_or(now);
            m.retain(|_, f| f.last_ms > cut);
        }
    }
    let next = next_failure(m.get(key).copied(), p, now);
    m.insert(key.to_owned(), next);
}

impl Throttle {
    /// Throttling with these settings.
    pub fn new(cfg: ThrottleConfig) -> Self {
        Throttle {
            cfg,
            ..Throttle::default()
        }
    }

    /// The settings.
    pub fn config(&self) -> &ThrottleConfig {
        &self.cfg
    }

    /// May this account and IP try to log in now?
    pub fn check_login(
        &self,
        account: &str,
        ip: Option<&str>,
        now_ms: i64,
    ) -> Result<(), RetryAfter> {
        let a = blocked(&self.accounts, account, now_ms);
        let i = ip.and_then(|ip| blocked(&self.ips, ip, now_ms));
        match a.max(i) {
            Some(until) => Err(RetryAfter(ceil_secs(until - now_ms))),
            None => Ok(()),
        }
    }

    /// Records a failed login.
    pub fn login_failed(&self, account: &str, ip: Option<&str>, now_ms: i64) {
        fail(&self.accounts, account, &self.cfg.account, now_ms);
        if let Some(ip) = ip {
            fail(&self.ips, ip, &self.cfg.ip, now_ms);
        }
    }

    /// Records a successful login: the account starts over.
    pub fn login_succeeded(&self, account: &str) {
        lock(&self.accounts).remove(account);
    }

    /// Takes one token from the IP's bucket for `action`.
    pub fn rate(&self, action: Action, ip: Option<&str>, now_ms: i64) -> Result<(), RetryAfter> {
        let Some(ip) = ip else { return Ok(()) };
        let per_minute = match action {
            Action::Register => self.cfg.register_per_minute,
            Action::Refresh => self.cfg.refresh_per_minute,
        };
        if per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_minute);
        let per_ms = capacity / 60_000.0;
        let mut m = lock(&self.buckets);
        let key = (action as u8, ip.to_owned());
        if m.len() >= MAX_KEYS && !m.contains_key(&key) {
            // A bucket untouched for a minute is full again: forgetting it
            // changes nothing.
            m.retain(|_, b| now_ms.saturating_sub(b.at_ms) < 60_000);
            if m.len() >= MAX_KEYS {
                // Still full (more than MAX_KEYS addresses within a minute):
                // forget the least recently used tenth, so the table stays
                // bounded whatever the traffic.
                let mut ages: Vec<i64> = m.values().map(|b| b.at_ms).collect();
                ages.sort_unstable();
                let cut = ages.get(ages.len() / 10).copied().unwrap_or(now_ms);
                m.retain(|_, b| b.at_ms > cut);
            }
        }
        let (b, verdict) = take_token(m.get(&key).copied(), capacity, per_ms, now_ms);
        m.insert(key, b);
        verdict
    }
}

fn per_minute(cfg: &ThrottleConfig, action: Action) -> u32 {
    match action {
        Action::Register => cfg.register_per_minute,
        Action::Refresh => cfg.refresh_per_minute,
    }
}

/// Throttling state shared by every instance through the store (a
/// versioned compare-and-swap per key), for deployments on one database.
pub struct SharedThrottle {
    kv: std::sync::Arc<dyn tessera_store::Kv>,
    cfg: ThrottleConfig,
}

fn enc_failures(f: &Failures) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    v.extend_from_slice(&f.count.to_be_bytes());
    v.extend_from_slice(&f.last_ms.to_be_bytes());
    v.extend_from_slice(&f.blocked_until_ms.to_be_bytes());
    v
}

fn dec_failures(b: &[u8]) -> Option<Failures> {
    Some(Failures {
        count: u32::from_be_bytes(b.get(0..4)?.try_into().ok()?),
        last_ms: i64::from_be_bytes(b.get(4..12)?.try_into().ok()?),
        blocked_until_ms: i64::from_be_bytes(b.get(12..20)?.try_into().ok()?),
    })
}

fn enc_bucket(b: &Bucket) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&b.tokens.to_be_bytes());
    v.extend_from_slice(&b.at_ms.to_be_bytes());
    v
}

fn dec_bucket(b: &[u8]) -> Option<Bucket> {
    Some(Bucket {
        tokens: f64::from_be_bytes(b.get(0..8)?.try_into().ok()?),
        at_ms: i64::from_be_bytes(b.get(8..16)?.try_into().ok()?),
    })
}

impl SharedThrottle {
    /// Shared throttling over a key-value (the database's, or Redis).
    pub fn new(kv: std::sync::Arc<dyn tessera_store::Kv>, cfg: ThrottleConfig) -> Self {
        SharedThrottle { kv, cfg }
    }

    async fn blocked(&self, key: &str, now: i64) -> crate::Result<Option<i64>> {
        Ok(self
            .kv
            .kv_get(key, now)
            .await?
            .and_then(|(v, _)| dec_failures(&v))
            .map(|f| f.blocked_until_ms)
            .filter(|until| *until > now))
    }

    /// Read-modify-write of one key with optimistic concurrency.
    async fn update<T>(
        &self,
        key: &str,
        now: i64,
        ttl_ms: i64,
        step: impl Fn(Option<&[u8]>) -> (Vec<u8>, T),
    ) -> crate::Result<T> {
        for _ in 0..8 {
            let current = self.kv.kv_get(key, now).await?;
            let (value, out) = step(current.as_ref().map(|(v, _)| v.as_slice()));
            let expected = current.map(|(_, ver)| ver);
            if self
                .kv
                .kv_put(key, expected, &value, now.saturating_add(ttl_ms), now)
                .await?
            {
                return Ok(out);
            }
        }
        Err(crate::Error::unavailable_msg("throttle state is contended"))
    }

    async fn check_login(
        &self,
        account: &str,
        ip: Option<&str>,
        now: i64,
    ) -> crate::Result<Result<(), RetryAfter>> {
        let a = self.blocked(&format!("login:acct:{account}"), now).await?;
        let i = match ip {
            Some(ip) => self.blocked(&format!("login:ip:{ip}"), now).await?,
            None => None,
        };
        Ok(match a.max(i) {
            Some(until) => Err(RetryAfter(ceil_secs(until - now))),
            None => Ok(()),
        })
    }

    async fn login_failed(&self, account: &str, ip: Option<&str>, now: i64) -> crate::Result<()> {
        let mut targets = vec![(format!("login:acct:{account}"), self.cfg.account)];
        if let Some(ip) = ip {
            targets.push((format!("login:ip:{ip}"), self.cfg.ip));
        }
        for (key, p) in &targets {
            let ttl = p.reset_after_ms.max(p.max_delay_ms);
            self.update(key, now, ttl, |cur| {
                let f = next_failure(cur.and_then(dec_failures), p, now);
                (enc_failures(&f), ())
            })
            .await?;
        }
        Ok(())
    }

    async fn rate(
        &self,
        action: Action,
        ip: Option<&str>,
        now: i64,
    ) -> crate::Result<Result<(), RetryAfter>> {
        let Some(ip) = ip else { return Ok(Ok(())) };
        let n = per_minute(&self.cfg, action);
        if n == 0 {
            return Ok(Ok(()));
        }
        let capacity = f64::from(n);
        let per_ms = capacity / 60_000.0;
        let key = format!("rate:{}:{ip}", action as u8);
        self.update(&key, now, 120_000, |cur| {
            let (b, verdict) = take_token(cur.and_then(dec_bucket), capacity, per_ms, now);
            (enc_bucket(&b), verdict)
        })
        .await
    }
}

/// Login backoff and rate limits: in memory (one instance) or shared
/// through the store (several instances on one database).
pub enum Limiter {
    /// Per-process state.
    Memory(Throttle),
    /// State in the store, shared by every instance.
    Shared(SharedThrottle),
}

impl Limiter {
    /// May this account and IP try to log in now? If the shared state cannot
    /// be read, the request is allowed (the database failing will refuse it
    /// anyway) and the failure logged.
    pub async fn check_login(
        &self,
        account: &str,
        ip: Option<&str>,
        now_ms: i64,
    ) -> Result<(), RetryAfter> {
        match self {
            Limiter::Memory(t) => t.check_login(account, ip, now_ms),
            Limiter::Shared(t) => t
                .check_login(account, ip, now_ms)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "shared throttle unavailable");
                    Ok(())
                }),
        }
    }

    /// Records a failed login.
    pub async fn login_failed(&self, account: &str, ip: Option<&str>, now_ms: i64) {
        match self {
            Limiter::Memory(t) => t.login_failed(account, ip, now_ms),
            Limiter::Shared(t) => {
                if let Err(e) = t.login_failed(account, ip, now_ms).await {
                    tracing::warn!(error = %e, "shared throttle unavailable");
                }
            }
        }
    }

    /// Records a successful login: the account starts over.
    pub async fn login_succeeded(&self, account: &str) {
        match self {
            Limiter::Memory(t) => t.login_succeeded(account),
            Limiter::Shared(t) => {
                if let Err(e) = t.kv.kv_delete(&format!("login:acct:{account}")).await {
                    tracing::warn!(error = %e, "shared throttle unavailable");
                }
            }
        }
    }

    /// Takes one token from the IP's bucket for `action`.
    pub async fn rate(
        &self,
        action: Action,
        ip: Option<&str>,
        now_ms: i64,
    ) -> Result<(), RetryAfter> {
        match self {
            Limiter::Memory(t) => t.rate(action, ip, now_ms),
            Limiter::Shared(t) => t.rate(action, ip, now_ms).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "shared throttle unavailable");
                Ok(())
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_resets_on_success_and_is_identical_for_unknown_accounts() {
        let t = Throttle::new(ThrottleConfig::default());
        let now = 1_000_000;
        for i in 0..5 {
            assert_eq!(t.check_login("a@x.io", Some("1.2.3.4"), now + i), Ok(()));
            t.login_failed("a@x.io", Some("1.2.3.4"), now + i);
        }
        assert_eq!(
            t.check_login("a@x.io", None, now + 5),
            Ok(()),
            "5 free failures"
        );
        t.login_failed("a@x.io", None, now + 5);
        assert_eq!(t.check_login("a@x.io", None, now + 5), Err(RetryAfter(1)));
        assert_eq!(t.check_login("a@x.io", None, now + 1005), Ok(()));
        t.login_failed("a@x.io", None, now + 1005);
        assert_eq!(
            t.check_login("a@x.io", None, now + 1005),
            Err(RetryAfter(2))
        );
        t.login_failed("a@x.io", None, now + 3005);
        assert_eq!(
            t.check_login("a@x.io", None, now + 3005),
            Err(RetryAfter(4))
        );
        // Another account is untouched; a success resets this one.
        assert_eq!(t.check_login("b@x.io", None, now + 3005), Ok(()));
        t.login_succeeded("a@x.io");
        assert_eq!(t.check_login("a@x.io", None, now + 3005), Ok(()));
        // The cap holds.
        for _ in 0..60 {
            t.login_failed("c@x.io", None, now);
        }
        assert_eq!(t.check_login("c@x.io", None, now), Err(RetryAfter(900)));
    }

    #[test]
    fn ip_backoff_and_buckets() {
        let t = Throttle::new(ThrottleConfig {
            register_per_minute: 2,
            ..ThrottleConfig::default()
        });
        let now = 5_000_000;
        for i in 0..51 {
            t.login_failed(&format!("user{i}@x.io"), Some("9.9.9.9"), now);
        }
        assert_eq!(
            t.check_login("fresh@x.io", Some("9.9.9.9"), now),
            Err(RetryAfter(1))
        );
        assert_eq!(t.check_login("fresh@x.io", Some("8.8.8.8"), now), Ok(()));

        assert_eq!(t.rate(Action::Register, Some("1.1.1.1"), now), Ok(()));
        assert_eq!(t.rate(Action::Register, Some("1.1.1.1"), now), Ok(()));
        assert_eq!(
            t.rate(Action::Register, Some("1.1.1.1"), now),
            Err(RetryAfter(30))
        );
        assert_eq!(t.rate(Action::Register, Some("2.2.2.2"), now), Ok(()));
        assert_eq!(
            t.rate(Action::Register, Some("1.1.1.1"), now + 30_000),
            Ok(())
        );
        assert_eq!(t.rate(Action::Refresh, Some("1.1.1.1"), now), Ok(()));
    }

    #[test]
    fn tables_stay_bounded_when_every_address_is_new_within_a_minute() {
        let t = Throttle::new(ThrottleConfig::default());
        let now = 7_000_000;
        // More distinct addresses than the table keeps, all within one
        // minute (so none is stale): the table must still stay bounded.
        for i in 0..(MAX_KEYS + 5_000) {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            let at = now + i64::try_from(i / 10).unwrap_or(0);
            assert_eq!(t.rate(Action::Register, Some(&ip), at), Ok(()));
            t.login_failed("x@x.io", Some(&ip), at);
        }
        assert!(lock(&t.buckets).len() <= MAX_KEYS);
        assert!(lock(&t.ips).len() <= MAX_KEYS);
        // The newest address is still remembered.
        let last = MAX_KEYS + 5_000 - 1;
        let ip = format!("10.{}.{}.{}", last >> 16, (last >> 8) & 255, last & 255);
        assert!(lock(&t.buckets).contains_key(&(Action::Register as u8, ip)));
    }
}

#[cfg(test)]
mod shared_tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn shared_state_behaves_like_memory_and_spans_instances() {
        let dir = tempfile::tempdir().unwrap();
        let store = tessera_store::open(None, dir.path()).await.unwrap();
        let cfg = ThrottleConfig {
            register_per_minute: 2,
            ..ThrottleConfig::default()
        };
        let memory = Limiter::Memory(Throttle::new(cfg));
        // Two "instances" over one store.
        let kv: Arc<dyn tessera_store::Kv> = store.clone().into_kv();
        let a = Limiter::Shared(SharedThrottle::new(kv.clone(), cfg));
        let b = Limiter::Shared(SharedThrottle::new(kv, cfg));
        let now = 9_000_000;
        for i in 0..7 {
            let t = now + i * 10;
            let m = memory.check_login("x@y.io", Some("1.1.1.1"), t).await;
            let s = a.check_login("x@y.io", Some("1.1.1.1"), t).await;
            assert_eq!(m, s, "attempt {i}");
            memory.login_failed("x@y.io", Some("1.1.1.1"), t).await;
            // Alternate instances: the count is shared.
            if i % 2 == 0 { &a } else { &b }
                .login_failed("x@y.io", Some("1.1.1.1"), t)
                .await;
        }
        let m = memory.check_login("x@y.io", None, now + 70).await;
        assert!(m.is_err());
        assert_eq!(
            b.check_login("x@y.io", None, now + 70).await,
            m,
            "B sees A's failures"
        );
        b.login_succeeded("x@y.io").await;
        assert_eq!(a.check_login("x@y.io", None, now + 70).await, Ok(()));

        assert_eq!(a.rate(Action::Register, Some("2.2.2.2"), now).await, Ok(()));
        assert_eq!(b.rate(Action::Register, Some("2.2.2.2"), now).await, Ok(()));
        assert_eq!(
            a.rate(Action::Register, Some("2.2.2.2"), now).await,
            Err(RetryAfter(30)),
            "the bucket is shared"
        );
        assert_eq!(
            b.rate(Action::Register, Some("2.2.2.2"), now + 30_000)
                .await,
            Ok(())
        );
        let _ = Arc::strong_count(&store);
    }
}
