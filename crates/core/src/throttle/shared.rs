//! The throttle shared by every instance through a key-value store (the
//! database's, or Redis): a versioned compare-and-swap per key.

use super::{
    admit, bucket, memory::unlock_key, next_failure, settled, take_token, Action, BackoffPolicy,
    Bucket, Failures, LoginTicket, Refusal, RetryAfter, ThrottleConfig, KNOWN_FOR_MS,
    KNOWN_REFRESH_MS,
};
use std::sync::Arc;

/// Throttling state shared by every instance through the store (a
/// versioned compare-and-swap per key), for deployments on one database.
pub struct SharedThrottle {
    pub(super) kv: Arc<dyn tessera_store::Kv>,
    cfg: ThrottleConfig,
}

/// Why the shared state could not be used.
pub(super) enum Trouble {
    /// A key kept changing under every retry.
    Contended,
    /// The store failed.
    Store(crate::Error),
}

impl From<tessera_store::StoreError> for Trouble {
    fn from(e: tessera_store::StoreError) -> Self {
        Trouble::Store(e.into())
    }
}

impl From<Trouble> for crate::Error {
    fn from(t: Trouble) -> Self {
        match t {
            Trouble::Contended => crate::Error::unavailable_msg("throttle state is contended"),
            Trouble::Store(e) => e,
        }
    }
}

fn enc_failures(f: &Failures) -> Vec<u8> {
    let mut v = Vec::with_capacity(32);
    v.extend_from_slice(&f.count.to_be_bytes());
    v.extend_from_slice(&f.last_ms.to_be_bytes());
    v.extend_from_slice(&f.blocked_until_ms.to_be_bytes());
    v.extend_from_slice(&f.pending.to_be_bytes());
    v.extend_from_slice(&f.pending_ms.to_be_bytes());
    v
}

/// Reads a record; one written before attempts were tracked in flight
/// (20 bytes) has none in flight.
fn dec_failures(b: &[u8]) -> Option<Failures> {
    let in_flight = match b.len() {
        20 => (0, 0),
        _ => (
            u32::from_be_bytes(b.get(20..24)?.try_into().ok()?),
            i64::from_be_bytes(b.get(24..32)?.try_into().ok()?),
        ),
    };
    Some(Failures {
        count: u32::from_be_bytes(b.get(0..4)?.try_into().ok()?),
        last_ms: i64::from_be_bytes(b.get(4..12)?.try_into().ok()?),
        blocked_until_ms: i64::from_be_bytes(b.get(12..20)?.try_into().ok()?),
        pending: in_flight.0,
        pending_ms: in_flight.1,
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

fn dec_ms(b: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(0..8)?.try_into().ok()?))
}

fn acct_key(account: &str) -> String {
    format!("login:acct:{account}")
}

fn ip_key(ip: &str) -> String {
    format!("login:ip:{ip}")
}

fn known_key(k: &str) -> String {
    format!("login:known:{k}")
}

/// Most read-modify-write rounds on one key before giving up.
const MAX_TRIES: u32 = 100;

/// A random pause before another round, longer after more lost races (at
/// most 4 ms).
fn pause(attempt: u32) -> std::time::Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let cap = 250 * u64::from(attempt.min(16));
    std::time::Duration::from_micros(h.finish() % cap.max(1))
}

fn failures_ttl(p: &BackoffPolicy) -> i64 {
    p.reset_after_ms.max(p.max_delay_ms)
}

impl SharedThrottle {
    /// Shared throttling over a key-value (the database's, or Redis).
    pub fn new(kv: Arc<dyn tessera_store::Kv>, cfg: ThrottleConfig) -> Self {
        SharedThrottle { kv, cfg }
    }

    /// Read-modify-write of one key with optimistic concurrency; `step`
    /// returns no value when nothing is to be written. A lost race is
    /// retried after a short random pause (a burst at one key, such as many
    /// logins from one address, has many writers), up to [`MAX_TRIES`].
    async fn update<T>(
        &self,
        key: &str,
        now: i64,
        ttl_ms: i64,
        step: impl Fn(Option<&[u8]>) -> (Option<Vec<u8>>, T),
    ) -> Result<T, Trouble> {
        for attempt in 0..MAX_TRIES {
            let current = self.kv.kv_get(key, now).await?;
            let (value, out) = step(current.as_ref().map(|(v, _)| v.as_slice()));
            let Some(value) = value else {
                return Ok(out);
            };
            let expected = current.map(|(_, ver)| ver);
            if self
                .kv
                .kv_put(key, expected, &value, now.saturating_add(ttl_ms), now)
                .await?
            {
                return Ok(out);
            }
            if attempt >= 2 {
                tokio::time::sleep(pause(attempt)).await;
            }
        }
        Err(Trouble::Contended)
    }

    /// Admits one attempt in flight on `key`, or says until when not.
    async fn reserve(
        &self,
        key: &str,
        p: &BackoffPolicy,
        now: i64,
    ) -> Result<Result<(), i64>, Trouble> {
        self.update(key, now, failures_ttl(p), |cur| {
            match admit(cur.and_then(dec_failures), p, now) {
                Ok(f) => (Some(enc_failures(&f)), Ok(())),
                Err(until) => (None, Err(until)),
            }
        })
        .await
    }

    /// Settles one attempt on `key`, with a failure or without.
    async fn settle(
        &self,
        key: &str,
        p: &BackoffPolicy,
        failed: bool,
        now: i64,
    ) -> Result<(), Trouble> {
        self.update(key, now, failures_ttl(p), |cur| {
            let f = cur.and_then(dec_failures);
            match (failed, f) {
                (true, f) => (Some(enc_failures(&next_failure(f, p, now))), ()),
                (false, Some(f)) => (Some(enc_failures(&settled(f, now))), ()),
                (false, None) => (None, ()),
            }
        })
        .await
    }

    /// Admits `t` (in flight on its keys) or says why not.
    pub(super) async fn begin_login(
        &self,
        t: &mut LoginTicket,
        now: i64,
    ) -> Result<Result<(), Refusal>, Trouble> {
        if let Some(k) = &t.known_key {
            let at = self.kv.kv_get(&known_key(k), now).await?;
            if let Some(at) = at.and_then(|(v, _)| dec_ms(&v)) {
                let age = now.saturating_sub(at);
                t.known = age < KNOWN_FOR_MS;
                t.known_fresh = age < KNOWN_REFRESH_MS;
            }
        }
        if !t.known {
            if let Err(until) = self
                .reserve(&acct_key(&t.account), &self.cfg.account, now)
                .await?
            {
                return Ok(Err(Refusal {
                    until,
                    by_account: true,
                }));
            }
            t.account_reserved = true;
        }
        if let Some(ip) = &t.ip {
            match self.reserve(&ip_key(ip), &self.cfg.ip, now).await {
                Ok(Ok(())) => t.ip_reserved = true,
                Ok(Err(until)) => {
                    self.release(t, now).await?;
                    return Ok(Err(Refusal {
                        until,
                        by_account: false,
                    }));
                }
                // Counted on the account, not on the IP: still refused
                // when contended, allowed (and logged) when the store fails.
                Err(e) => return Err(e),
            }
        }
        Ok(Ok(()))
    }

    /// Settles `t` without a failure.
    pub(super) async fn release(&self, t: &LoginTicket, now: i64) -> Result<(), Trouble> {
        self.settle_all(t, false, now).await
    }

    /// Settles `t` with a failure.
    pub(super) async fn login_failed(&self, t: &LoginTicket, now: i64) -> crate::Result<()> {
        Ok(self.settle_all(t, true, now).await?)
    }

    async fn settle_all(&self, t: &LoginTicket, failed: bool, now: i64) -> Result<(), Trouble> {
        if t.account_reserved {
            let key = acct_key(&t.account);
            self.settle(&key, &self.cfg.account, failed, now).await?;
        }
        if let (true, Some(ip)) = (t.ip_reserved, &t.ip) {
            self.settle(&ip_key(ip), &self.cfg.ip, failed, now).await?;
        }
        Ok(())
    }

    pub(super) async fn login_succeeded(&self, t: &LoginTicket, now: i64) -> crate::Result<()> {
        if !t.known {
            self.kv.kv_delete(&acct_key(&t.account)).await?;
        }
        if let (true, Some(ip)) = (t.ip_reserved, &t.ip) {
            self.settle(&ip_key(ip), &self.cfg.ip, false, now).await?;
        }
        if let (false, Some(k)) = (t.known_fresh, &t.known_key) {
            let key = known_key(k);
            let version = self.kv.kv_get(&key, now).await?.map(|(_, v)| v);
            let expires = now.saturating_add(KNOWN_FOR_MS);
            // Losing this race means another success just wrote it.
            self.kv
                .kv_put(&key, version, &now.to_be_bytes(), expires, now)
                .await?;
        }
        Ok(())
    }

    pub(super) async fn unlock(&self, account: &str) -> crate::Result<()> {
        self.kv.kv_delete(&acct_key(account)).await?;
        // A note a memory throttle may have left is moot here.
        self.kv.kv_delete(&unlock_key(account)).await?;
        Ok(())
    }

    pub(super) async fn rate(
        &self,
        action: Action,
        ip: Option<&str>,
        now: i64,
    ) -> crate::Result<Result<(), RetryAfter>> {
        let Some(ip) = ip else { return Ok(Ok(())) };
        let (n, window) = bucket(&self.cfg, action);
        if n == 0 {
            return Ok(Ok(()));
        }
        let capacity = f64::from(n);
        let per_ms = capacity / window as f64;
        let key = format!("rate:{}:{ip}", action as u8);
        Ok(self
            .update(&key, now, window.saturating_mul(2), |cur| {
                let (b, verdict) = take_token(cur.and_then(dec_bucket), capacity, per_ms, now);
                (Some(enc_bucket(&b)), verdict)
            })
            .await?)
    }
}
