//! # tessera-guard
//!
//! Protects a Rust backend's routes with Tessera access tokens, in a few
//! lines: a tower [`Layer`](tower::Layer) that verifies the `Bearer` token,
//! and axum extractors for the verified claims, roles and scopes.
//!
//! - **Configured from the issuer URL alone:** OpenID discovery, then the
//!   JWKS. Or from a JWKS URL, or from static keys, or from the shared
//!   secret of Tessera's HS256 mode ([`Builder::hmac_secret`]).
//! - **Encrypted tokens** (nested JWTs, when the server sets
//!   `access_token_encryption_jwk`): [`Builder::decryption_key`] decrypts
//!   them, then the inner token is verified as usual.
//! - **Validates** the signature with the key the `kid` names (the key owns
//!   its algorithm), then issuer, audience, `typ` (`at+jwt`), expiry,
//!   `nbf`/`iat` with leeway, against a [`Clock`].
//! - **A JWKS cache** that honours `Cache-Control`, refreshes in the
//!   background, refetches at most once per interval for an unknown `kid`
//!   (1000 concurrent requests with a new key cause one fetch), keeps serving
//!   the last good set while the issuer is unreachable (bounded), and never
//!   fetches from a URL found in a token.
//! - **A bounded cache of verified tokens** (keyed by the token's SHA-256,
//!   expiring with it), so that repeat requests skip the signature check.
//! - **Fast revocation:** optionally follows the auth server's revocation
//!   feed, so that a token of a logged-out session is refused within seconds.
//! - **DPoP-bound tokens** (RFC 9449): with [`Builder::dpop_public_url`],
//!   `Authorization: DPoP` with a proof of the token's key (`cnf.jkt`) for
//!   this method and URL, `ath`, an `iat` window and a bounded replay cache;
//!   a bound token sent as Bearer is refused ([`Guard::verify_request`]).
//! - Failures answer 401/403 with RFC 6750 `WWW-Authenticate` headers and a
//!   JSON body; never a panic.
//!
//! ```
//! use axum::{routing::get, Router};
//! use tessera_guard::{Authenticated, Claims, Guard, RequireRole};
//! use tessera_jose::{Algorithm, KeySet, SigningKey};
//!
//! tessera_guard::role!(Admin = "admin");
//!
//! #[derive(serde::Deserialize)]
//! struct MyClaims { sub: String }
//!
//! async fn hello(Claims(c): Claims<MyClaims>) -> String {
//!     format!("hello {}", c.sub)
//! }
//! async fn admin(_: RequireRole<Admin>, who: Authenticated) -> String {
//!     format!("welcome, admin {}", who.subject())
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // In production: `Guard::builder(issuer, audience).build().await?` (discovery).
//! let key = SigningKey::generate(Algorithm::ES256)?;
//! let keys: KeySet = [key.verifying_key().clone()].into_iter().collect();
//! let guard = Guard::builder("https://auth.example", "api").keys(keys).build().await?;
//! let app: Router = Router::new()
//!     .route("/api/hello", get(hello))
//!     .route("/api/admin", get(admin))
//!     .layer(guard.layer());
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # });
//! ```
//!
//! This file is the guard itself (about 700 lines: [`Guard`] with its
//! verification path, [`Builder`], [`Authenticated`] and [`Stats`]), one
//! cohesive thing; the JWKS cache, the feed follower, HTTP and the axum
//! glue, and the DPoP checks (`dpop`) live in their own modules.
#![forbid(unsafe_code)]

mod axum_glue;
mod cache;
mod dpop;
mod error;
mod http;
mod jwks;
mod revoked;

pub use axum_glue::{
    Claims, GuardLayer, GuardService, Rejection, RequireRole, RequireScope, RoleName, ScopeName,
};
pub use error::{Error, Result};
pub use jwks::CacheConfig;

use cache::{Entry, VerifiedCache};
use jwks::KeyCache;
use revoked::{Follower, Revocations};
use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tessera_jose::jwe::{ContentAlgorithm, DecryptionKey};
use tessera_jose::{
    Algorithm, Clock, KeySet, Limits, SystemClock, UnverifiedToken, Validation, VerifyingKey,
};
use zeroize::Zeroizing;

/// A verified caller: what the access token says, after the signature,
/// claims, type, expiry and revocation checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    claims: Value,
    subject: String,
    session: Option<String>,
    roles: Vec<String>,
    scopes: Vec<String>,
    kid: Option<String>,
    expires_at: i64,
    jkt: Option<String>,
}

impl Authenticated {
    /// All claims, as JSON.
    pub fn claims(&self) -> &Value {
        &self.claims
    }
    /// The claims as the caller's type.
    pub fn deserialize<T: DeserializeOwned>(&self) -> std::result::Result<T, serde_json::Error> {
        T::deserialize(&self.claims)
    }
    /// `sub`: the user id (or the client id of a client-credentials token).
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// `sid`: the session, for user tokens.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }
    /// `roles`.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }
    /// True if `roles` contains `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
    /// The space-separated `scope`, split.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// True if `scope` contains `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
    /// `exp`.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }
    /// `cnf.jkt`: the thumbprint of the DPoP key the token is bound to.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.jkt.as_deref()
    }

    fn from_claims(claims: Value, kid: Option<String>) -> Result<Self> {
        let c = tessera_api::AccessClaims::deserialize(&claims)
            .map_err(|e| claims_error(&claims, &e))?;
        let scopes = c.scopes().map(str::to_owned).collect();
        let jkt = c.cnf.map(|c| c.jkt);
        Ok(Authenticated {
            claims,
            subject: c.sub,
            session: c.sid,
            roles: c.roles,
            scopes,
            kid,
            expires_at: c.exp,
            jkt,
        })
    }
}

/// The claims `tessera_api::AccessClaims` reads, for naming the one that
/// made it refuse a token.
const CLAIMS: [&str; 10] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "jti",
    "sid",
    "roles",
    "scope",
    "client_id",
];

/// Why `claims` are not those of a Tessera access token: a payload that is
/// not an object, a missing claim, or the first claim of the wrong type.
fn claims_error(claims: &Value, e: &serde_json::Error) -> Error {
    let Some(obj) = claims.as_object() else {
        return Error::InvalidToken(tessera_jose::Error::Malformed("payload"));
    };
    let msg = e.to_string();
    if let Some(c) = CLAIMS
        .iter()
        .find(|c| msg.starts_with(&format!("missing field `{c}`")))
    {
        return Error::InvalidToken(tessera_jose::Error::MissingClaim(c));
    }
    let wrong = |c: &str, v: &Value| match c {
        "exp" | "iat" => !v.is_i64(),
        "roles" => !(v.is_null() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string))),
        "sid" | "scope" | "client_id" => !(v.is_null() || v.is_string()),
        _ => !v.is_string(),
    };
    let c = CLAIMS
        .iter()
        .find(|c| obj.get(**c).is_some_and(|v| wrong(c, v)))
        .copied()
        .unwrap_or("payload");
    Error::InvalidToken(tessera_jose::Error::InvalidClaim(c))
}

/// Counters for tests, health pages and dashboards (the same numbers go to
/// the `metrics` facade as `tessera_guard_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Verified-token cache hits.
    pub cache_hits: u64,
    /// Verified-token cache misses (full verifications).
    pub cache_misses: u64,
    /// Tokens in the verified-token cache.
    pub cache_len: usize,
    /// JWKS fetches attempted (the first one included).
    pub jwks_fetches: u64,
    /// JWKS fetches that failed.
    pub jwks_fetch_failures: u64,
    /// Revoked sessions currently known from the feed.
    pub revoked_sessions: usize,
    /// Successful revocation-feed polls.
    pub feed_polls: u64,
    /// When the feed was last read successfully (Unix seconds; 0: never).
    pub feed_last_ok: i64,
}

struct Inner {
    keys: Arc<KeyCache>,
    validation: Validation,
    leeway: i64,
    clock: Arc<dyn Clock>,
    cache: Option<VerifiedCache>,
    revocations: Option<Arc<Revocations>>,
    realm: String,
    tasks: Vec<tokio::task::AbortHandle>,
    decryption: Option<(DecryptionKey, ContentAlgorithm)>,
    dpop: dpop::DpopSettings,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Verifies access tokens. Cheap to clone; background tasks (JWKS refresh,
/// revocation feed) stop when the last clone is dropped.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("realm", &self.inner.realm)
            .field("remote_keys", &self.inner.keys.is_remote())
            .field("follows_revocations", &self.inner.revocations.is_some())
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// Starts a configuration for tokens of `issuer` meant for `audience`.
    /// By default the keys come from the issuer's discovery document.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> Builder {
        Builder {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: KeySource::Discovery,
            leeway: None,
            typ: Some(tessera_jose::ACCESS_TOKEN_TYP.to_owned()),
            clock: Arc::new(SystemClock),
            cache_capacity: 10_000,
            jwks: CacheConfig::default(),
            feed: None,
            ca_pem: Vec::new(),
            http_timeout: Duration::from_secs(10),
            realm: None,
            hmac: Vec::new(),
            decryption: None,
            dpop_url: None,
            dpop_required: false,
            dpop_iat_window: 60,
            dpop_replay_capacity: 100_000,
        }
    }

    /// A tower layer that refuses requests without a valid token and gives
    /// handlers an [`Authenticated`] (request extension).
    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone())
    }

    /// The `realm` of `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        let c = self.inner.cache.as_ref();
        let r = self.inner.revocations.as_ref();
        Stats {
            cache_hits: c.map_or(0, |c| c.stats().hits),
            cache_misses: c.map_or(0, |c| c.stats().misses),
            cache_len: c.map_or(0, VerifiedCache::len),
            jwks_fetches: self.inner.keys.fetches.load(Ordering::Relaxed),
            jwks_fetch_failures: self.inner.keys.fetch_failures.load(Ordering::Relaxed),
            revoked_sessions: r.map_or(0, |r| r.len()),
            feed_polls: r.map_or(0, |r| r.polls.load(Ordering::Relaxed)),
            feed_last_ok: r.map_or(0, |r| r.last_ok.load(Ordering::Relaxed)),
        }
    }

    /// Verifies an access token (the part after `Bearer `): signature,
    /// claims, expiry, revocation. It does not look at DPoP; a request's
    /// credentials, DPoP proof included, go through [`Guard::verify_request`]
    /// (which the layer uses).
    pub async fn verify(&self, token: &str) -> Result<Arc<Authenticated>> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let digest = inner
            .cache
            .as_ref()
            .map(|_| tessera_jose::crypto::sha256(token.as_bytes()));
        if let (Some(cache), Some(d)) = (&inner.cache, &digest) {
            if let Some(hit) = cache.get(d, now) {
                let keys = inner.keys.keys()?;
                // A key withdrawn from the JWKS withdraws its tokens.
                if hit.kid.as_deref().is_none_or(|k| keys.get(k).is_some()) {
                    self.check_revoked(&hit)?;
                    return Ok(hit);
                }
            }
        }
        let opened = open_nested(inner, token)?;
        let token = opened.as_deref().map_or(token, |s| s.as_str());
        let mut keys = inner.keys.keys()?;
        let mut result =
            tessera_jose::decode::<Value>(token, &keys, &inner.validation, &*inner.clock);
        if matches!(result, Err(tessera_jose::Error::UnknownKey)) && inner.keys.is_remote() {
            let kid = UnverifiedToken::parse(token, &Limits::default())
                .ok()
                .and_then(|t| t.header().kid().map(str::to_owned));
            keys = inner.keys.refresh_for_unknown(kid.as_deref()).await?;
            result = tessera_jose::decode::<Value>(token, &keys, &inner.validation, &*inner.clock);
        }
        let data = result.map_err(Error::InvalidToken)?;
        let kid = data.header.kid().map(str::to_owned);
        let auth = Arc::new(Authenticated::from_claims(data.claims, kid)?);
        self.check_revoked(&auth)?;
        if let (Some(cache), Some(d)) = (&inner.cache, digest) {
            cache.insert(
                d,
                Entry {
                    auth: auth.clone(),
                    valid_until: auth.expires_at.saturating_add(inner.leeway),
                },
                now,
            );
        }
        Ok(auth)
    }

    fn check_revoked(&self, auth: &Authenticated) -> Result<()> {
        let Some(r) = &self.inner.revocations else {
            return Ok(());
        };
        let session = auth.session_id().is_some_and(|sid| r.is_revoked(sid));
        let key = auth.kid.as_deref().is_some_and(|kid| r.is_key_revoked(kid));
        let token = auth.session_id().is_none()
            && auth
                .claims
                .get("jti")
                .and_then(|j| j.as_str())
                .is_some_and(|jti| r.is_token_revoked(jti));
        if session || key || token {
            Err(Error::Revoked)
        } else {
            Ok(())
        }
    }
}

/// With a decryption key, a JWE (five parts) is decrypted with it (only the
/// configured `enc`, `cty: "JWT"` required) and its inner JWS returned;
/// anything else is left to the signature check as it is.
fn open_nested(inner: &Inner, token: &str) -> Result<Option<Zeroizing<String>>> {
    let Some((key, enc)) = &inner.decryption else {
        return Ok(None);
    };
    if token.bytes().filter(|b| *b == b'.').count() != 4 {
        return Ok(None);
    }
    let refused = |e| Error::InvalidToken(e);
    let opened =
        tessera_jose::jwe::decrypt(token, key, *enc, &inner.validation.limits).map_err(refused)?;
    let not_nested = || refused(tessera_jose::Error::Jwe(tessera_jose::JweError::NotNested));
    if !opened
        .header()
        .cty()
        .is_some_and(|c| c.eq_ignore_ascii_case("JWT"))
    {
        return Err(not_nested());
    }
    let (_, plain) = opened.into_parts();
    let text = String::from_utf8(plain.to_vec()).map_err(|_| not_nested())?;
    Ok(Some(Zeroizing::new(text)))
}

enum KeySource {
    Discovery,
    Url(String),
    Static(KeySet),
}

/// Configuration of a [`Guard`].
pub struct Builder {
    issuer: String,
    audience: String,
    keys: KeySource,
    leeway: Option<u64>,
    typ: Option<String>,
    clock: Arc<dyn Clock>,
    cache_capacity: usize,
    jwks: CacheConfig,
    feed: Option<(String, String)>,
    ca_pem: Vec<Vec<u8>>,
    http_timeout: Duration,
    realm: Option<String>,
    hmac: Vec<(Algorithm, Zeroizing<Vec<u8>>)>,
    decryption: Option<(DecryptionKey, ContentAlgorithm)>,
    dpop_url: Option<String>,
    dpop_required: bool,
    dpop_iat_window: u64,
    dpop_replay_capacity: usize,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("follow_revocations", &self.feed.as_ref().map(|(id, _)| id))
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Take the keys from this JWKS URL instead of discovery.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.keys = KeySource::Url(url.into());
        self
    }
    /// Use these keys; nothing is fetched.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = KeySource::Static(keys);
        self
    }
    /// Verify with this shared secret, as Tessera signs in its HS256/384/512
    /// mode (`hs_secret`): nothing is fetched. Call again for each secret
    /// that should still verify during a rotation (`hs_previous_secrets`).
    /// The secret must be at least as long as the hash (32, 48 or 64
    /// bytes), or `build` fails. Whoever holds it can also mint tokens.
    pub fn hmac_secret(mut self, alg: Algorithm, secret: impl AsRef<[u8]>) -> Self {
        self.hmac
            .push((alg, Zeroizing::new(secret.as_ref().to_vec())));
        self
    }
    /// Accept access tokens encrypted to this key (nested JWTs, when the
    /// server sets `access_token_encryption_jwk`): they are decrypted, then
    /// verified as before. Only `enc` is accepted (Tessera's default is
    /// `A256GCM`). Unencrypted tokens are still verified as usual.
    pub fn decryption_key(mut self, key: DecryptionKey, enc: ContentAlgorithm) -> Self {
        self.decryption = Some((key, enc));
        self
    }
    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = Some(secs);
        self
    }
    /// The required header `typ` (default `at+jwt`; `None` accepts any).
    pub fn typ(mut self, typ: Option<&str>) -> Self {
        self.typ = typ.map(str::to_owned);
        self
    }
    /// The time source (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Capacity of the verified-token cache (default 10 000; 0 disables it).
    pub fn cache_capacity(mut self, n: usize) -> Self {
        self.cache_capacity = n;
        self
    }
    /// JWKS cache tuning.
    pub fn jwks_cache(mut self, cfg: CacheConfig) -> Self {
        self.jwks = cfg;
        self
    }
    /// Follow the issuer's revocation feed with these client credentials
    /// (an OAuth client created with `tessera clients create`).
    pub fn follow_revocations(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.feed = Some((client_id.into(), client_secret.into()));
        self
    }
    /// Also trust this CA (PEM) for HTTPS to the issuer.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem.push(pem.into());
        self
    }
    /// Timeout of each HTTP request except feed long polls (default 10 s).
    pub fn http_timeout(mut self, t: Duration) -> Self {
        self.http_timeout = t;
        self
    }
    /// The `realm` of `WWW-Authenticate` challenges (default: the audience).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Fetches what the configuration needs (discovery, the first JWKS, the
    /// first feed page) and starts the background tasks. Must run inside a
    /// tokio runtime.
    pub async fn build(self) -> Result<Guard> {
        let issuer = self.issuer.trim_end_matches('/').to_owned();
        // Tessera always names the key; a token without a `kid` could
        // verify against a lone key and escape that key's revocation.
        let mut validation = Validation::new(self.issuer.clone(), self.audience.clone())
            .with_typ(self.typ.as_deref())
            .require_kid(true);
        if let Some(l) = self.leeway {
            validation = validation.with_leeway(l);
        }
        let leeway = i64::try_from(validation.leeway()).unwrap_or(i64::MAX);
        let mut source = self.keys;
        if !self.hmac.is_empty() {
            let mut set = match source {
                KeySource::Static(k) => k,
                _ => KeySet::new(),
            };
            for (alg, secret) in &self.hmac {
                if alg.family() != tessera_jose::Family::Hmac {
                    return Err(Error::Setup(format!(
                        "hmac_secret: {alg} is not an HMAC algorithm"
                    )));
                }
                let key = VerifyingKey::from_hmac_secret(*alg, secret)
                    .map_err(|e| Error::Setup(format!("hmac_secret: {e}")))?;
                set.insert(key);
            }
            source = KeySource::Static(set);
        }
        if let Some(u) = &self.dpop_url {
            check_url(u, "DPoP public URL")?;
            tessera_jose::dpop::normalize_htu(u)
                .map_err(|_| Error::Setup("DPoP public URL is not a valid URL".into()))?;
        }
        if self.dpop_required && self.dpop_url.is_none() {
            return Err(Error::Setup("require_dpop needs dpop_public_url".into()));
        }
        let dpop = dpop::DpopSettings {
            public_url: self.dpop_url,
            required: self.dpop_required,
            iat_window: i64::try_from(self.dpop_iat_window).unwrap_or(i64::MAX),
            leeway,
            replay: dpop::ReplayCache::new(self.dpop_replay_capacity),
        };
        let needs_http = !matches!(source, KeySource::Static(_)) || self.feed.is_some();
        let http = if needs_http {
            Some(http::Http::new(&self.ca_pem, self.http_timeout)?)
        } else {
            None
        };
        let mut feed_url = format!("{issuer}/v1/revocations");
        let keys = match (source, &http) {
            (KeySource::Static(k), _) => KeyCache::fixed(k, self.clock.clone()),
            (KeySource::Url(url), Some(h)) => {
                check_url(&url, "JWKS URL")?;
                KeyCache::remote(h.clone(), url, self.jwks.clone(), self.clock.clone()).await?
            }
            (KeySource::Discovery, Some(h)) => {
                let d = discover(h, &self.issuer).await?;
                if let Some(f) = d.feed {
                    feed_url = f;
                }
                KeyCache::remote(h.clone(), d.jwks_uri, self.jwks.clone(), self.clock.clone())
                    .await?
            }
            (_, None) => return Err(Error::Setup("no HTTP client".into())),
        };
        let keys = Arc::new(keys);
        let mut tasks = Vec::new();
        if keys.is_remote() {
            tasks.push(tokio::spawn(jwks::refresher(Arc::downgrade(&keys))).abort_handle());
        }
        let revocations = match (self.feed, &http) {
            (Some((id, secret)), Some(_)) => {
                check_url(&feed_url, "revocation feed URL")?;
                // Long polls wait up to 25 s on the server.
                let long =
                    http::Http::new(&self.ca_pem, self.http_timeout + Duration::from_secs(40))?;
                let follower = Follower {
                    http: long,
                    url: feed_url,
                    client_id: id,
                    client_secret: secret,
                    clock: self.clock.clone(),
                };
                let r = Arc::new(Revocations::new(leeway));
                let cursor = follower.first(&r).await?;
                tasks.push(tokio::spawn(follower.run(Arc::downgrade(&r), cursor)).abort_handle());
                Some(r)
            }
            _ => None,
        };
        Ok(Guard {
            inner: Arc::new(Inner {
                keys,
                validation,
                leeway,
                clock: self.clock,
                cache: (self.cache_capacity > 0).then(|| VerifiedCache::new(self.cache_capacity)),
                revocations,
                realm: self.realm.unwrap_or(self.audience),
                tasks,
                decryption: self.decryption,
                dpop,
            }),
        })
    }
}

/// Fetches and parses a JWKS over HTTP or HTTPS with the guard's client
/// (the system's roots plus `ca_pem`, no redirects, a size cap, `timeout`).
/// For tools such as `tessera token verify`; a [`Guard`] caches for you.
pub async fn fetch_jwks(
    url: &str,
    ca_pem: Option<&[u8]>,
    timeout: Duration,
) -> Result<tessera_jose::Jwks> {
    check_url(url, "JWKS URL")?;
    let roots: Vec<Vec<u8>> = ca_pem.map(|p| vec![p.to_vec()]).unwrap_or_default();
    let got = http::Http::new(&roots, timeout)?.get(url, None).await?;
    let text =
        std::str::from_utf8(&got.body).map_err(|_| Error::Fetch("JWKS is not UTF-8".into()))?;
    tessera_jose::Jwks::from_json(text).map_err(|e| Error::Fetch(format!("JWKS refused: {e}")))
}

fn check_url(url: &str, what: &str) -> Result<()> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(Error::Setup(format!("{what} must be an http(s) URL")))
    }
}

struct Discovered {
    jwks_uri: String,
    feed: Option<String>,
}

/// OpenID Connect Discovery 1.0 §4: the document's `issuer` must be exactly
/// the configured one.
async fn discover(http: &http::Http, issuer: &str) -> Result<Discovered> {
    check_url(issuer, "issuer")?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let got = http.get(&url, None).await?;
    let doc: tessera_api::IssuerMetadata = serde_json::from_slice(&got.body).map_err(|e| {
        Error::Setup(format!(
            "discovery document is not valid metadata (issuer, jwks_uri): {e}"
        ))
    })?;
    if doc.issuer != issuer {
        return Err(Error::Setup(
            "discovery document names a different issuer".into(),
        ));
    }
    check_url(&doc.jwks_uri, "jwks_uri")?;
    let (jwks_uri, feed) = (doc.jwks_uri, doc.revocation_feed_endpoint);
    Ok(Discovered { jwks_uri, feed })
}
