//! DPoP proofs (RFC 9449) as the server checks them: the proof itself
//! ([`tessera_jose::dpop`]), the `jti` replay cache that every instance
//! shares (the store's key-value role, or Redis), and the optional server
//! nonces of §8. What a valid proof changes (bound tokens, bound refresh
//! tokens) is in `sessions` and `oauth`; the request's method and URL come
//! from the server, which builds the URL from its configured issuer.

use crate::config::secs;
use crate::ctx::Ctx;
use crate::error::{DpopRefused, Error, Result};
use std::sync::Arc;
use tessera_jose::dpop::{self, Expect};
use tessera_jose::{b64, crypto};
use tessera_store::Kv;

/// The proof algorithms accepted (`dpop_signing_alg_values_supported`).
pub const DPOP_ALGORITHMS: [&str; 4] = [
    dpop::ALGORITHMS[0].as_str(),
    dpop::ALGORITHMS[1].as_str(),
    dpop::ALGORITHMS[2].as_str(),
    dpop::ALGORITHMS[3].as_str(),
];

/// How long one server nonce is issued; the previous one is still accepted.
const NONCE_WINDOW_SECS: i64 = 300;

/// Checks DPoP proofs and issues server nonces.
#[derive(Clone)]
pub struct Dpop {
    ctx: Arc<Ctx>,
    kv: Arc<dyn Kv>,
    nonce_key: [u8; 32],
}

impl std::fmt::Debug for Dpop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dpop").finish_non_exhaustive()
    }
}

impl Dpop {
    pub(crate) fn new(ctx: Arc<Ctx>, kv: Arc<dyn Kv>) -> Self {
        // A key of its own for nonces, derived from the server secret, so
        // that every instance issues and accepts the same nonces.
        let nonce_key = crypto::hmac_sha256(ctx.secret.seal_key(), b"tessera dpop nonce v1");
        Dpop { ctx, kv, nonce_key }
    }

    /// Checks the proof of a request to `method` `url` (the URL as the
    /// server knows itself, never from request headers), with the access
    /// token it accompanies on resource requests (then `ath` must match).
    /// Returns the RFC 7638 thumbprint of the proof's key.
    ///
    /// In order: the proof's own checks, the server nonce when nonces are
    /// on ([`Error::UseDpopNonce`] carries the one to use), then the `jti`
    /// against the shared replay cache (a proof is accepted once).
    pub async fn check(
        &self,
        proof: &str,
        method: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<String> {
        let result = self.check_inner(proof, method, url, access_token).await;
        let outcome = match &result {
            Ok(_) => "valid",
            Err(Error::UseDpopNonce(_)) => "nonce_required",
            Err(Error::InvalidDpopProof(DpopRefused::Replayed)) => "replayed",
            Err(_) => "invalid",
        };
        metrics::counter!("tessera_dpop_proofs_total", "outcome" => outcome).increment(1);
        result
    }

    async fn check_inner(
        &self,
        proof: &str,
        method: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<String> {
        let c = &self.ctx;
        let now = c.now();
        let leeway = secs(c.cfg.leeway);
        let window = secs(c.cfg.dpop.iat_window);
        let expect = Expect {
            method,
            url,
            access_token,
            now,
            max_age: window,
            leeway,
        };
        let p = dpop::verify(proof, &expect)
            .map_err(|e| Error::InvalidDpopProof(DpopRefused::Jose(e)))?;
        if c.cfg.dpop.nonce && !p.nonce.as_deref().is_some_and(|n| self.nonce_ok(n, now)) {
            return Err(Error::UseDpopNonce(self.nonce_at(now)));
        }
        // The replay cache: one entry per (key, jti), kept as long as the
        // proof could still pass the `iat` check.
        let mut id = Vec::with_capacity(p.jkt.len() + 1 + p.jti.len());
        id.extend_from_slice(p.jkt.as_bytes());
        id.push(0);
        id.extend_from_slice(p.jti.as_bytes());
        let key = format!("dpop:{}", b64::encode(&crypto::sha256(&id)));
        let now_ms = c.now_millis();
        let keep_ms = window
            .saturating_add(leeway)
            .saturating_add(1)
            .saturating_mul(1000);
        let fresh = self
            .kv
            .kv_put(&key, None, b"1", now_ms.saturating_add(keep_ms), now_ms)
            .await?;
        if !fresh {
            return Err(Error::InvalidDpopProof(DpopRefused::Replayed));
        }
        Ok(p.jkt)
    }

    /// The nonce to send in `DPoP-Nonce` now, when nonces are on.
    pub fn nonce(&self) -> Option<String> {
        self.ctx
            .cfg
            .dpop
            .nonce
            .then(|| self.nonce_at(self.ctx.now()))
    }

    fn nonce_for(&self, window: i64) -> String {
        let mac = crypto::hmac_sha256(&self.nonce_key, &window.to_be_bytes());
        b64::encode(&mac[..18])
    }

    fn nonce_at(&self, now: i64) -> String {
        self.nonce_for(now.div_euclid(NONCE_WINDOW_SECS))
    }

    /// The current nonce or the one before it.
    fn nonce_ok(&self, nonce: &str, now: i64) -> bool {
        let w = now.div_euclid(NONCE_WINDOW_SECS);
        [w, w.saturating_sub(1)]
            .iter()
            .any(|w| crypto::constant_time_eq(self.nonce_for(*w).as_bytes(), nonce.as_bytes()))
    }
}
