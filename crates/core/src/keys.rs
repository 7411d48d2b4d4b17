//! Signing keys: generation, sealing at rest, publication and rotation.
//! One cohesive thing (about 575 lines before the tests): the key ring's
//! state and every transition of it; the HS shared-secret mode is in
//! `keys/shared.rs`.
//!
//! Rules:
//! - a new key is published in the JWKS at creation and signs only from its
//!   `activates_at` (creation + `key_publish_lead`), so caches see it first;
//! - a key stays published until every token it signed has expired
//!   (`retired_at` + access-token lifetime + leeway);
//! - private keys are sealed with the server secret before they reach the store.

use crate::config::{secs, AuthConfig};
use crate::error::{Error, Result};
use crate::secret::ServerSecret;
use serde::Serialize;
use std::sync::{Arc, RwLock};
use tessera_jose::{crypto, Algorithm, Jwk, Jwks, KeySet, SigningKey};
use tessera_store::{KeyRecord, Store};

mod shared;

/// What an operator may see about a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// Published since.
    pub created_at: i64,
    /// Signs from.
    pub activates_at: i64,
    /// Stopped signing at.
    pub retired_at: Option<i64>,
    /// True for the key that signs now.
    pub signing: bool,
}

struct Loaded {
    record: KeyRecord,
    key: Arc<SigningKey>,
}

/// A consistent view of the keys at one moment.
pub struct KeyState {
    signer: Arc<SigningKey>,
    keyset: KeySet,
    jwks_json: Arc<str>,
    infos: Vec<KeyInfo>,
    next_activation: Option<i64>,
    loaded: Vec<Arc<Loaded>>,
}

impl KeyState {
    /// The key that signs now.
    pub fn signer(&self) -> &Arc<SigningKey> {
        &self.signer
    }
    /// Every published verification key.
    pub fn keyset(&self) -> &KeySet {
        &self.keyset
    }
    /// The published JWKS, serialised once.
    pub fn jwks_json(&self) -> &Arc<str> {
        &self.jwks_json
    }
    /// Operator view.
    pub fn infos(&self) -> &[KeyInfo] {
        &self.infos
    }
}

fn build(loaded: Vec<Arc<Loaded>>, now: i64) -> Result<KeyState> {
    let active = |l: &&Arc<Loaded>| l.record.activates_at <= now;
    // Times are whole seconds, so keys made in the same second tie on
    // activation and creation; the one not scheduled to retire (or retiring
    // last) is the newer. Without this, a key superseded by a pending
    // rotation could keep signing after an immediate rotation in the same
    // second, depending on the order of their random kids.
    let newest = |l: &&Arc<Loaded>| {
        (
            l.record.activates_at,
            l.record.created_at,
            l.record.retired_at.unwrap_or(i64::MAX),
        )
    };
    // A retired key never signs again, even if it activates later than the
    // key that replaced it (a pending key overtaken by an immediate rotation).
    let signer = loaded
        .iter()
        .filter(active)
        .filter(|l| l.record.retired_at.is_none_or(|r| r > now))
        .max_by_key(newest)
        .or_else(|| loaded.iter().filter(active).max_by_key(newest))
        .or_else(|| loaded.iter().min_by_key(|l| l.record.activates_at))
        .map(|l| l.key.clone())
        .ok_or_else(|| Error::internal_msg("no signing key"))?;
    let next_activation = loaded
        .iter()
        .map(|l| l.record.activates_at)
        .filter(|a| *a > now)
        .min();
    let keyset: KeySet = loaded
        .iter()
        .map(|l| l.key.verifying_key().clone())
        .collect();
    let jwks = Jwks {
        keys: loaded
            .iter()
            .filter_map(|l| l.key.verifying_key().to_jwk().ok())
            .collect(),
    };
    let infos = loaded
        .iter()
        .map(|l| KeyInfo {
            kid: l.record.kid.clone(),
            alg: l.record.alg.clone(),
            created_at: l.record.created_at,
            activates_at: l.record.activates_at,
            retired_at: l.record.retired_at,
            signing: l.key.kid() == signer.kid(),
        })
        .collect();
    Ok(KeyState {
        signer,
        keyset,
        jwks_json: jwks.to_json().into(),
        infos,
        next_activation,
        loaded,
    })
}

/// The server's signing keys.
pub struct Keys {
    store: Arc<dyn Store>,
    secret: ServerSecret,
    alg: Algorithm,
    rotation_interval: i64,
    publish_lead: i64,
    retention: i64,
    state: RwLock<Arc<KeyState>>,
    /// Serialises rotations, reloads and clean-ups, so a reload that read the
    /// store before a rotation cannot publish after it and hide the new key.
    update: tokio::sync::Mutex<()>,
    /// This process's name when it takes a lease among several instances.
    instance: String,
    /// When an unknown `kid` last caused a reload (stampede guard).
    last_kid_reload: std::sync::atomic::AtomicI64,
    /// HS mode: the keys come from configuration; the store holds none,
    /// and nothing rotates, reloads or is published.
    shared: bool,
    /// The RS256 ring of ID tokens beside the main key (kids `oidc-…`),
    /// rather than the main ring.
    id_ring: bool,
}

/// The kid prefix of the ID-token ring's keys (OIDC requires RS256; this
/// ring keeps an RS256 key beside a main key of another algorithm).
pub const ID_KID_PREFIX: &str = "oidc-";

fn lease_name(id_ring: bool) -> &'static str {
    if id_ring {
        "id-token-keys"
    } else {
        KEY_LEASE
    }
}

/// Lease held by the instance that creates the first key or rotates on schedule.
const KEY_LEASE: &str = "signing-keys";
const KEY_LEASE_TTL: i64 = 60;

fn instance_id() -> Result<String> {
    crypto::random_bytes(12)
        .map(|b| tessera_jose::b64::encode(&b))
        .map_err(Error::internal)
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

async fn generate(alg: Algorithm) -> Result<SigningKey> {
    tokio::task::spawn_blocking(move || SigningKey::generate(alg))
        .await
        .map_err(Error::internal)?
        .map_err(|e| Error::internal_in("key generation", e))
}

/// Generates a key, seals it, and stores it; returns its kid and activation time.
async fn create_key(
    store: &dyn Store,
    secret: &ServerSecret,
    alg: Algorithm,
    now: i64,
    lead: i64,
    id_ring: bool,
) -> Result<(String, i64)> {
    let mut key = generate(alg).await?;
    if id_ring {
        let kid = format!("{ID_KID_PREFIX}{}", key.kid());
        key = key.with_kid(kid);
    }
    let jwk = key.to_private_jwk().map_err(Error::internal)?;
    let sealed = crypto::seal(
        secret.seal_key(),
        key.kid().as_bytes(),
        jwk.to_json().as_bytes(),
    )
    .map_err(Error::internal)?;
    let public = key
        .verifying_key()
        .to_jwk()
        .map(|j| j.to_json())
        .map_err(Error::internal)?;
    let activates_at = now.saturating_add(lead);
    store
        .insert_key(&KeyRecord {
            kid: key.kid().to_owned(),
            alg: alg.as_str().to_owned(),
            sealed_key: sealed,
            public_jwk: public,
            created_at: now,
            activates_at,
            retired_at: None,
        })
        .await?;
    tracing::info!(kid = key.kid(), %alg, activates_at, "signing key created");
    Ok((key.kid().to_owned(), activates_at))
}

impl Keys {
    /// Loads the keys, generating the first one if there is none.
    pub async fn init(
        store: Arc<dyn Store>,
        secret: ServerSecret,
        cfg: &AuthConfig,
        now: i64,
    ) -> Result<Self> {
        if cfg.signing_alg.family() == tessera_jose::Family::Hmac {
            return shared::init(store, secret, cfg, now);
        }
        Self::init_ring(store, secret, cfg, now, cfg.signing_alg, false).await
    }

    /// The RS256 ring of ID tokens, when the main key is of another
    /// asymmetric algorithm (`None` in HS mode and when the main key is
    /// RS256 already). Rotated like the main ring, by [`Keys::maintain`].
    pub async fn init_id_tokens(
        store: Arc<dyn Store>,
        secret: ServerSecret,
        cfg: &AuthConfig,
        now: i64,
    ) -> Result<Option<Self>> {
        let alg = cfg.signing_alg;
        if alg.family() == tessera_jose::Family::Hmac || alg == Algorithm::RS256 {
            return Ok(None);
        }
        let ring = Self::init_ring(store, secret, cfg, now, Algorithm::RS256, true).await?;
        Ok(Some(ring))
    }

    async fn init_ring(
        store: Arc<dyn Store>,
        secret: ServerSecret,
        cfg: &AuthConfig,
        now: i64,
        alg: Algorithm,
        id_ring: bool,
    ) -> Result<Self> {
        let instance = instance_id()?;
        let mut loaded = Self::load(&*store, &secret, id_ring).await?;
        // First start: one instance (the lease holder) creates the key, which
        // signs at once (no cache can hold an older JWKS); others wait for it.
        let mut waited = 0;
        while loaded.is_empty() {
            if store
                .try_lease(lease_name(id_ring), &instance, now, KEY_LEASE_TTL)
                .await?
            {
                loaded = Self::load(&*store, &secret, id_ring).await?;
                if loaded.is_empty() {
                    create_key(&*store, &secret, alg, now, 0, id_ring).await?;
                    loaded = Self::load(&*store, &secret, id_ring).await?;
                }
                break;
            }
            if waited >= 300 {
                return Err(Error::unavailable_msg(
                    "another instance holds the key lease but created no key",
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
            loaded = Self::load(&*store, &secret, id_ring).await?;
        }
        Ok(Keys {
            state: RwLock::new(Arc::new(build(loaded, now)?)),
            store,
            secret,
            alg,
            rotation_interval: secs(cfg.key_rotation_interval),
            publish_lead: secs(cfg.key_publish_lead),
            retention: secs(cfg.access_token_ttl).saturating_add(secs(cfg.leeway)),
            update: tokio::sync::Mutex::new(()),
            instance,
            last_kid_reload: std::sync::atomic::AtomicI64::new(i64::MIN),
            shared: false,
            id_ring,
        })
    }

    async fn load(
        store: &dyn Store,
        secret: &ServerSecret,
        id_ring: bool,
    ) -> Result<Vec<Arc<Loaded>>> {
        let mut out = Vec::new();
        for record in store.keys().await? {
            if record.kid.starts_with(ID_KID_PREFIX) != id_ring {
                continue;
            }
            let alg: Algorithm = record.alg.parse().map_err(|_| {
                Error::internal_msg(format!("key {}: unknown algorithm", record.kid))
            })?;
            let json = crypto::open(secret.seal_key(), record.kid.as_bytes(), &record.sealed_key)
                .map_err(|_| {
                Error::internal_msg(format!(
                    "key {} cannot be unsealed: is this the server secret that sealed it?",
                    record.kid
                ))
            })?;
            let what = || format!("key {}", record.kid);
            let text = std::str::from_utf8(&json).map_err(|e| Error::internal_in(what(), e))?;
            let jwk = Jwk::from_json(text).map_err(|e| Error::internal_in(what(), e))?;
            let key = SigningKey::from_jwk(&jwk, Some(alg))
                .map_err(|e| Error::internal_in(what(), e))?
                .with_kid(record.kid.clone());
            out.push(Arc::new(Loaded {
                record,
                key: Arc::new(key),
            }));
        }
        Ok(out)
    }

    fn publish(&self, state: KeyState) {
        let mut guard = self.state.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(state);
    }

    /// When the scheduled rotation replaces the newest key (`None`: no
    /// automatic rotation, in HS mode or with a zero interval).
    pub fn rotates_at(&self, now: i64) -> Option<i64> {
        if self.shared || self.rotation_interval <= 0 {
            return None;
        }
        let state = self.current(now);
        let newest = state.infos().iter().map(|i| i.created_at).max()?;
        Some(newest.saturating_add(self.rotation_interval))
    }

    /// The current state, refreshed if a pending key's activation time has come.
    pub fn current(&self, now: i64) -> Arc<KeyState> {
        let mut state = self.state.read().unwrap_or_else(|p| p.into_inner()).clone();
        for _ in 0..4 {
            match state.next_activation {
                Some(t) if t <= now => {}
                _ => return state,
            }
            let Ok(next) = build(state.loaded.clone(), now) else {
                return state;
            };
            let next = Arc::new(next);
            let mut guard = self.state.write().unwrap_or_else(|p| p.into_inner());
            // Publish only over the state this was built from: a reload may
            // have published newer keys meanwhile, which must not be lost.
            if Arc::ptr_eq(&guard, &state) {
                *guard = next.clone();
                return next;
            }
            state = guard.clone();
        }
        state
    }

    /// Call with `update` held.
    async fn add_key(&self, now: i64, lead: i64) -> Result<KeyInfo> {
        let previous = self.current(now);
        let (kid, activates_at) = create_key(
            &*self.store,
            &self.secret,
            self.alg,
            now,
            lead,
            self.id_ring,
        )
        .await?;
        for info in previous.infos() {
            if info.retired_at.is_none() {
                self.store.retire_key(&info.kid, activates_at).await?;
            }
        }
        self.reload_locked(now).await?;
        self.current(now)
            .infos()
            .iter()
            .find(|i| i.kid == kid)
            .cloned()
            .ok_or_else(|| Error::internal_msg("new key not loaded"))
    }

    /// Creates a new key. It is published now; it signs after the publish
    /// lead, or at once with `immediate` (for a suspected compromise).
    pub async fn rotate(&self, now: i64, immediate: bool) -> Result<KeyInfo> {
        if self.shared {
            return Err(shared::not_rotated());
        }
        let lead = if immediate { 0 } else { self.publish_lead };
        let _update = self.update.lock().await;
        self.add_key(now, lead).await
    }

    /// Revokes a key at once (a suspected compromise): it is unpublished,
    /// tokens it signed are refused from now on, and it never loads again
    /// (the store remembers the kid). A key that signs now, or is waiting
    /// to sign, is first replaced by a new key that signs at once. Returns
    /// the revoked key and the key that signs afterwards; `NotFound` for a
    /// kid that is not a current key.
    pub async fn revoke(&self, kid: &str, now: i64) -> Result<(KeyInfo, KeyInfo)> {
        if self.shared {
            // Nothing is stored to revoke: the secret is configuration.
            return Err(shared::not_rotated());
        }
        let _update = self.update.lock().await;
        let revoked = self
            .current(now)
            .infos()
            .iter()
            .find(|i| i.kid == kid)
            .cloned()
            .ok_or(Error::NotFound("signing key"))?;
        if revoked.signing || revoked.retired_at.is_none_or(|r| r > now) {
            self.add_key(now, 0).await?;
        }
        if !self.store.revoke_key(kid, now).await? {
            // Another instance revoked it meanwhile: the same outcome.
            tracing::info!(kid, "signing key was already revoked");
        }
        self.reload_locked(now).await?;
        let signing = self
            .current(now)
            .infos()
            .iter()
            .find(|i| i.signing)
            .cloned()
            .ok_or_else(|| Error::internal_msg("no signing key after a revocation"))?;
        tracing::warn!(kid, signing = signing.kid, "signing key revoked");
        Ok((revoked, signing))
    }

    /// Drops, by a reload, any key this instance still trusts that the
    /// store lists as revoked (by another instance, or by `tessera keys
    /// revoke` on the same database). One small read when nothing changed;
    /// returns whether it reloaded.
    pub async fn drop_revoked(&self, now: i64) -> Result<bool> {
        if self.shared {
            return Ok(false);
        }
        let revoked = self.store.revoked_keys().await?;
        let trusted = self.current(now);
        let stale = revoked
            .iter()
            .any(|(kid, _)| trusted.infos().iter().any(|i| &i.kid == kid));
        if !stale {
            return Ok(false);
        }
        let _update = self.update.lock().await;
        self.reload_locked(now).await?;
        tracing::warn!("a signing key revoked elsewhere is no longer trusted here");
        Ok(true)
    }

    /// A token names a `kid` this instance does not know: another instance
    /// may have just rotated (`immediate`). Reloads at most once every
    /// `min_interval` seconds; returns whether it reloaded.
    pub async fn reload_for_unknown_kid(&self, now: i64, min_interval: i64) -> Result<bool> {
        use std::sync::atomic::Ordering;
        let last = self.last_kid_reload.load(Ordering::SeqCst);
        if last != i64::MIN && now.saturating_sub(last) < min_interval {
            return Ok(false);
        }
        if self
            .last_kid_reload
            .compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Ok(false);
        }
        self.reload(now).await?;
        Ok(true)
    }

    /// Re-reads the keys from the store.
    pub async fn reload(&self, now: i64) -> Result<()> {
        let _update = self.update.lock().await;
        self.reload_locked(now).await
    }

    async fn reload_locked(&self, now: i64) -> Result<()> {
        if self.shared {
            return Ok(());
        }
        let loaded = Self::load(&*self.store, &self.secret, self.id_ring).await?;
        if loaded.is_empty() {
            return Err(Error::internal_msg("no signing keys in the store"));
        }
        self.publish(build(loaded, now)?);
        Ok(())
    }

    /// Scheduled work: rotate when the newest key is older than the
    /// rotation interval, and drop keys no valid token can still need.
    /// Returns the new key when one was made.
    pub async fn maintain(&self, now: i64) -> Result<Option<KeyInfo>> {
        if self.shared {
            return Ok(None);
        }
        let _update = self.update.lock().await;
        let state = self.current(now);
        for info in state.infos() {
            if let Some(retired) = info.retired_at {
                if retired.saturating_add(self.retention) < now && !info.signing {
                    self.store.delete_key(&info.kid).await?;
                    tracing::info!(kid = info.kid, "retired signing key removed");
                }
            }
        }
        let newest = state
            .infos()
            .iter()
            .map(|i| i.created_at)
            .max()
            .unwrap_or(now);
        let due = |newest: i64| {
            self.rotation_interval > 0 && newest.saturating_add(self.rotation_interval) <= now
        };
        // Among several instances only the lease holder rotates, and only
        // after re-reading the keys another instance may just have rotated.
        if due(newest)
            && self
                .store
                .try_lease(lease_name(self.id_ring), &self.instance, now, KEY_LEASE_TTL)
                .await?
        {
            self.reload_locked(now).await?;
            let newest = self
                .current(now)
                .infos()
                .iter()
                .map(|i| i.created_at)
                .max()
                .unwrap_or(now);
            if due(newest) {
                return Ok(Some(self.add_key(now, self.publish_lead).await?));
            }
            return Ok(None);
        }
        self.reload_locked(now).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn loaded(created_at: i64, activates_at: i64, retired_at: Option<i64>) -> Arc<Loaded> {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        Arc::new(Loaded {
            record: KeyRecord {
                kid: key.kid().to_owned(),
                alg: "ES256".into(),
                sealed_key: Vec::new(),
                public_jwk: String::new(),
                created_at,
                activates_at,
                retired_at,
            },
            key: Arc::new(key),
        })
    }

    #[test]
    fn an_immediate_key_signs_over_a_superseded_key_of_the_same_second() {
        let t = 1_800_000_000;
        // Signing, but already scheduled to retire when a pending key activates.
        let superseded = loaded(t, t, Some(t + 300));
        // The immediate replacement, made in the same second.
        let immediate = loaded(t, t, None);
        for order in [
            vec![superseded.clone(), immediate.clone()],
            vec![immediate.clone(), superseded.clone()],
        ] {
            let state = build(order, t).unwrap();
            assert_eq!(state.signer().kid(), immediate.key.kid());
        }
    }
}
