//! Argon2id password hashing on a bounded pool of blocking threads.

use crate::config::Argon2Params;
use crate::error::{Error, Result};
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Hashes and verifies passwords with Argon2id, never on the async
/// executor's threads, and never more than `workers` at once, so a login
/// flood cannot starve the rest of the server.
#[derive(Clone)]
pub struct Passwords {
    argon: Arc<Argon2<'static>>,
    argon_params: Params,
    params: Argon2Params,
    permits: Arc<Semaphore>,
    memory: Arc<Memory>,
    dummy: Arc<str>,
    /// Passwords verified so far (real or dummy hash).
    checks: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish()
    }
}

/// Argon2 working memory (19 MiB at the default cost) kept for reuse, at
/// most one buffer per worker. Allocating it per hash let glibc keep every
/// freed block in per-thread arenas: RSS reached 500–850 MiB after a few
/// hundred logins. Every block is written before it is read, so a reused
/// buffer gives the same hash.
struct Memory {
    free: Mutex<Vec<Vec<Block>>>,
    keep: usize,
}

impl Memory {
    fn with<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            free.iter()
                .position(|b| b.len() == blocks)
                .map(|i| free.swap_remove(i))
        };
        let mut buf = reused.unwrap_or_else(|| vec![Block::default(); blocks]);
        let out = f(&mut buf);
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.keep {
            free.push(buf);
        }
        out
    }
}

fn argon(p: Argon2Params) -> Result<(Argon2<'static>, Params)> {
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
        .map_err(|e| Error::internal_in("argon2 parameters", e))?;
    Ok((
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
        params,
    ))
}

/// A new PHC-format hash: what `PasswordHasher::hash_password` produces,
/// computed in reused memory.
fn hash_with(
    argon: &Argon2<'_>,
    params: &Params,
    memory: &Memory,
    password: &[u8],
) -> Result<String> {
    fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::internal_in("argon2", e)
    }
    let salt_raw = tessera_jose::crypto::random_bytes(16).map_err(Error::internal)?;
    let salt = SaltString::encode_b64(&salt_raw).map_err(internal)?;
    let mut out = Zeroizing::new(vec![
        0u8;
        params
            .output_len()
            .unwrap_or(Params::DEFAULT_OUTPUT_LEN)
    ]);
    memory
        .with(params.block_count(), |m| {
            argon.hash_password_into_with_memory(password, &salt_raw, &mut out, m)
        })
        .map_err(internal)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(phc.to_string())
}

/// `PasswordVerifier::verify_password` (algorithm, version and parameters
/// from the stored hash; constant-time comparison), computed in reused memory.
fn verify_with(memory: &Memory, stored: &str, password: &[u8]) -> bool {
    if !stored.starts_with("$argon2") {
        // An imported hash (bcrypt, PBKDF2, scrypt) until its first login.
        return crate::imported::verify(stored, password);
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(alg) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let argon = Argon2::new(alg, version, params);
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let computed = memory.with(blocks, |m| {
        argon.hash_password_into_with_memory(password, salt_bytes, &mut out, m)
    });
    computed.is_ok() && tessera_jose::crypto::constant_time_eq(&out, expected.as_bytes())
}

impl Passwords {
    /// A hasher with these parameters and pool size. Computes one dummy hash
    /// (for timing-safe verification of unknown accounts).
    pub fn new(params: Argon2Params, workers: usize) -> Result<Self> {
        let (argon, argon_params) = argon(params)?;
        let memory = Arc::new(Memory {
            free: Mutex::new(Vec::new()),
            keep: workers.max(1),
        });
        // The start-up hash does not keep its buffer: idle RSS stays small
        // until the first real hash.
        let scratch = Memory {
            free: Mutex::new(Vec::new()),
            keep: 0,
        };
        let dummy = hash_with(&argon, &argon_params, &scratch, b"tessera-dummy-password")?;
        Ok(Passwords {
            argon: Arc::new(argon),
            argon_params,
            params,
            permits: Arc::new(Semaphore::new(workers.max(1))),
            memory,
            dummy: dummy.into(),
            checks: Arc::default(),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T> {
        // The permit moves into the blocking task: if the caller's future is
        // dropped (a client hangs up), the hash still runs to completion and
        // keeps its permit, so cancelled requests cannot exceed the bound.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::unavailable_msg("password workers closed"))?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&argon)
        })
        .await
        .map_err(|e| Error::internal_in("password worker", e))
    }

    /// Hashes a password (PHC string).
    pub async fn hash(&self, password: &str) -> Result<String> {
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        let (params, memory) = (self.argon_params.clone(), self.memory.clone());
        self.blocking(move |a| hash_with(a, &params, &memory, &pw))
            .await?
    }

    /// Verifies a password against a stored hash, or against the dummy hash
    /// when `stored` is `None`, so unknown accounts cost the same time.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> Result<bool> {
        let known = stored.is_some();
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let hash = stored.map_or_else(|| self.dummy.to_string(), str::to_owned);
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        let memory = self.memory.clone();
        let ok = self
            .blocking(move |_| verify_with(&memory, &hash, &pw))
            .await?;
        Ok(ok && known)
    }

    /// How many passwords this hasher has verified (against a stored or the
    /// dummy hash): what the login throttle exists to bound.
    pub fn checks(&self) -> u64 {
        self.checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True if `stored` was made with other parameters (or another algorithm)
    /// and should be re-hashed at the next successful login.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id"
            || parsed.version != Some(u32::from(Version::V0x13))
        {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(p) => {
                p.m_cost() != self.params.memory_kib
                    || p.t_cost() != self.params.iterations
                    || p.p_cost() != self.params.parallelism
            }
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Params {
        Argon2Params {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn hash_verify_and_rehash() {
        let p = Passwords::new(cheap(), 2).unwrap();
        let h = p.hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
        assert!(p.verify(Some(&h), "correct horse").await.unwrap());
        assert!(!p.verify(Some(&h), "wrong horse").await.unwrap());
        assert!(!p.verify(None, "tessera-dummy-password").await.unwrap());
        assert!(!p.verify(Some("not a hash"), "x").await.unwrap());
        assert!(!p.needs_rehash(&h));
        let stronger = Passwords::new(
            Argon2Params {
                memory_kib: 512,
                ..cheap()
            },
            1,
        )
        .unwrap();
        assert!(stronger.needs_rehash(&h));
        assert!(format!("{p:?}").find("dummy").is_none());
    }

    #[tokio::test]
    async fn same_hashes_as_the_argon2_crate_api() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let p = Passwords::new(cheap(), 1).unwrap();
        // A hash made by the crate's own API verifies here, and ours there.
        let (a, _) = argon(cheap()).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = a
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(p.verify(Some(&theirs), "correct horse").await.unwrap());
        assert!(!p.verify(Some(&theirs), "correct horsf").await.unwrap());
        let ours = p.hash("correct horse").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(a.verify_password(b"correct horse", &parsed).is_ok());
        assert!(a.verify_password(b"wrong", &parsed).is_err());
        // Other parameters and versions (hashes due for an upgrade) verify too,
        // and reused memory gives the same answer again and again.
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x10,
            Params::new(128, 2, 1, Some(24)).unwrap(),
        );
        let legacy = old.hash_password(b"pw-legacy", &salt).unwrap().to_string();
        for _ in 0..3 {
            assert!(p.verify(Some(&legacy), "pw-legacy").await.unwrap());
            assert!(p.verify(Some(&ours), "correct horse").await.unwrap());
            assert!(!p.verify(Some(&legacy), "pw-legacx").await.unwrap());
        }
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw-i", &salt)
        .unwrap()
        .to_string();
        assert!(p.verify(Some(&argon2i), "pw-i").await.unwrap());
        assert!(
            p.memory.free.lock().unwrap().len() <= 1,
            "at most one buffer per worker"
        );
    }
}
