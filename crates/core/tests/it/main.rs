//! Integration tests of tessera-core's rules against a real SQLite store and
//! a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod breached;
mod clients;
mod dpop;
mod feed;
mod keys;
mod lifecycle;
mod lifecycle_more;
mod mfa;
mod passwords;
mod refresh;
mod sessions;
mod smtp;
mod throttling;

use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tessera_core::config::Argon2Params;
use tessera_core::throttle::{BackoffPolicy, Limiter, Throttle, ThrottleConfig};
use tessera_core::{App, AuthConfig, ClientInfo, Error, ServerSecret, TokenPair};
use tessera_jose::Clock;
use tessera_jose::{b64, crypto, dangerous, Limits, ManualClock};
use tessera_store::Store;

/// The start of every test's clock.
pub(crate) const T0: i64 = 1_700_000_000;
pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) fn cheap() -> Argon2Params {
    Argon2Params {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    }
}

/// Defaults, with cheap password hashing and explicit timings the tests rely on.
pub(crate) fn cfg() -> AuthConfig {
    AuthConfig {
        argon2: cheap(),
        access_token_ttl: Duration::from_secs(900),
        refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
        refresh_idle_ttl: Duration::from_secs(7 * 24 * 3600),
        refresh_reuse_grace: Duration::from_secs(10),
        leeway: Duration::from_secs(30),
        key_publish_lead: Duration::from_secs(300),
        key_rotation_interval: Duration::from_secs(30 * 24 * 3600),
        ..AuthConfig::default()
    }
}

pub(crate) fn secret() -> ServerSecret {
    ServerSecret::from_bytes(&[7; 32]).unwrap()
}

pub(crate) fn ctx() -> ClientInfo {
    ClientInfo {
        ip: Some("203.0.113.9".into()),
        user_agent: Some("tests/1.0".into()),
        ..ClientInfo::default()
    }
}

/// One test's world: a fresh SQLite store in a temporary directory.
pub(crate) struct Env {
    pub(crate) dir: TempDir,
    /// `None` for SQLite in `dir`; a PostgreSQL URL when the run asks for it.
    pub(crate) db_url: Option<String>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<ManualClock>,
    /// The services under test.
    pub(crate) auth: App,
}

/// Throttling that never refuses: these tests are about the rules, and the
/// server's suites test the backoff and rate limits.
pub(crate) fn no_throttle() -> Limiter {
    let never = BackoffPolicy {
        free_failures: u32::MAX,
        base_delay_ms: 0,
        max_delay_ms: 0,
        reset_after_ms: 0,
    };
    Limiter::Memory(Throttle::new(ThrottleConfig {
        account: never,
        ip: never,
        register_per_minute: 0,
        refresh_per_minute: 0,
        mail_per_ip_per_minute: 0,
        mail_per_account_per_hour: 0,
        passkey_options_per_minute: 0,
    }))
}

/// The services over `store`, as one server instance builds them.
pub(crate) async fn app_with(
    store: Arc<dyn Store>,
    secret: ServerSecret,
    cfg: AuthConfig,
    clock: Arc<dyn Clock>,
) -> Result<App, Error> {
    App::new(store, secret, cfg, no_throttle(), clock).await
}

/// What the tests compare of an error: its variant and its text (core's
/// `Error` keeps its causes and is not `PartialEq`).
pub(crate) fn key(e: &Error) -> (std::mem::Discriminant<Error>, String) {
    (std::mem::discriminant(e), e.to_string())
}

pub(crate) async fn env() -> Env {
    env_with(cfg()).await
}

pub(crate) async fn env_with(cfg: AuthConfig) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db_url = tessera_store::testing::fresh_database_url().await.unwrap();
    let store = tessera_store::open(db_url.as_deref(), dir.path())
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let auth = crate::app_with(store.clone(), secret(), cfg, clock.clone())
        .await
        .unwrap();
    Env {
        dir,
        db_url,
        store,
        clock,
        auth,
    }
}

impl Env {
    pub(crate) fn at(&self, secs_after_t0: i64) {
        self.clock.set(T0 + secs_after_t0);
    }

    /// Registers `email` and logs in once.
    pub(crate) async fn user(&self, email: &str) -> TokenPair {
        self.auth
            .accounts
            .register(email, PASSWORD, &ctx())
            .await
            .unwrap();
        self.login(email).await
    }

    pub(crate) async fn login(&self, email: &str) -> TokenPair {
        self.auth
            .sessions
            .login(email, PASSWORD, &ctx())
            .await
            .unwrap()
    }

    pub(crate) async fn session(&self, sid: &str) -> tessera_store::Session {
        self.store.session(sid).await.unwrap().expect("session row")
    }

    /// Names of all audit events, oldest first.
    pub(crate) async fn events(&self) -> Vec<String> {
        self.audit().await.into_iter().map(|e| e.event).collect()
    }

    pub(crate) async fn audit(&self) -> Vec<tessera_store::AuditEvent> {
        self.store
            .audit_after(0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect()
    }

    /// The `kid`s of the main ring in the published JWKS (without the
    /// RS256 ID-token ring's `oidc-…` keys).
    pub(crate) fn jwks_kids(&self) -> Vec<String> {
        let jwks: serde_json::Value = serde_json::from_str(&self.auth.tokens.jwks_json()).unwrap();
        let mut kids: Vec<String> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .filter(|k| !k.starts_with("oidc-"))
            .collect();
        kids.sort();
        kids
    }

    pub(crate) fn clock_now(&self) -> i64 {
        tessera_jose::Clock::now(&*self.clock)
    }
}

/// The `kid` an access token was signed with (read without verification).
pub(crate) fn kid(access_token: &str) -> String {
    dangerous::decode_unverified(access_token, &Limits::default())
        .unwrap()
        .header
        .kid()
        .unwrap()
        .to_owned()
}

/// An access token's claims (read without verification).
pub(crate) fn claims(access_token: &str) -> serde_json::Value {
    dangerous::decode_unverified(access_token, &Limits::default())
        .unwrap()
        .payload
}

/// A refresh token's generation.
pub(crate) fn generation(refresh_token: &str) -> i64 {
    tessera_core::refresh::RefreshToken::parse(refresh_token)
        .unwrap()
        .generation()
}

/// The 56 raw bytes of a refresh token.
pub(crate) fn raw(refresh_token: &str) -> Vec<u8> {
    let body = refresh_token.strip_prefix("tsr_").unwrap();
    b64::decode(body.as_bytes(), "refresh token").unwrap()
}

pub(crate) fn encode_raw(raw: &[u8]) -> String {
    format!("tsr_{}", b64::encode(raw))
}

/// A well-formed token for `real`'s session with the given generation and a
/// random secret: what an attacker who knows a session id can build.
pub(crate) fn forge(real: &str, generation: i64) -> String {
    let mut out = raw(real)[..16].to_vec();
    out.extend_from_slice(&generation.to_be_bytes());
    out.extend_from_slice(&crypto::random_bytes(32).unwrap());
    encode_raw(&out)
}

/// The stored keys of the main ring (not the RS256 ID-token ring's).
pub(crate) async fn main_keys(store: &dyn Store) -> Vec<tessera_store::KeyRecord> {
    let mut keys = store.keys().await.unwrap();
    keys.retain(|k| !k.kid.starts_with("oidc-"));
    keys
}
