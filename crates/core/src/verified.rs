//! A bounded cache of access tokens whose signature this process has already
//! verified, so a client that presents the same token again (the normal case:
//! one access token serves every request for its lifetime) does not pay for a
//! second ECDSA/RSA verification (≈ 90 µs for ES256 on a 2 GHz EPYC core).
//!
//! What is skipped on a hit is the signature check only, and only for the
//! exact same token bytes (looked up by their SHA-256) whose signature was
//! verified before. Everything else is checked again on every request:
//! - the key that verified it must still be in the current key set (a key
//!   withdrawn from the JWKS stops its tokens here at once);
//! - the header and registered claims are validated again at the current
//!   time (`exp`, `nbf`, `iat`, `iss`, `aud`, `typ`), with the same
//!   [`Validation`];
//! - the session-liveness check in [`crate::Sessions::authenticate`] is not
//!   cached at all.
//!
//! Failed verifications are never cached. Memory is bounded by the one
//! verified-token cache of the workspace, [`tessera_jose::cache`] (sharded,
//! entries dropped once past `exp` plus leeway, then an arbitrary eighth of a
//! full shard), shared with `tessera-guard`.

use crate::claims::AccessClaims;
use std::sync::Arc;
use tessera_jose::cache::{Key, VerifiedCache};
use tessera_jose::{KeySet, TokenData, Validation};

/// Most tokens remembered (about 0.5 KiB each).
const CAPACITY: usize = 4096;

type Entry = Arc<TokenData<AccessClaims>>;

/// Tokens whose signature was verified by this process.
pub(crate) struct VerifiedTokens {
    cache: VerifiedCache<Entry>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        VerifiedTokens {
            cache: VerifiedCache::new(CAPACITY),
        }
    }
}

impl VerifiedTokens {
    /// The claims of `token` if its signature was verified before by a key
    /// that is still in `keys` and it still passes `validation` at `now`.
    pub(crate) fn get(
        &self,
        digest: &Key,
        keys: &KeySet,
        validation: &Validation,
        now: i64,
    ) -> Option<AccessClaims> {
        let entry = self.cache.get(digest, now)?;
        keys.select(entry.header.kid()).ok()?;
        validation
            .check(&entry.header, &entry.registered, now)
            .ok()?;
        Some(entry.claims.clone())
    }

    /// Remembers a token that was just verified and validated with
    /// `validation` at `now`, until its `exp` plus the leeway.
    pub(crate) fn insert(
        &self,
        digest: Key,
        data: TokenData<AccessClaims>,
        validation: &Validation,
        now: i64,
    ) {
        let leeway = i64::try_from(validation.leeway()).unwrap_or(i64::MAX);
        let expires_at = data
            .registered
            .exp
            .map_or(i64::MAX, |exp| exp.saturating_add(leeway));
        self.cache.insert(digest, Arc::new(data), expires_at, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_jose::{Algorithm, SigningKey, UnverifiedToken};

    #[test]
    fn hit_needs_the_same_bytes_a_published_key_and_valid_claims() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let claims = AccessClaims {
            iss: "https://a".into(),
            sub: "u1".into(),
            aud: "api".into(),
            exp: 2_000,
            iat: 1_000,
            jti: "j".into(),
            sid: Some("s".into()),
            roles: vec![],
            scope: None,
            client_id: None,
            email_verified: None,
            amr: vec![],
            auth_time: None,
            cnf: None,
        };
        let token = tessera_jose::encode(&key, Some("at+jwt"), &claims).unwrap();
        let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
        let v = Validation::new("https://a", "api");
        let data = UnverifiedToken::parse(&token, &v.limits)
            .and_then(|t| t.verify_with(&keys))
            .and_then(|t| t.validate::<AccessClaims>(&v, 1_500))
            .unwrap();
        let cache = VerifiedTokens::default();
        let d = tessera_jose::crypto::sha256(token.as_bytes());
        assert!(
            cache.get(&d, &keys, &v, 1_500).is_none(),
            "nothing cached yet"
        );
        cache.insert(d, data, &v, 1_500);
        assert_eq!(cache.get(&d, &keys, &v, 1_500), Some(claims));
        let other = tessera_jose::crypto::sha256(format!("{token}x").as_bytes());
        assert!(cache.get(&other, &keys, &v, 1_500).is_none(), "other bytes");
        assert!(
            cache.get(&d, &KeySet::new(), &v, 1_500).is_none(),
            "key withdrawn"
        );
        assert!(cache.get(&d, &keys, &v, 2_100).is_none(), "expired");
        let wrong_aud = Validation::new("https://a", "other");
        assert!(
            cache.get(&d, &keys, &wrong_aud, 1_500).is_none(),
            "revalidated"
        );
    }
}
