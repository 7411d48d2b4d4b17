//! The shared key-value in Redis (feature `redis`), for throttling that
//! several instances must agree on without a shared SQL database.

use crate::{Kv, Result};
use async_trait::async_trait;

/// A [`Kv`] in Redis. Values carry an 8-byte version prefix; a Lua script
/// makes the compare-and-swap atomic; Redis expires keys by itself.
#[derive(Clone)]
pub struct RedisKv {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKv")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

const CAS: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, 8) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

impl RedisKv {
    /// Connects to `url` (`redis://host:port/db`); keys are prefixed with `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        Ok(RedisKv {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn ttl_ms(expires_at: i64, now: i64) -> i64 {
    expires_at.saturating_sub(now).max(1)
}

#[async_trait]
impl Kv for RedisKv {
    async fn kv_get(&self, key: &str, _now: i64) -> Result<Option<(Vec<u8>, i64)>> {
        let mut conn = self.conn.clone();
        let raw: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut conn)
            .await?;
        Ok(raw.and_then(|v| {
            let ver = i64::from_be_bytes(v.get(..8)?.try_into().ok()?);
            Some((v.get(8..)?.to_vec(), ver))
        }))
    }

    async fn kv_put(
        &self,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let mut conn = self.conn.clone();
        let next = expected.map_or(1, |v| v.saturating_add(1));
        let mut stored = next.to_be_bytes().to_vec();
        stored.extend_from_slice(value);
        let ttl = ttl_ms(expires_at, now);
        match expected {
            None => {
                let ok: Option<String> = redis::cmd("SET")
                    .arg(self.key(key))
                    .arg(stored)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl)
                    .query_async(&mut conn)
                    .await?;
                Ok(ok.is_some())
            }
            Some(v) => {
                let won: i64 = redis::Script::new(CAS)
                    .key(self.key(key))
                    .arg(v.to_be_bytes().to_vec())
                    .arg(stored)
                    .arg(ttl)
                    .invoke_async(&mut conn)
                    .await?;
                Ok(won == 1)
            }
        }
    }

    async fn kv_delete(&self, key: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(self.key(key))
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(Into::into)
    }

    /// Redis expires keys by itself: nothing to purge.
    async fn kv_purge(&self, _now: i64) -> Result<u64> {
        Ok(0)
    }
}
