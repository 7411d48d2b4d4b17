//! The HS256/384/512 mode: one shared secret signs access tokens, earlier
//! secrets still verify during a rotation. The keys come from
//! configuration, are never generated nor stored, and nothing is published
//! (a JWKS must never hold a secret).

use super::{instance_id, KeyInfo, KeyState, Keys};
use crate::config::{secs, AuthConfig};
use crate::error::{Error, Result};
use crate::secret::ServerSecret;
use std::sync::{Arc, RwLock};
use tessera_jose::{Algorithm, KeySet, SigningKey};
use tessera_store::Store;

/// What `rotate` answers in HS mode.
pub(super) fn not_rotated() -> Error {
    Error::InvalidInput {
        field: "signing_alg",
        message: "is an HMAC algorithm: the key is `hs_secret` from configuration, not \
                  rotated here; rotate it by setting a new `hs_secret` and listing the old \
                  one in `hs_previous_secrets`"
            .into(),
    }
}

fn hmac_key(alg: Algorithm, secret: &[u8], key: &'static str) -> Result<SigningKey> {
    let min = match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    };
    if secret.len() < min {
        return Err(Error::Config {
            key,
            message: format!("must be base64url of at least {min} bytes for {alg}"),
        });
    }
    SigningKey::from_hmac_secret(alg, secret).map_err(|e| Error::Config {
        key,
        message: format!("not usable as an {alg} key: {e}"),
    })
}

/// The fixed key state: the current secret signs; it and the previous ones
/// verify; the JWKS is empty.
fn state(alg: Algorithm, cfg: &AuthConfig, now: i64) -> Result<KeyState> {
    let secrets = cfg.hs_secrets.as_ref().ok_or_else(|| Error::Config {
        key: "hs_secret",
        message: format!(
            "is required with signing_alg = {alg} (base64url of a random secret; \
             Tessera never generates it)"
        ),
    })?;
    let signer = Arc::new(hmac_key(alg, &secrets.current, "hs_secret")?);
    let mut keyset = KeySet::new();
    keyset.insert(signer.verifying_key().clone());
    let info = |kid: &str, signing: bool| KeyInfo {
        kid: kid.to_owned(),
        alg: alg.as_str().to_owned(),
        created_at: now,
        activates_at: now,
        retired_at: None,
        signing,
    };
    let mut infos = vec![info(signer.kid(), true)];
    for old in &secrets.previous {
        let key = hmac_key(alg, old, "hs_previous_secrets")?;
        if key.kid() != signer.kid() {
            infos.push(info(key.kid(), false));
            keyset.insert(key.verifying_key().clone());
        }
    }
    Ok(KeyState {
        signer,
        keyset,
        jwks_json: r#"{"keys":[]}"#.into(),
        infos,
        next_activation: None,
        loaded: Vec::new(),
    })
}

/// [`Keys::init`] in HS mode.
pub(super) fn init(
    store: Arc<dyn Store>,
    secret: ServerSecret,
    cfg: &AuthConfig,
    now: i64,
) -> Result<Keys> {
    let state = state(cfg.signing_alg, cfg, now)?;
    Ok(Keys {
        state: RwLock::new(Arc::new(state)),
        store,
        secret,
        alg: cfg.signing_alg,
        rotation_interval: 0,
        publish_lead: 0,
        retention: secs(cfg.access_token_ttl).saturating_add(secs(cfg.leeway)),
        update: tokio::sync::Mutex::new(()),
        instance: instance_id()?,
        last_kid_reload: std::sync::atomic::AtomicI64::new(i64::MIN),
        shared: true,
        id_ring: false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::SharedSecrets;
    use zeroize::Zeroizing;

    fn cfg(alg: Algorithm, current: &[u8], previous: &[&[u8]]) -> AuthConfig {
        AuthConfig {
            signing_alg: alg,
            hs_secrets: Some(SharedSecrets {
                current: Zeroizing::new(current.to_vec()),
                previous: previous
                    .iter()
                    .map(|p| Zeroizing::new(p.to_vec()))
                    .collect(),
            }),
            ..AuthConfig::default()
        }
    }

    #[test]
    fn the_secret_signs_the_previous_verify_and_nothing_is_published() {
        let state = state(
            Algorithm::HS256,
            &cfg(Algorithm::HS256, &[7; 32], &[&[9; 40]]),
            5,
        )
        .unwrap();
        assert_eq!(state.signer().algorithm(), Algorithm::HS256);
        assert_eq!(state.keyset().len(), 2);
        assert_eq!(state.jwks_json().as_ref(), r#"{"keys":[]}"#);
        // The kid is the RFC 7638 thumbprint of the `oct` JWK.
        let jwk = state.signer().to_private_jwk().unwrap();
        assert_eq!(state.signer().kid(), jwk.thumbprint().unwrap());
    }

    #[test]
    fn short_or_missing_secrets_are_refused() {
        for (alg, len) in [
            (Algorithm::HS256, 31),
            (Algorithm::HS384, 47),
            (Algorithm::HS512, 63),
        ] {
            let err = state(alg, &cfg(alg, &vec![1; len], &[]), 0).err().unwrap();
            assert!(
                matches!(
                    err,
                    Error::Config {
                        key: "hs_secret",
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(state(alg, &cfg(alg, &vec![1; len + 1], &[]), 0).is_ok());
        }
        let err = state(
            Algorithm::HS256,
            &cfg(Algorithm::HS256, &[1; 32], &[&[2; 8]]),
            0,
        )
        .err()
        .unwrap();
        assert!(matches!(
            err,
            Error::Config {
                key: "hs_previous_secrets",
                ..
            }
        ));
        let none = AuthConfig {
            signing_alg: Algorithm::HS256,
            ..AuthConfig::default()
        };
        assert!(matches!(
            state(Algorithm::HS256, &none, 0),
            Err(Error::Config {
                key: "hs_secret",
                ..
            })
        ));
    }
}
