//! Argon2id password hashing on a bounded pool of blocking threads.

use crate::config::Argon2Params;
use crate::error::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Hashes and verifies passwords with Argon2id, never on the async
/// executor's threads, and never more than `workers` at once, so a login
/// flood cannot starve the rest of the server.
#[derive(Clone)]
pub struct Passwords {
    argon: Arc<Argon2<'static>>,
    params: Argon2Params,
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish()
    }
}

fn argon(p: Argon2Params) -> Result<Argon2<'static>> {
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_with(argon: &Argon2<'_>, password: &[u8]) -> Result<String> {
    let salt =
        tessera_jose::crypto::random_bytes(16).map_err(|e| Error::Internal(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    argon
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

impl Passwords {
    /// A hasher with these parameters and pool size. Computes one dummy hash
    /// (for timing-safe verification of unknown accounts).
    pub fn new(params: Argon2Params, workers: usize) -> Result<Self> {
        let argon = argon(params)?;
        let dummy = hash_with(&argon, b"tessera-dummy-password")?;
        Ok(Passwords {
            argon: Arc::new(argon),
            params,
            permits: Arc::new(Semaphore::new(workers.max(1))),
            dummy: dummy.into(),
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
            .map_err(|_| Error::Unavailable("password workers closed".into()))?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&argon)
        })
        .await
        .map_err(|e| Error::Internal(format!("password worker: {e}")))
    }

    /// Hashes a password (PHC string).
    pub async fn hash(&self, password: &str) -> Result<String> {
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        self.blocking(move |a| hash_with(a, &pw)).await?
    }

    /// Verifies a password against a stored hash, or against the dummy hash
    /// when `stored` is `None`, so unknown accounts cost the same time.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> Result<bool> {
        let known = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy.to_string(), str::to_owned);
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        let ok = self
            .blocking(move |a| match PasswordHash::new(&hash) {
                Ok(parsed) => a.verify_password(&pw, &parsed).is_ok(),
                Err(_) => false,
            })
            .await?;
        Ok(ok && known)
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
}
