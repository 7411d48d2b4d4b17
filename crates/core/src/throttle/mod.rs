//! Abuse resistance: login backoff per account and per client IP, and
//! token-bucket rate limits per IP for registration and refresh.
//!
//! The account key is the normalised email whether or not an account exists,
//! so throttling behaves identically for real and unknown accounts and never
//! reveals which is which. Time comes from the caller's clock (milliseconds).
//!
//! ## Attempts in flight
//! A login attempt is admitted by [`Limiter::begin_login`], which records it
//! as *in flight* on its keys before the password is checked (one atomic
//! step per key: in a mutex, or a compare-and-swap in the shared store), and
//! admits it only if the key's failures plus the attempts in flight stay
//! within the free failures, or, past them, when no other attempt is in
//! flight and the backoff delay has passed. The outcome settles it: a
//! failure counts, a success (or an error that says nothing about the
//! password) does not. Parallel guesses therefore meet the same limit as
//! sequential ones: free failures plus the one that starts the backoff, then
//! one per delay. An attempt that never settles (its client hung up and its
//! task was dropped; the password check still ran, but nobody saw its
//! answer) stops counting as in flight after [`IN_FLIGHT_MS`].
//!
//! ## Known addresses
//! An address that has logged in to an account before (the client IP, an
//! IPv6 address by its /64; kept only as a SHA-256 hash with the account key,
//! for [`KNOWN_FOR_MS`]) goes through the IP's backoff only: an attacker who
//! hammers an email from elsewhere cannot lock its owner out. A success from
//! a known address leaves the account's count alone; a success from a new
//! address resets it, as before, and makes the address known.

mod memory;
mod shared;
#[cfg(test)]
mod tests;

pub use memory::Throttle;
pub use shared::SharedThrottle;

use std::net::IpAddr;

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
    /// Mail-sending requests (forgot password and the like) per IP per
    /// minute (burst of the same size); 0: unlimited.
    pub mail_per_ip_per_minute: u32,
    /// Mail-sending requests per account (email) per hour; 0: unlimited.
    pub mail_per_account_per_hour: u32,
    /// Passwordless passkey sign-ins started per IP per minute (burst of
    /// the same size); 0: unlimited.
    pub passkey_options_per_minute: u32,
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
            passkey_options_per_minute: 60,
            refresh_per_minute: 600,
            mail_per_ip_per_minute: 10,
            mail_per_account_per_hour: 5,
        }
    }
}

pub use crate::error::RetryAfter;

/// How long an address stays known for an account after its last
/// successful login there (90 days).
pub const KNOWN_FOR_MS: i64 = 90 * 24 * 3600 * 1000;

/// A known address's entry is written again when older than this (a day),
/// not at every login.
const KNOWN_REFRESH_MS: i64 = 24 * 3600 * 1000;

fn ceil_secs(ms: i64) -> u64 {
    u64::try_from((ms.max(1) + 999) / 1000).unwrap_or(1)
}

/// Longest an attempt counts as in flight without being settled (longer
/// than any password check; about a request's timeout).
pub const IN_FLIGHT_MS: i64 = 30_000;

/// What a key (account or IP) has on record.
#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    count: u32,
    last_ms: i64,
    blocked_until_ms: i64,
    /// Attempts admitted and not settled yet.
    pending: u32,
    /// When the newest of them was admitted.
    pending_ms: i64,
}

impl Failures {
    fn in_flight(&self, now: i64) -> u32 {
        if now.saturating_sub(self.pending_ms) < IN_FLIGHT_MS {
            self.pending
        } else {
            0
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// Most keys a table keeps; beyond it, stale entries are dropped first.
const MAX_KEYS: usize = 100_000;

/// What a rate limit guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST /v1/auth/register`.
    Register,
    /// Refresh-token grants.
    Refresh,
    /// Requests that send mail (forgot password, verification, email
    /// change), per client IP.
    MailPerIp,
    /// The same, per account (normalised email, whether or not it exists).
    MailPerAccount,
    /// Passwordless passkey sign-ins started (`POST /v1/auth/passkey/options`,
    /// unauthenticated, each keeping a ceremony), per client IP.
    PasskeyOptions,
}

/// A bucket's size and how long it takes to refill completely, in
/// milliseconds.
fn bucket(cfg: &ThrottleConfig, action: Action) -> (u32, i64) {
    match action {
        Action::Register => (cfg.register_per_minute, 60_000),
        Action::Refresh => (cfg.refresh_per_minute, 60_000),
        Action::MailPerIp => (cfg.mail_per_ip_per_minute, 60_000),
        Action::MailPerAccount => (cfg.mail_per_account_per_hour, 3_600_000),
        Action::PasskeyOptions => (cfg.passkey_options_per_minute, 60_000),
    }
}

/// Admits one more attempt in flight on `f` (or a fresh key) at `now`, or
/// says until when not: while backed off, and, past the free failures,
/// while another attempt is in flight (for a second, then ask again).
fn admit(f: Option<Failures>, p: &BackoffPolicy, now: i64) -> Result<Failures, i64> {
    let mut f = f.unwrap_or(Failures {
        last_ms: now,
        ..Failures::default()
    });
    if f.blocked_until_ms > now {
        return Err(f.blocked_until_ms);
    }
    let pending = f.in_flight(now);
    let count = match now.saturating_sub(f.last_ms) >= p.reset_after_ms {
        true => 0,
        false => f.count,
    };
    if pending > 0 && count.saturating_add(pending) > p.free_failures {
        return Err(now.saturating_add(1_000));
    }
    f.pending = pending.saturating_add(1);
    f.pending_ms = now;
    Ok(f)
}

/// An attempt in flight on `f` ended without a failure.
fn settled(mut f: Failures, now: i64) -> Failures {
    f.pending = f.in_flight(now).saturating_sub(1);
    f
}

/// An attempt in flight on `f` (or a fresh key) failed at `now`: one more
/// failure.
fn next_failure(f: Option<Failures>, p: &BackoffPolicy, now: i64) -> Failures {
    let mut f = match f {
        Some(f) => settled(f, now),
        None => Failures {
            last_ms: now,
            ..Failures::default()
        },
    };
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

/// The address part of a known-address key: an IPv6 address by its /64
/// (one subscriber), anything else as it is.
fn address_bucket(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The hash that stands for "this address has logged in to this account".
fn known_key(account: &str, ip: &str) -> String {
    let mut data = Vec::with_capacity(account.len() + 64);
    data.extend_from_slice(b"tessera known address\0");
    data.extend_from_slice(account.as_bytes());
    data.push(0);
    data.extend_from_slice(address_bucket(ip).as_bytes());
    tessera_jose::b64::encode(&tessera_jose::crypto::sha256(&data))
}

/// A login attempt the throttle let through, in flight on its keys. Settle
/// it: [`Limiter::login_failed`], [`Limiter::login_succeeded`] or
/// [`Limiter::login_abandoned`].
#[derive(Debug)]
#[must_use = "a login ticket is settled by login_failed, login_succeeded or login_abandoned"]
pub struct LoginTicket {
    account: String,
    ip: Option<String>,
    /// The known-address key, when there is an IP.
    known_key: Option<String>,
    /// The address has succeeded here before: the account's backoff was
    /// neither consulted nor counted.
    known: bool,
    /// The attempt is in flight on the account, on the IP.
    account_reserved: bool,
    ip_reserved: bool,
    /// The known entry is recent: no need to write it again on success.
    known_fresh: bool,
}

impl LoginTicket {
    /// Did this attempt come from an address known for the account (and so
    /// skip the account's backoff)?
    pub fn from_known_address(&self) -> bool {
        self.known
    }
}

/// Why the throttle refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refusal {
    until: i64,
    /// The account's backoff refused it (not only the IP's).
    by_account: bool,
}

/// Login backoff and rate limits: in memory (one instance) or shared
/// through the store (several instances on one database).
#[allow(
    clippy::large_enum_variant,
    reason = "one per process, behind an Arc: its size does not matter"
)]
pub enum Limiter {
    /// Per-process state.
    Memory(Throttle),
    /// State in the store, shared by every instance.
    Shared(SharedThrottle),
}

impl Limiter {
    /// Admits a login attempt (in flight until settled), or refuses it while
    /// the account (unless the address is known for it) or the IP backs
    /// off. If the shared state cannot be read or written, the attempt is
    /// allowed (the database failing will refuse it anyway) and the
    /// failure logged; if it is too contended to update, the attempt is
    /// refused for a second (that is a burst at one key).
    pub async fn begin_login(
        &self,
        account: &str,
        ip: Option<&str>,
        now_ms: i64,
    ) -> Result<LoginTicket, RetryAfter> {
        let mut t0 = LoginTicket {
            account: account.to_owned(),
            ip: ip.map(str::to_owned),
            known_key: ip.map(|ip| known_key(account, ip)),
            known: false,
            known_fresh: false,
            account_reserved: false,
            ip_reserved: false,
        };
        let refused = |r: Refusal| RetryAfter(ceil_secs(r.until - now_ms));
        match self {
            Limiter::Memory(t) => {
                match t.begin_login(&mut t0, now_ms) {
                    Err(r) if r.by_account && t.unlocked_since(account, now_ms).await => {
                        t.begin_login(&mut t0, now_ms).map_err(refused)?;
                    }
                    other => other.map_err(refused)?,
                }
                Ok(t0)
            }
            Limiter::Shared(t) => match t.begin_login(&mut t0, now_ms).await {
                Ok(Ok(())) => Ok(t0),
                Ok(Err(r)) => Err(refused(r)),
                Err(shared::Trouble::Contended) => Err(RetryAfter(1)),
                Err(shared::Trouble::Store(e)) => {
                    tracing::warn!(error = %e, "shared throttle unavailable");
                    Ok(t0)
                }
            },
        }
    }

    /// The password was wrong: a failure on the account (unless the address
    /// is known) and on the IP.
    pub async fn login_failed(&self, ticket: LoginTicket, now_ms: i64) {
        match self {
            Limiter::Memory(t) => t.login_failed(&ticket, now_ms),
            Limiter::Shared(t) => {
                if let Err(e) = t.login_failed(&ticket, now_ms).await {
                    tracing::warn!(error = %e, "shared throttle unavailable");
                }
            }
        }
    }

    /// The attempt succeeded: not a failure; a new address's success resets
    /// the account and makes the address known.
    pub async fn login_succeeded(&self, ticket: LoginTicket, now_ms: i64) {
        match self {
            Limiter::Memory(t) => t.login_succeeded(&ticket, now_ms),
            Limiter::Shared(t) => {
                if let Err(e) = t.login_succeeded(&ticket, now_ms).await {
                    tracing::warn!(error = %e, "shared throttle unavailable");
                }
            }
        }
    }

    /// The attempt ended without learning anything about the password (a
    /// database error, say): not a failure.
    pub async fn login_abandoned(&self, ticket: LoginTicket, now_ms: i64) {
        match self {
            Limiter::Memory(t) => t.release(&ticket, now_ms),
            Limiter::Shared(t) => {
                if let Err(e) = t.release(&ticket, now_ms).await {
                    let e = crate::Error::from(e);
                    tracing::warn!(error = %e, "shared throttle unavailable");
                }
            }
        }
    }

    /// Clears an account's backoff (an operator's unlock). Its IPs keep
    /// theirs.
    pub async fn unlock(&self, account: &str, now_ms: i64) -> crate::Result<()> {
        match self {
            Limiter::Memory(t) => t.unlock(account, now_ms).await,
            Limiter::Shared(t) => t.unlock(account).await,
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
