//! The throttle of one process: every table in memory, bounded.

use super::{
    admit, bucket, next_failure, settled, take_token, Action, BackoffPolicy, Bucket, Failures,
    LoginTicket, Refusal, RetryAfter, ThrottleConfig, IN_FLIGHT_MS, KNOWN_FOR_MS, MAX_KEYS,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The key of an operator's unlock note in the store (see [`Throttle::with_unlocks`]).
pub(super) fn unlock_key(account: &str) -> String {
    format!("login:unlock:{account}")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// In-memory throttling state.
#[derive(Default)]
pub struct Throttle {
    cfg: ThrottleConfig,
    pub(super) accounts: Mutex<HashMap<String, Failures>>,
    pub(super) ips: Mutex<HashMap<String, Failures>>,
    pub(super) buckets: Mutex<HashMap<(u8, String), Bucket>>,
    /// Known-address hashes and their last success.
    pub(super) known: Mutex<HashMap<String, i64>>,
    /// Where another process (`tessera users unlock`) leaves unlock notes.
    unlocks: Option<Arc<dyn tessera_store::Kv>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// Drops stale entries when `m` is full and `key` is new; if still full,
/// the least recently touched tenth.
fn make_room<K, V>(
    m: &mut HashMap<K, V>,
    key: &K,
    stale: impl Fn(&V) -> bool,
    age: impl Fn(&V) -> i64,
) where
    K: std::hash::Hash + Eq,
{
    if m.len() < MAX_KEYS || m.contains_key(key) {
        return;
    }
    m.retain(|_, v| !stale(v));
    if m.len() >= MAX_KEYS {
        let mut ages: Vec<i64> = m.values().map(&age).collect();
        ages.sort_unstable();
        let cut = ages.get(ages.len() / 10).copied().unwrap_or(i64::MAX);
        m.retain(|_, v| age(v) > cut);
    }
}

/// Writes `f` for `key`, keeping the table bounded.
fn put(m: &mut HashMap<String, Failures>, key: &str, f: Failures, p: &BackoffPolicy, now: i64) {
    make_room(
        m,
        &key.to_owned(),
        |f| {
            now.saturating_sub(f.last_ms) >= p.reset_after_ms
                && f.blocked_until_ms <= now
                && now.saturating_sub(f.pending_ms) >= IN_FLIGHT_MS
        },
        |f| f.last_ms.max(f.pending_ms),
    );
    m.insert(key.to_owned(), f);
}

fn settle(m: &mut HashMap<String, Failures>, key: &str, now: i64) {
    if let Some(f) = m.get_mut(key) {
        *f = settled(*f, now);
    }
}

impl Throttle {
    /// Throttling with these settings.
    pub fn new(cfg: ThrottleConfig) -> Self {
        Throttle {
            cfg,
            ..Throttle::default()
        }
    }

    /// Also honours unlocks that `tessera users unlock` (another process)
    /// leaves in `kv` (the database): they are read only when an account's
    /// backoff refuses an attempt.
    pub fn with_unlocks(mut self, kv: Arc<dyn tessera_store::Kv>) -> Self {
        self.unlocks = Some(kv);
        self
    }

    /// The settings.
    pub fn config(&self) -> &ThrottleConfig {
        &self.cfg
    }

    /// Admits `t` (in flight on its keys) or says why not.
    pub(super) fn begin_login(&self, t: &mut LoginTicket, now: i64) -> Result<(), Refusal> {
        if let Some(k) = &t.known_key {
            if let Some(at) = lock(&self.known).get(k) {
                t.known = now.saturating_sub(*at) < KNOWN_FOR_MS;
            }
        }
        // One lock order everywhere: accounts, then IPs.
        let mut accounts = lock(&self.accounts);
        let mut ips = lock(&self.ips);
        let (cfg_a, cfg_i) = (&self.cfg.account, &self.cfg.ip);
        let a = match t.known {
            true => None,
            false => Some(admit(accounts.get(&t.account).copied(), cfg_a, now)),
        };
        let i =
            t.ip.as_ref()
                .map(|ip| admit(ips.get(ip).copied(), cfg_i, now));
        let refused_a = a.as_ref().and_then(|r| r.err());
        let refused_i = i.as_ref().and_then(|r| r.err());
        if let Some(until) = refused_a.max(refused_i) {
            return Err(Refusal {
                until,
                by_account: refused_a.is_some(),
            });
        }
        if let Some(Ok(f)) = a {
            put(&mut accounts, &t.account, f, cfg_a, now);
            t.account_reserved = true;
        }
        if let (Some(Ok(f)), Some(ip)) = (i, &t.ip) {
            put(&mut ips, ip, f, cfg_i, now);
            t.ip_reserved = true;
        }
        Ok(())
    }

    /// Settles `t` without a failure.
    pub(super) fn release(&self, t: &LoginTicket, now: i64) {
        if t.account_reserved {
            settle(&mut lock(&self.accounts), &t.account, now);
        }
        if let (true, Some(ip)) = (t.ip_reserved, &t.ip) {
            settle(&mut lock(&self.ips), ip, now);
        }
    }

    /// Settles `t` with a failure.
    pub(super) fn login_failed(&self, t: &LoginTicket, now: i64) {
        if t.account_reserved {
            let mut m = lock(&self.accounts);
            let f = next_failure(m.get(&t.account).copied(), &self.cfg.account, now);
            put(&mut m, &t.account, f, &self.cfg.account, now);
        }
        if let (true, Some(ip)) = (t.ip_reserved, &t.ip) {
            let mut m = lock(&self.ips);
            let f = next_failure(m.get(ip).copied(), &self.cfg.ip, now);
            put(&mut m, ip, f, &self.cfg.ip, now);
        }
    }

    pub(super) fn login_succeeded(&self, t: &LoginTicket, now: i64) {
        if !t.known {
            lock(&self.accounts).remove(&t.account);
        }
        if let (true, Some(ip)) = (t.ip_reserved, &t.ip) {
            settle(&mut lock(&self.ips), ip, now);
        }
        if let Some(k) = &t.known_key {
            let mut known = lock(&self.known);
            make_room(
                &mut known,
                k,
                |at| now.saturating_sub(*at) >= KNOWN_FOR_MS,
                |at| *at,
            );
            known.insert(k.clone(), now);
        }
    }

    /// Clears the account here, and leaves a note for the process that
    /// serves logins when that is another one.
    pub(super) async fn unlock(&self, account: &str, now: i64) -> crate::Result<()> {
        lock(&self.accounts).remove(account);
        let Some(kv) = &self.unlocks else {
            return Ok(());
        };
        let p = &self.cfg.account;
        let expires = now.saturating_add(p.reset_after_ms.max(p.max_delay_ms));
        let key = unlock_key(account);
        for _ in 0..8 {
            let version = kv.kv_get(&key, now).await?.map(|(_, v)| v);
            if kv
                .kv_put(&key, version, &now.to_be_bytes(), expires, now)
                .await?
            {
                return Ok(());
            }
        }
        Err(crate::Error::unavailable_msg("throttle state is contended"))
    }

    /// Has an operator unlocked `account` since its last failure here? If
    /// so, its backoff is cleared.
    pub(super) async fn unlocked_since(&self, account: &str, now: i64) -> bool {
        let Some(kv) = &self.unlocks else {
            return false;
        };
        let note = match kv.kv_get(&unlock_key(account), now).await {
            Ok(v) => v.and_then(|(v, _)| Some(i64::from_be_bytes(v.get(0..8)?.try_into().ok()?))),
            Err(e) => {
                tracing::warn!(error = %e, "unlock notes unavailable");
                None
            }
        };
        let Some(unlocked_at) = note else {
            return false;
        };
        let mut accounts = lock(&self.accounts);
        match accounts.get(account) {
            Some(f) if f.last_ms <= unlocked_at => {
                accounts.remove(account);
                true
            }
            _ => false,
        }
    }

    /// Takes one token from the IP's bucket for `action`.
    pub fn rate(&self, action: Action, ip: Option<&str>, now_ms: i64) -> Result<(), RetryAfter> {
        let Some(ip) = ip else { return Ok(()) };
        let (n, window) = bucket(&self.cfg, action);
        if n == 0 {
            return Ok(());
        }
        let capacity = f64::from(n);
        let per_ms = capacity / window as f64;
        let mut m = lock(&self.buckets);
        let key = (action as u8, ip.to_owned());
        // A bucket untouched for a minute is full again: forgetting it
        // changes nothing. Still full (more than MAX_KEYS addresses within a
        // minute): the least recently used tenth goes, so the table stays
        // bounded whatever the traffic.
        make_room(
            &mut m,
            &key,
            |b| now_ms.saturating_sub(b.at_ms) >= window,
            |b| b.at_ms,
        );
        let (b, verdict) = take_token(m.get(&key).copied(), capacity, per_ms, now_ms);
        m.insert(key, b);
        verdict
    }
}
