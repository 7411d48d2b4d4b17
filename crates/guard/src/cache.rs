//! A bounded cache of tokens already verified, keyed by the SHA-256 of the
//! token and expiring with it, so that repeat requests skip the signature.
//! A hit is still checked against the clock, the current key set (a key
//! withdrawn from the JWKS withdraws its tokens) and the revocation list.

use crate::Authenticated;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const SHARDS: usize = 16;

pub(crate) struct Entry {
    pub auth: Arc<Authenticated>,
    /// `exp` plus leeway: a hit at or after this is a miss.
    pub valid_until: i64,
}

pub(crate) struct VerifiedCache {
    shards: Vec<Mutex<HashMap<[u8; 32], Entry>>>,
    per_shard: usize,
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        VerifiedCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &[u8; 32]) -> Option<&Mutex<HashMap<[u8; 32], Entry>>> {
        self.shards.get(usize::from(key[0]) % SHARDS)
    }

    pub(crate) fn get(&self, key: &[u8; 32], now: i64) -> Option<Arc<Authenticated>> {
        let found = self.shard(key).and_then(|s| {
            let mut map = s.lock().ok()?;
            match map.get(key) {
                Some(e) if now < e.valid_until => Some(e.auth.clone()),
                Some(_) => {
                    map.remove(key);
                    None
                }
                None => None,
            }
        });
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("tessera_guard_verified_cache_total", "result" => "hit").increment(1);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("tessera_guard_verified_cache_total", "result" => "miss")
                .increment(1);
        }
        found
    }

    pub(crate) fn insert(&self, key: [u8; 32], entry: Entry, now: i64) {
        if self.per_shard == 0 {
            return;
        }
        let Some(shard) = self.shard(&key) else {
            return;
        };
        let Ok(mut map) = shard.lock() else { return };
        if map.len() >= self.per_shard {
            map.retain(|_, e| now < e.valid_until);
        }
        if map.len() >= self.per_shard {
            // Still full of live tokens: drop an arbitrary eighth (the map's
            // order is randomised per process, so this is not steerable).
            let drop_n = (self.per_shard / 8).max(1);
            let victims: Vec<[u8; 32]> = map.keys().take(drop_n).copied().collect();
            for v in victims {
                map.remove(&v);
            }
        }
        map.insert(key, entry);
    }

    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|m| m.len()).unwrap_or(0))
            .sum()
    }
}
