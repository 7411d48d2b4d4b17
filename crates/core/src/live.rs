//! A short-lived, bounded cache of the session-liveness check that every
//! Bearer request makes, so a client calling an API many times a second does
//! not cost a database round trip per call.
//!
//! What it remembers is only a *positive* answer read from the store — "this
//! session was unrevoked, belonged to this user, and had these expiries" —
//! together with the account (`email`, `roles`) for `/v1/me`. A hit is used
//! only if all of these hold:
//! - it was read less than `ttl` ago (by the service's [`Clock`](tessera_jose::Clock));
//! - the session's absolute and idle expiries are still in the future (a
//!   refresh only ever extends the idle expiry, so the cached one errs early);
//! - the token's `sub` is the session's user.
//!
//! Revocations made by this process take effect at once: every revocation
//! and role change that changed something forgets the affected session (or
//! all of the affected user's sessions) after the store has committed it,
//! and an epoch counter stops a lookup that read the store before the
//! change from caching its stale answer afterwards. A revocation that finds
//! the session already revoked forgets nothing, so replaying an old token at
//! logout cannot keep emptying the cache.
//! Revocations made elsewhere (another instance on the same PostgreSQL
//! database, or `tessera sessions revoke` on the same SQLite file) reach this
//! process's Bearer checks within `ttl` (default 1 s; `session_cache_ttl = "0s"`
//! turns the cache off and every request asks the store).
//!
//! Negative answers are never cached. Memory is bounded: at most
//! [`CAPACITY`] sessions; a full cache is emptied and refills from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most sessions remembered (about 200 bytes each).
pub(crate) const CAPACITY: usize = 16_384;

/// The account data `/v1/me` shows (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// User id (the tokens' `sub`).
    pub id: String,
    /// Normalised email.
    pub email: String,
    /// Roles, in order.
    pub roles: Vec<String>,
    /// Whether the email is verified.
    pub email_verified: bool,
}

/// One cached positive liveness answer.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub(crate) account: Arc<Account>,
    pub(crate) expires_at: i64,
    pub(crate) idle_expires_at: i64,
    /// When it was read from the store (clock milliseconds).
    read_at_ms: i64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Live>,
    /// Bumped by every `forget` (and `forget_all`).
    epoch: u64,
}

/// Live sessions this process has recently read from the store.
pub(crate) struct LiveSessions {
    ttl_ms: i64,
    inner: Mutex<Inner>,
}

/// What a lookup must present to insert its answer afterwards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl LiveSessions {
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        LiveSessions {
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    pub(crate) fn enabled(&self) -> bool {
        self.ttl_ms > 0
    }

    /// A fresh positive answer for `sid` owned by `sub` at `now` (seconds) /
    /// `now_ms` (milliseconds), or a ticket to insert one after reading the store.
    pub(crate) fn get(
        &self,
        sid: &str,
        sub: &str,
        now: i64,
        now_ms: i64,
    ) -> Result<Arc<Account>, Ticket> {
        let g = self.lock();
        match g.map.get(sid) {
            Some(e)
                if self.ttl_ms > 0
                    && now_ms >= e.read_at_ms
                    && now_ms - e.read_at_ms < self.ttl_ms
                    && now < e.expires_at
                    && now < e.idle_expires_at
                    && e.account.id == sub =>
            {
                Ok(e.account.clone())
            }
            _ => Err(Ticket(g.epoch)),
        }
    }

    /// Remembers a positive answer read from the store after `ticket` was
    /// taken, unless something was revoked in between.
    pub(crate) fn insert(
        &self,
        ticket: Ticket,
        sid: &str,
        account: Arc<Account>,
        expires_at: i64,
        idle_expires_at: i64,
        read_at_ms: i64,
    ) {
        if self.ttl_ms <= 0 {
            return;
        }
        let mut g = self.lock();
        if g.epoch != ticket.0 {
            return;
        }
        if g.map.len() >= CAPACITY && !g.map.contains_key(sid) {
            g.map.clear();
        }
        g.map.insert(
            sid.to_owned(),
            Live {
                account,
                expires_at,
                idle_expires_at,
                read_at_ms,
            },
        );
    }

    /// The cached account of `sid` if it is fresh (for `/v1/me` right after
    /// the Bearer check filled it).
    pub(crate) fn account(
        &self,
        sid: &str,
        sub: &str,
        now: i64,
        now_ms: i64,
    ) -> Option<Arc<Account>> {
        self.get(sid, sub, now, now_ms).ok()
    }

    /// Forgets everything and invalidates lookups in flight.
    #[cfg(test)]
    pub(crate) fn forget_all(&self) {
        let mut g = self.lock();
        g.map.clear();
        g.epoch = g.epoch.wrapping_add(1);
    }

    /// Forgets what `scope` covers (one session, or every session of one
    /// user) and invalidates lookups in flight, so none of them caches an
    /// answer read before the change. Other sessions stay cached.
    pub(crate) fn forget(&self, scope: &Forget) {
        let mut g = self.lock();
        match scope {
            Forget::Session(sid) => {
                g.map.remove(sid);
            }
            Forget::User(uid) => g.map.retain(|_, e| e.account.id != *uid),
        }
        g.epoch = g.epoch.wrapping_add(1);
    }

    /// A guard that forgets `scope` when dropped, unless
    /// [disarmed](ForgetOnDrop::nothing_changed): taken before a
    /// revocation's store call, so a revocation that commits but whose call
    /// then fails or is cancelled (a client disconnecting) is still not
    /// served from the cache, while one that changed nothing (the session
    /// was already revoked) leaves the cache alone.
    pub(crate) fn forget_on_drop(&self, scope: Forget) -> ForgetOnDrop<'_> {
        ForgetOnDrop {
            cache: self,
            scope: Some(scope),
        }
    }

    /// How many sessions are cached.
    pub(crate) fn len(&self) -> usize {
        self.lock().map.len()
    }
}

/// What a change invalidates in the liveness cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Forget {
    /// One session.
    Session(String),
    /// Every session of one user (role changes, revoke-all, deletion).
    User(String),
}

/// See [`LiveSessions::forget_on_drop`].
pub(crate) struct ForgetOnDrop<'a> {
    cache: &'a LiveSessions,
    scope: Option<Forget>,
}

impl ForgetOnDrop<'_> {
    /// The store call committed and changed nothing: forget nothing.
    pub(crate) fn nothing_changed(mut self) {
        self.scope = None;
    }

    /// The store call committed: forget now if it `changed` anything.
    pub(crate) fn committed(self, changed: bool) {
        if !changed {
            self.nothing_changed();
        }
    }
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(scope) = &self.scope {
            self.cache.forget(scope);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn account(id: &str) -> Arc<Account> {
        Arc::new(Account {
            id: id.into(),
            email: format!("{id}@example.com"),
            roles: vec![],
            email_verified: false,
        })
    }

    #[test]
    fn a_hit_needs_freshness_expiry_and_the_same_user() {
        let c = LiveSessions::new(Duration::from_millis(1000));
        let t = c.get("s1", "u1", 100, 100_000).unwrap_err();
        c.insert(t, "s1", account("u1"), 200, 150, 100_000);
        assert_eq!(c.get("s1", "u1", 100, 100_999).unwrap().id, "u1");
        assert!(
            c.get("s1", "u1", 101, 101_000).is_err(),
            "older than the ttl"
        );
        assert!(
            c.get("s1", "u2", 100, 100_500).is_err(),
            "another user's token"
        );
        assert!(
            c.get("s1", "u1", 150, 100_500).is_err(),
            "idle expiry passed"
        );
        assert!(
            c.get("s1", "u1", 100, 99_000).is_err(),
            "clock went backwards"
        );
        let t = c.get("s2", "u1", 100, 100_000).unwrap_err();
        c.insert(t, "s2", account("u1"), 120, 500, 100_000);
        assert!(
            c.get("s2", "u1", 120, 100_100).is_err(),
            "absolute expiry passed"
        );
    }

    #[test]
    fn a_revocation_between_lookup_and_insert_wins() {
        let c = LiveSessions::new(Duration::from_secs(1));
        let before = c.get("s1", "u1", 100, 100_000).unwrap_err();
        c.forget_all();
        c.insert(before, "s1", account("u1"), 200, 200, 100_000);
        assert!(c.get("s1", "u1", 100, 100_000).is_err());
        let t = c.get("s1", "u1", 100, 100_000).unwrap_err();
        c.insert(t, "s1", account("u1"), 200, 200, 100_000);
        assert!(c.get("s1", "u1", 100, 100_000).is_ok());
        c.forget_all();
        assert!(
            c.get("s1", "u1", 100, 100_000).is_err(),
            "forgotten at once"
        );
    }

    #[test]
    fn a_cancelled_or_failed_revocation_still_forgets() {
        let c = LiveSessions::new(Duration::from_secs(1));
        let t = c.get("s1", "u1", 100, 100_000).unwrap_err();
        c.insert(t, "s1", account("u1"), 200, 200, 100_000);
        let in_flight = c.get("s2", "u1", 100, 100_000).unwrap_err();
        {
            let _forget = c.forget_on_drop(Forget::User("u1".into()));
            // The revocation's store call would run here and fail, or its
            // future be dropped: the guard still runs.
        }
        assert!(c.get("s1", "u1", 100, 100_000).is_err());
        c.insert(in_flight, "s2", account("u1"), 200, 200, 100_000);
        assert!(
            c.get("s2", "u1", 100, 100_000).is_err(),
            "a lookup from before is refused"
        );
    }

    #[test]
    fn zero_ttl_disables_and_capacity_bounds() {
        let off = LiveSessions::new(Duration::ZERO);
        assert!(!off.enabled());
        let t = off.get("s1", "u1", 100, 100_000).unwrap_err();
        off.insert(t, "s1", account("u1"), 200, 200, 100_000);
        assert!(off.get("s1", "u1", 100, 100_000).is_err());

        let c = LiveSessions::new(Duration::from_secs(1));
        for i in 0..CAPACITY + 10 {
            let sid = format!("s{i}");
            let t = c.get(&sid, "u1", 100, 100_000).unwrap_err();
            c.insert(t, &sid, account("u1"), 200, 200, 100_000);
            assert!(c.len() <= CAPACITY);
        }
        assert!(c
            .get(&format!("s{}", CAPACITY + 9), "u1", 100, 100_000)
            .is_ok());
    }

    #[test]
    fn forgetting_is_scoped_and_skipped_when_nothing_changed() {
        let c = LiveSessions::new(Duration::from_secs(1));
        for (sid, uid) in [("s1", "u1"), ("s2", "u1"), ("s3", "u2")] {
            let t = c.get(sid, uid, 100, 100_000).unwrap_err();
            c.insert(t, sid, account(uid), 200, 200, 100_000);
        }
        c.forget_on_drop(Forget::Session("s3".into()))
            .nothing_changed();
        assert_eq!(c.len(), 3, "an unchanged revocation forgets nothing");
        let in_flight = c.get("s9", "u2", 100, 100_000).unwrap_err();
        drop(c.forget_on_drop(Forget::Session("s1".into())));
        assert!(c.get("s1", "u1", 100, 100_000).is_err());
        assert!(
            c.get("s2", "u1", 100, 100_000).is_ok(),
            "other sessions stay"
        );
        c.insert(in_flight, "s9", account("u2"), 200, 200, 100_000);
        assert!(
            c.get("s9", "u2", 100, 100_000).is_err(),
            "in flight refused"
        );
        c.forget(&Forget::User("u1".into()));
        assert!(c.get("s2", "u1", 100, 100_000).is_err());
        assert!(c.get("s3", "u2", 100, 100_000).is_ok());
    }
}
