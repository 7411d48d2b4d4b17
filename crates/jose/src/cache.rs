//! A bounded, sharded cache of tokens whose signature was already verified,
//! so that a client presenting the same token again (the normal case: one
//! access token serves every request for its lifetime) does not pay for a
//! second signature verification.
//!
//! Entries are keyed by the SHA-256 of the exact token bytes
//! ([`key`]) and expire at a unix time the caller gives (the
//! token's `exp` plus leeway). The cache reads no clock: every call takes
//! `now` from the caller's [`Clock`](crate::Clock). What a hit still has to
//! pass (the key still published, the claims at the current time, a
//! revocation list) is the caller's to check; failed verifications should
//! never be inserted.
//!
//! Memory is bounded: the entries are spread over up to 16 shards by their
//! first key byte, each holding at most `capacity / shards` (rounded up).
//! Inserting into a full shard first drops its expired entries, and if it is
//! still full, an arbitrary eighth of it (a `HashMap`'s order is randomised
//! per process, so which ones is not steerable from outside).
//!
//! ```
//! use tessera_jose::cache::{key, VerifiedCache};
//!
//! let cache: VerifiedCache<&str> = VerifiedCache::new(1_000);
//! let key = key("header.payload.signature");
//! assert_eq!(cache.get(&key, 100), None);
//! cache.insert(key, "claims", 200, 100);
//! assert_eq!(cache.get(&key, 199), Some("claims"));
//! assert_eq!(cache.get(&key, 200), None, "expired");
//! assert_eq!((cache.stats().hits, cache.stats().misses), (1, 2));
//! ```

use crate::provider;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Most shards a cache is split into.
const SHARDS: usize = 16;

/// The key of a token in a [`VerifiedCache`]: the SHA-256 of its bytes.
pub type Key = [u8; 32];

struct Slot<V> {
    value: V,
    /// A lookup at or after this unix time is a miss.
    expires_at: i64,
}

type Shard<V> = HashMap<Key, Slot<V>>;

/// The cache key of `token`: the SHA-256 of its bytes.
pub fn key(token: &str) -> Key {
    provider::sha256(token.as_bytes())
}

/// A bounded cache of verified tokens; see the [module docs](self).
pub struct VerifiedCache<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    per_shard: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often a [`VerifiedCache`] answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups that found a live entry.
    pub hits: u64,
    /// Lookups that found none (or only an expired one).
    pub misses: u64,
}

impl<V> fmt::Debug for VerifiedCache<V> {
    /// The counts only: never the cached values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("stats", &self.stats())
            .finish()
    }
}

impl<V: Clone> VerifiedCache<V> {
    /// A cache holding at most about `capacity` tokens (0: it holds none).
    pub fn new(capacity: usize) -> Self {
        let shards = capacity.clamp(1, SHARDS);
        VerifiedCache {
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(shards),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value stored under `key`, unless it expired at or before `now`
    /// (an expired entry is dropped). Counted as a hit or a miss.
    pub fn get(&self, key: &Key, now: i64) -> Option<V> {
        let found = {
            let mut map = self.lock(key);
            match map.get(key) {
                Some(slot) if now < slot.expires_at => Some(slot.value.clone()),
                Some(_) => {
                    map.remove(key);
                    None
                }
                None => None,
            }
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores `value` under `key` until `expires_at` (a unix time); `now`
    /// decides which entries are expired when room has to be made.
    pub fn insert(&self, key: Key, value: V, expires_at: i64, now: i64) {
        if self.per_shard == 0 {
            return;
        }
        let mut map = self.lock(&key);
        if map.len() >= self.per_shard && !map.contains_key(&key) {
            map.retain(|_, slot| now < slot.expires_at);
            if map.len() >= self.per_shard {
                // Still full of live tokens: drop an arbitrary eighth.
                let drop_n = (self.per_shard / 8).max(1);
                let victims: Vec<Key> = map.keys().take(drop_n).copied().collect();
                for v in victims {
                    map.remove(&v);
                }
            }
        }
        map.insert(key, Slot { value, expires_at });
    }
}

impl<V> VerifiedCache<V> {
    /// The shard of `key`. A poisoned lock is taken over: every change to a
    /// shard is a single map operation, so a panic elsewhere cannot leave
    /// it half-updated.
    fn lock(&self, key: &Key) -> MutexGuard<'_, Shard<V>> {
        let i = usize::from(key[0]) % self.shards.len();
        // `shards` is never empty (`new` makes at least one).
        let shard = &self.shards[i];
        shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Entries held now (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or_else(|p| p.into_inner().len(), |m| m.len()))
            .sum()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most entries this cache holds.
    pub fn capacity(&self) -> usize {
        self.per_shard * self.shards.len()
    }

    /// Hits and misses since the cache was made.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(i: u32) -> Key {
        super::key(&format!("token-{i}"))
    }

    #[test]
    fn hits_need_the_same_bytes_and_an_unexpired_entry() {
        let cache = VerifiedCache::new(100);
        assert_eq!(cache.get(&key(1), 10), None);
        cache.insert(key(1), 1, 20, 10);
        assert_eq!(cache.get(&key(1), 19), Some(1));
        assert_eq!(cache.get(&key(2), 19), None, "other bytes");
        assert_eq!(cache.get(&key(1), 20), None, "expired at expires_at");
        assert!(cache.is_empty(), "an expired entry is dropped when met");
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 3 });
        // Inserting again replaces.
        cache.insert(key(1), 1, 30, 10);
        cache.insert(key(1), 2, 40, 10);
        assert_eq!(cache.get(&key(1), 35), Some(2));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn zero_capacity_holds_nothing() {
        let cache = VerifiedCache::new(0);
        cache.insert(key(1), 1, 100, 0);
        assert_eq!(cache.get(&key(1), 0), None);
        assert_eq!((cache.len(), cache.capacity()), (0, 0));
    }

    #[test]
    fn capacity_is_a_bound_and_expired_entries_go_first() {
        for capacity in [1, 5, 16, 17, 100, 1000] {
            let cache = VerifiedCache::new(capacity);
            assert!(cache.capacity() >= capacity);
            assert!(cache.capacity() < capacity + SHARDS);
            for i in 0..5000 {
                cache.insert(key(i), i, 1_000, 0);
                assert!(cache.len() <= cache.capacity(), "{capacity}");
            }
        }
        // A full shard sheds its expired entries before any live one.
        let cache = VerifiedCache::new(1);
        cache.insert(key(1), 1, 10, 0);
        cache.insert(key(2), 2, 100, 50);
        assert_eq!(cache.get(&key(2), 50), Some(2));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn live_entries_survive_room_being_made_for_others() {
        let cache = VerifiedCache::new(1_600);
        for i in 0..1_600 {
            cache.insert(key(i), i, 1_000, 0);
        }
        for i in 1_600..3_200 {
            cache.insert(key(i), i, 1_000, 0);
        }
        // The entry just inserted is always kept.
        assert_eq!(cache.get(&key(3_199), 1), Some(3_199));
        // A full shard drops only an eighth of itself at a time, so the
        // cache stays nearly full, and many of the latest inserts are in it.
        assert!(cache.len() >= cache.capacity() * 7 / 8, "{}", cache.len());
        let kept = (1_600..3_200)
            .filter(|i| cache.get(&key(*i), 1).is_some())
            .count();
        assert!(kept > 200, "{kept}");
        assert!(cache.len() <= cache.capacity());
    }

    #[test]
    fn shared_across_threads() {
        let cache = std::sync::Arc::new(VerifiedCache::new(64));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        cache.insert(key(t * 1_000 + i), i, 100, 0);
                        cache.get(&key(t * 1_000 + i), 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(cache.len() <= cache.capacity());
        assert_eq!(cache.stats().hits + cache.stats().misses, 2_000);
    }
}
