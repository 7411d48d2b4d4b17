//! The guard's use of the workspace's one verified-token cache
//! ([`tessera_jose::cache`]): keyed by the SHA-256 of the token and expiring
//! with it, so that repeat requests skip the signature, and counted in
//! `tessera_guard_verified_cache_total{result}` and [`crate::Stats`].
//! A hit is still checked against the clock, the current key set (a key
//! withdrawn from the JWKS withdraws its tokens) and the revocation list.

use crate::Authenticated;
use std::sync::Arc;
use tessera_jose::cache::{self, Key};

pub(crate) struct Entry {
    pub auth: Arc<Authenticated>,
    /// `exp` plus leeway: a hit at or after this is a miss.
    pub valid_until: i64,
}

pub(crate) struct VerifiedCache {
    inner: cache::VerifiedCache<Arc<Authenticated>>,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        VerifiedCache {
            inner: cache::VerifiedCache::new(capacity),
        }
    }

    pub(crate) fn get(&self, key: &Key, now: i64) -> Option<Arc<Authenticated>> {
        let found = self.inner.get(key, now);
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("tessera_guard_verified_cache_total", "result" => result).increment(1);
        found
    }

    pub(crate) fn insert(&self, key: Key, entry: Entry, now: i64) {
        self.inner.insert(key, entry.auth, entry.valid_until, now);
    }

    pub(crate) fn stats(&self) -> cache::CacheStats {
        self.inner.stats()
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }
}
