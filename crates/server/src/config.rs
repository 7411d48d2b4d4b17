//! Server configuration: `tessera.toml`, then `TESSERA_<KEY>` environment
//! variables, then command-line flags, each overriding the one before.
//!
//! Every key is defined once, in the `config_keys!` table below, with a
//! one-line doc: the [`Config`] struct (whose fields are the TOML keys), its
//! defaults, and [`KEYS`] (from which come the `TESSERA_*` variables and the
//! CLI's `--flags` with their help text) all come from that table.
//!
//! One cohesive thing: the key table, the loader that layers file,
//! environment and flags over it, and the checks that name a bad key (about
//! 820 lines, a third of them the key table itself, one key per doc line;
//! the mail, brand and `config check` parts already live in `config/`);
//! the rest of the file is their tests. Value types live in
//! `config/values.rs`.

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tessera_core::config::Argon2Params;
use tessera_core::{AuthConfig, SharedSecrets, TokenEncryption};
use tessera_jose::Algorithm;
use zeroize::Zeroizing;

mod brand;
mod check;
mod mail;
pub use brand::{is_color, is_logo_url, logo_origin};
mod values;
pub use check::{suggest, Effective, Source, NON_CONFIG_NAMES, NON_CONFIG_PREFIXES};
pub use values::{canonical, Dur, Flag, OriginList, ProxyHeader, ProxyList, RoleList, SecretList};

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone may register.
    Open,
    /// Only operators (CLI) and admins create users.
    Closed,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// One configuration key, as documented in `tessera serve --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyDoc {
    /// The TOML key (`access_token_ttl`).
    pub name: &'static str,
    /// One line saying what it does.
    pub doc: &'static str,
    /// The default as written in a file (`15m`), or a description of it;
    /// empty when the key is unset by default.
    pub default: &'static str,
    /// The placeholder for the value in help text (`DURATION`).
    pub value_name: &'static str,
    /// How the value is written on the command line.
    pub kind: ValueKind,
}

impl KeyDoc {
    /// The one-line description, without the leading space of its doc comment.
    pub fn doc(&self) -> &'static str {
        self.doc.trim()
    }

    /// The command-line flag without its dashes (`access-token-ttl`).
    pub fn flag(&self) -> String {
        self.name.replace('_', "-")
    }

    /// The environment variable (`TESSERA_ACCESS_TOKEN_TTL`).
    pub fn env(&self) -> String {
        format!("TESSERA_{}", self.name.to_ascii_uppercase())
    }

    /// The default for help text, if the key has one.
    pub fn default_text(&self) -> Option<&'static str> {
        Some(self.default).filter(|d| !d.is_empty())
    }
}

/// How a key's value is written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueKind {
    /// A whole number (passed to the loader as a number).
    Integer,
    /// Text: durations, addresses, paths, URLs, names and lists.
    Text,
}

/// The command-line kind of each field type.
trait KeyValue {
    const KIND: ValueKind;
}

macro_rules! key_kind {
    ($kind:ident: $($t:ty),*) => {
        $(impl KeyValue for $t {
            const KIND: ValueKind = ValueKind::$kind;
        })*
    };
}

key_kind!(Integer: u32, usize);
key_kind!(Text: String, Option<String>, PathBuf, Option<PathBuf>, SocketAddr, Dur,
    Registration, LogFormat, OriginList, CookieSecurity, ProxyList, ProxyHeader, SecretList, RoleList, Flag, DpopNonce);

/// Defines every key once: its one-line doc, type, default, the default as
/// written in a file, and its value name. From this come the [`Config`]
/// struct (and so its TOML keys), its [`Default`], and [`KEYS`], from which
/// the loader takes the `TESSERA_*` variables and the CLI its flags.
macro_rules! config_keys {
    ($(
        #[doc = $doc:literal]
        $name:ident: $ty:ty = $default:expr, $shown:literal, $value_name:literal;
    )*) => {
        /// Every setting; each field's doc is the key's help text.
        #[derive(Clone, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Config {
            $(
                #[doc = $doc]
                pub $name: $ty,
            )*
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    $($name: $default,)*
                }
            }
        }

        /// The keys accepted in files, environment and flags, in help order.
        pub const KEYS: &[KeyDoc] = &[
            $(KeyDoc {
                name: stringify!($name),
                doc: $doc,
                default: $shown,
                value_name: $value_name,
                kind: <$ty as KeyValue>::KIND,
            },)*
        ];
    };
}

const fn secs(s: u64) -> Dur {
    Dur(Duration::from_secs(s))
}

const DAY: u64 = 86_400;

config_keys! {
    /// Socket address to listen on.
    listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080)), "127.0.0.1:8080", "ADDR";
    /// Directory for the SQLite database and the server secret.
    data_dir: PathBuf = PathBuf::from("tessera-data"), "tessera-data", "DIR";
    /// `sqlite:` or `postgres:` URL of the database (default: SQLite in `data_dir`).
    database_url: Option<String> = None, "", "URL";
    /// `iss` of tokens.
    issuer: Option<String> = None, "http(s)://<listen>", "URL";
    /// `aud` of access tokens.
    audience: String = "tessera".into(), "tessera", "TEXT";
    /// Access-token lifetime (never past the session's absolute expiry).
    access_token_ttl: Dur = secs(15 * 60), "15m", "DURATION";
    /// Absolute refresh-token (session) lifetime.
    refresh_token_ttl: Dur = secs(30 * DAY), "30d", "DURATION";
    /// Idle refresh-token (session) lifetime.
    refresh_idle_ttl: Dur = secs(7 * DAY), "7d", "DURATION";
    /// Grace window for replaying the parent refresh token (0 disables).
    refresh_reuse_grace: Dur = secs(10), "10s", "DURATION";
    /// Clock-skew allowance.
    leeway: Dur = secs(30), "30s", "DURATION";
    /// DPoP (RFC 9449): how old a proof's `iat` may be (a proof from the future is allowed up to `leeway`); its `jti` is remembered this long plus `leeway`.
    dpop_iat_window: Dur = secs(60), "60s", "DURATION";
    /// DPoP server nonces (RFC 9449 §8): `on` answers a proof without the current nonce with `use_dpop_nonce` and a `DPoP-Nonce` header.
    dpop_nonce: DpopNonce = DpopNonce::Off, "off", "off|on";
    /// Algorithm of new signing keys: ES256, RS256, PS256 or EdDSA; or HS256, HS384, HS512 to sign with the shared `hs_secret`.
    signing_alg: String = "ES256".into(), "ES256", "ALG";
    /// HS mode: the shared secret that signs access tokens, base64url of 32+ bytes (48+ for HS384, 64+ for HS512); required then, never generated.
    hs_secret: Option<String> = None, "", "BASE64URL";
    /// HS mode: earlier secrets (comma-separated) that still verify tokens during a rotation.
    hs_previous_secrets: SecretList = SecretList::default(), "", "BASE64URLS";
    /// File holding the private JWK (or a JWKS of one `enc` key) that access tokens are encrypted to; its `alg` is required. Resource servers decrypt with the same key. Unset: tokens are not encrypted.
    access_token_encryption_jwk: Option<PathBuf> = None, "", "PATH";
    /// Content encryption of encrypted access tokens: A256GCM, A128GCM, A128CBC-HS256 or A256CBC-HS512.
    access_token_encryption_enc: String = "A256GCM".into(), "A256GCM", "ENC";
    /// Automatic key rotation period (0 disables).
    key_rotation_interval: Dur = secs(30 * DAY), "30d", "DURATION";
    /// How long a new key is published before it signs (also the JWKS max-age).
    key_publish_lead: Dur = secs(300), "5m", "DURATION";
    /// Who may create an account: `open` (anyone) or `closed` (operators and admins).
    registration: Registration = Registration::Open, "open", "open|closed";
    /// Argon2id memory in KiB.
    argon2_memory_kib: u32 = 19_456, "19456", "KIB";
    /// Argon2id iterations.
    argon2_iterations: u32 = 2, "2", "N";
    /// Argon2id lanes.
    argon2_parallelism: u32 = 1, "1", "N";
    /// Concurrent password hashes.
    argon2_workers: usize = 2, "2", "N";
    /// How long a Bearer check may reuse a positive session-liveness answer (other processes' revocations apply within it; 0 disables the cache; at most 60s).
    session_cache_ttl: Dur = secs(1), "1s", "DURATION";
    /// How long a client registration may be reused to authenticate the client (other processes' changes apply within it; 0 disables the cache; at most 60s).
    client_cache_ttl: Dur = secs(1), "1s", "DURATION";
    /// Largest accepted request body in bytes (413 beyond).
    max_body_bytes: usize = 16 * 1024, "16384", "BYTES";
    /// Largest accepted total size of request headers, in bytes (431 beyond).
    max_header_bytes: usize = 16 * 1024, "16384", "BYTES";
    /// Per-request timeout.
    request_timeout: Dur = secs(30), "30s", "DURATION";
    /// Log output: `human` or `json` (one object per line).
    log_format: LogFormat = LogFormat::Human, "human", "human|json";
    /// Server secret, base64url of 32+ bytes (default: `secret.key` in `data_dir`; required with PostgreSQL).
    secret: Option<String> = None, "", "BASE64URL";
    /// File holding the server secret (instead of `secret`): keeps it out of `ps` and the environment.
    secret_file: Option<PathBuf> = None, "", "PATH";
    /// Origins allowed to call the API from a browser (CORS), comma-separated; none: CORS off.
    cors_origins: OriginList = OriginList::default(), "", "ORIGINS";
    /// Proxies (CIDR blocks or addresses, comma-separated) whose `proxy_header` names the client; none: the peer address is the client.
    trusted_proxies: ProxyList = ProxyList::default(), "", "CIDRS";
    /// Which header trusted proxies write the client address into: `x-forwarded-for` or `forwarded` (RFC 7239).
    proxy_header: ProxyHeader = ProxyHeader::XForwardedFor, "x-forwarded-for", "x-forwarded-for|forwarded";
    /// Bearer token `GET /metrics` requires (`Authorization: Bearer <token>`); unset: `/metrics` is open.
    metrics_token: Option<String> = None, "", "TOKEN";
    /// Redis URL for shared login throttling and rate limits (instead of the database).
    redis_url: Option<String> = None, "", "URL";
    /// How often an instance reloads keys from the store, rotates on schedule, and updates gauges (at most `key_publish_lead`).
    maintenance_interval: Dur = secs(30), "30s", "DURATION";
    /// How long audit entries are kept (by their last occurrence); maintenance deletes older ones (0 keeps them forever).
    audit_retention: Dur = secs(90 * DAY), "90d", "DURATION";
    /// PostgreSQL: largest number of pooled connections.
    db_max_connections: u32 = 16, "16", "N";
    /// PostgreSQL: how long a request waits for a connection before a 503.
    db_acquire_timeout: Dur = secs(5), "5s", "DURATION";
    /// PostgreSQL: longest a statement may run.
    db_statement_timeout: Dur = secs(10), "10s", "DURATION";
    /// PEM certificate chain; with `tls_key`, serve HTTPS directly.
    tls_cert: Option<PathBuf> = None, "", "PATH";
    /// PEM private key for `tls_cert`.
    tls_key: Option<PathBuf> = None, "", "PATH";
    /// Failed logins allowed per account before backoff starts.
    login_max_failures: u32 = 5, "5", "N";
    /// Failed logins allowed per client IP before backoff starts.
    login_ip_max_failures: u32 = 50, "50", "N";
    /// First backoff delay (doubles with each further failure).
    login_backoff_base: Dur = secs(1), "1s", "DURATION";
    /// Longest backoff delay.
    login_backoff_max: Dur = secs(15 * 60), "15m", "DURATION";
    /// Registrations per client IP per minute (0 disables the limit).
    register_rate_per_minute: u32 = 20, "20", "N";
    /// Refreshes per client IP per minute (0 disables the limit).
    refresh_rate_per_minute: u32 = 600, "600", "N";
    /// Passwordless passkey sign-ins started (`/v1/auth/passkey/options`) per client IP per minute (0 disables the limit).
    passkey_rate_per_minute: u32 = 60, "60", "N";
    /// Refresh-cookie mode: `auto` (Secure and `__Host-` when the issuer is https), `secure`, or `insecure-dev` (plain-HTTP development only).
    cookie_security: CookieSecurity = CookieSecurity::Auto, "auto", "auto|secure|insecure-dev";
    /// SMTP server for account mail: `smtp://host:port` (plain, a local relay), `smtps://user:pass@host:465` (TLS) or `smtp://…:587?tls=required` (STARTTLS); unset: `.eml` files under `data_dir/mail/`.
    smtp_url: Option<String> = None, "", "URL";
    /// The `From` of account mail.
    mail_from: String = "Tessera <no-reply@localhost>".into(), "Tessera <no-reply@localhost>", "ADDRESS";
    /// Directory whose `<kind>.txt`/`<kind>.html` files override the embedded mail templates.
    mail_templates: Option<PathBuf> = None, "", "DIR";
    /// The product name account mail carries.
    mail_product_name: String = "Tessera".into(), "Tessera", "TEXT";
    /// How long a password-reset link works.
    password_reset_ttl: Dur = secs(30 * 60), "30m", "DURATION";
    /// The page reset links open, `?token=…` appended (default: Tessera's own `/account/reset` under the issuer).
    password_reset_url: Option<String> = None, "", "URL";
    /// The page verification and email-change links open (default: Tessera's own `/account/verify` under the issuer).
    email_verify_url: Option<String> = None, "", "URL";
    /// Refuse login (403 `email_not_verified`, after a correct password) until the user has verified their email.
    require_verified_email: Flag = Flag(false), "false", "BOOL";
    /// Every user must enrol a second factor: a login without one answers 403 `mfa_enrollment_required` with an `mfa_token` that enrols TOTP.
    require_mfa: Flag = Flag(false), "false", "BOOL";
    /// Users holding any of these roles (comma-separated) must enrol a second factor, as with `require_mfa`.
    require_mfa_roles: RoleList = RoleList::default(), "", "ROLES";
    /// How long the `mfa_token` of a login's second step works.
    mfa_token_ttl: Dur = secs(5 * 60), "5m", "DURATION";
    /// How recent an access token's `auth_time` must be to change second factors without `current_password`.
    mfa_recent_auth: Dur = secs(10 * 60), "10m", "DURATION";
    /// The product name the hosted sign-in and consent pages show (default: `mail_product_name`).
    login_product_name: Option<String> = None, "", "TEXT";
    /// A logo for the hosted pages: a path on this server (`/…`) or an `https://` URL (its origin is added to the pages' `img-src`).
    login_logo_url: Option<String> = None, "", "URL";
    /// The hosted pages' accent colour, `#rgb` or `#rrggbb` (default: the stylesheet's).
    login_accent_color: Option<String> = None, "", "COLOR";
    /// Passkeys (WebAuthn): the relying party ID, a domain that is the host of every `webauthn_origins` entry or a parent of it (default: the issuer's host; passkeys are off when that is an IP address).
    webauthn_rp_id: Option<String> = None, "the issuer's host", "DOMAIN";
    /// Passkeys: the origins (`scheme://host[:port]`, comma-separated) whose pages may run WebAuthn ceremonies (default: the issuer's origin).
    webauthn_origins: OriginList = OriginList::default(), "", "ORIGINS";
}

/// Whether DPoP proofs must carry a server nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DpopNonce {
    /// No nonces.
    Off,
    /// Every proof carries a recent server nonce.
    On,
}

/// How refresh-token cookies are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CookieSecurity {
    /// Secure when the issuer is `https://`.
    Auto,
    /// Always `Secure` with the `__Host-` prefix.
    Secure,
    /// No `Secure` attribute and no prefix (plain-HTTP development).
    InsecureDev,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_string(&self.redacted()).map_err(|_| fmt::Error)?;
        f.write_str(&json)
    }
}

impl Config {
    /// A copy with every secret replaced by `<redacted>` and the passwords
    /// of URLs hidden: what Debug and `tessera config check` show.
    pub fn redacted(&self) -> Config {
        let mut redacted = self.clone();
        if redacted.secret.is_some() {
            redacted.secret = Some("<redacted>".into());
        }
        if redacted.hs_secret.is_some() {
            redacted.hs_secret = Some("<redacted>".into());
        }
        if redacted.metrics_token.is_some() {
            redacted.metrics_token = Some("<redacted>".into());
        }
        for s in &mut redacted.hs_previous_secrets.0 {
            *s = "<redacted>".into();
        }
        if let Some(url) = &redacted.database_url {
            redacted.database_url = Some(redact_url(url));
        }
        if let Some(url) = &redacted.redis_url {
            redacted.redis_url = Some(redact_url(url));
        }
        if let Some(url) = &redacted.smtp_url {
            redacted.smtp_url = Some(redact_url(url));
        }
        redacted
    }
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:<redacted>{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A configuration problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

fn bad(key: &str, msg: impl fmt::Display) -> ConfigError {
    ConfigError(format!("`{key}`: {msg}"))
}

impl Config {
    /// Loads defaults ← `file` (if given; it must exist) ← `TESSERA_*` env ←
    /// `overrides` (flags: a map of key → value for the keys that were set).
    pub fn load(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        // Environment: only known keys, so unrelated TESSERA_* variables are ignored.
        let mut env_map = serde_json::Map::new();
        for (k, v) in env {
            if let Some(key) = k.strip_prefix("TESSERA_") {
                let key = key.to_ascii_lowercase();
                if KEYS.iter().any(|k| k.name == key) {
                    env_map.insert(key, env_value(v));
                }
            }
        }
        check::unknown_env(env)?;
        fig = fig.merge(Serialized::globals(env_map));
        fig = fig.merge(Serialized::globals(overrides.clone()));
        let cfg: Config = fig.extract().map_err(|e| {
            if let figment::error::Kind::UnknownField(name, _) = &e.kind {
                return check::unknown_file_key(name);
            }
            let key = e.path.join(".");
            let msg = e.kind.to_string();
            if key.is_empty() {
                ConfigError(msg)
            } else {
                bad(&key, msg)
            }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Loads with the process environment.
    pub fn from_process(
        file: Option<&Path>,
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load(file, &env, overrides)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.access_token_ttl.0.as_secs() == 0 {
            return Err(bad("access_token_ttl", "must be at least 1 second"));
        }
        if self.access_token_ttl.0.as_secs() > 86_400 {
            return Err(bad("access_token_ttl", "must be at most 24h"));
        }
        if self.refresh_token_ttl.0.as_secs() == 0 {
            return Err(bad("refresh_token_ttl", "must be at least 1 second"));
        }
        if self.refresh_idle_ttl.0.as_secs() == 0 {
            return Err(bad("refresh_idle_ttl", "must be at least 1 second"));
        }
        if self.refresh_reuse_grace.0.as_secs() > 300 {
            return Err(bad("refresh_reuse_grace", "must be at most 5m"));
        }
        self.hs_secrets()?;
        self.token_encryption()?;
        if self.audience.trim().is_empty() {
            return Err(bad("audience", "must not be empty"));
        }
        if let Some(iss) = &self.issuer {
            if !(iss.starts_with("https://") || iss.starts_with("http://")) {
                return Err(bad("issuer", "must be an http(s) URL"));
            }
        }
        if self.argon2_memory_kib < 8 * self.argon2_parallelism.max(1) {
            return Err(bad(
                "argon2_memory_kib",
                "must be at least 8 × argon2_parallelism",
            ));
        }
        if self.argon2_iterations == 0 {
            return Err(bad("argon2_iterations", "must be at least 1"));
        }
        if self.argon2_parallelism == 0 {
            return Err(bad("argon2_parallelism", "must be at least 1"));
        }
        if self.argon2_workers == 0 {
            return Err(bad("argon2_workers", "must be at least 1"));
        }
        if self.dpop_iat_window.0.is_zero() || self.dpop_iat_window.0 > Duration::from_secs(3600) {
            return Err(bad("dpop_iat_window", "must be between 1s and 1h"));
        }
        if self.session_cache_ttl.0 > Duration::from_secs(60) {
            return Err(bad("session_cache_ttl", "must be at most 60s"));
        }
        if self.client_cache_ttl.0 > Duration::from_secs(60) {
            return Err(bad("client_cache_ttl", "must be at most 60s"));
        }
        if let Some(r) = &self.redis_url {
            if !(r.starts_with("redis://") || r.starts_with("rediss://")) {
                return Err(bad("redis_url", "must start with redis:// or rediss://"));
            }
        }
        self.check_mail()?;
        self.check_login_brand()?;
        if self.maintenance_interval.0.is_zero() {
            return Err(bad("maintenance_interval", "must be at least 1 second"));
        }
        if self.maintenance_interval.0 > self.key_publish_lead.0 {
            return Err(bad(
                "maintenance_interval",
                "must not exceed key_publish_lead, or other instances could miss a new key before it signs",
            ));
        }
        if self.db_max_connections == 0 {
            return Err(bad("db_max_connections", "must be at least 1"));
        }
        if self.db_acquire_timeout.0.is_zero() {
            return Err(bad("db_acquire_timeout", "must be at least 1 second"));
        }
        if self.max_header_bytes < 1024 {
            return Err(bad("max_header_bytes", "must be at least 1024"));
        }
        if self.max_body_bytes < 256 {
            return Err(bad("max_body_bytes", "must be at least 256"));
        }
        if let Some(s) = &self.secret {
            match tessera_jose::b64::decode(s.trim().as_bytes(), "secret") {
                Ok(b) if b.len() >= 32 => {}
                _ => return Err(bad("secret", "must be base64url of at least 32 bytes")),
            }
        }
        if self.secret.is_some() && self.secret_file.is_some() {
            return Err(bad(
                "secret_file",
                "set either `secret` or `secret_file`, not both",
            ));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => {
                if !c.exists() {
                    return Err(bad("tls_cert", format!("{} does not exist", c.display())));
                }
                if !k.exists() {
                    return Err(bad("tls_key", format!("{} does not exist", k.display())));
                }
            }
            (Some(_), None) => return Err(bad("tls_key", "is required with tls_cert")),
            (None, Some(_)) => return Err(bad("tls_cert", "is required with tls_key")),
            (None, None) => {}
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres:")
                || url.starts_with("postgresql:"))
            {
                return Err(bad("database_url", "must start with sqlite: or postgres:"));
            }
        }
        Ok(())
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Result<Algorithm, ConfigError> {
        match self.signing_alg.as_str() {
            "ES256" => Ok(Algorithm::ES256),
            "RS256" => Ok(Algorithm::RS256),
            "PS256" => Ok(Algorithm::PS256),
            "EdDSA" => Ok(Algorithm::EdDSA),
            "HS256" => Ok(Algorithm::HS256),
            "HS384" => Ok(Algorithm::HS384),
            "HS512" => Ok(Algorithm::HS512),
            other => Err(bad(
                "signing_alg",
                format!("`{other}` is not one of ES256, RS256, PS256, EdDSA, HS256, HS384, HS512"),
            )),
        }
    }

    /// True in the shared-secret (HS256/384/512) mode.
    pub fn hs_mode(&self) -> bool {
        self.signing_alg.starts_with("HS")
    }

    /// HS mode: the decoded `hs_secret` and `hs_previous_secrets`, each
    /// long enough for the algorithm; `None` in the asymmetric modes.
    pub fn hs_secrets(&self) -> Result<Option<SharedSecrets>, ConfigError> {
        let alg = self.algorithm()?;
        if !self.hs_mode() {
            return Ok(None);
        }
        let min = match alg {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        };
        let decode = |key: &'static str, s: &str| match tessera_jose::b64::decode(
            s.trim().as_bytes(),
            key,
        ) {
            Ok(b) if b.len() >= min => Ok(Zeroizing::new(b)),
            _ => Err(bad(
                key,
                format!("must be base64url of at least {min} bytes with signing_alg = {alg}"),
            )),
        };
        let Some(current) = &self.hs_secret else {
            return Err(bad(
                "hs_secret",
                format!(
                    "is required with signing_alg = {alg}: base64url of {min}+ random bytes; \
                     Tessera never generates it"
                ),
            ));
        };
        Ok(Some(SharedSecrets {
            current: decode("hs_secret", current)?,
            previous: self
                .hs_previous_secrets
                .0
                .iter()
                .map(|s| decode("hs_previous_secrets", s))
                .collect::<Result<_, _>>()?,
        }))
    }

    /// Encrypted access tokens: the private key read from
    /// `access_token_encryption_jwk` (a JWK, or a JWKS holding one key not
    /// marked `use: "sig"`) and `access_token_encryption_enc`.
    pub fn token_encryption(&self) -> Result<Option<TokenEncryption>, ConfigError> {
        use tessera_jose::jwe::{ContentAlgorithm, DecryptionKey};
        const KEY: &str = "access_token_encryption_jwk";
        let enc: ContentAlgorithm = self.access_token_encryption_enc.parse().map_err(|_| {
            bad(
                "access_token_encryption_enc",
                "must be A128GCM, A256GCM, A128CBC-HS256 or A256CBC-HS512",
            )
        })?;
        let Some(path) = &self.access_token_encryption_jwk else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(KEY, format!("{}: {e}", path.display())))?;
        let jwk = match tessera_jose::Jwks::from_json(&text) {
            Ok(set) => {
                let mut keys = set
                    .keys
                    .into_iter()
                    .filter(|k| k.key_use.as_deref() != Some("sig"));
                match (keys.next(), keys.next()) {
                    (Some(k), None) => k,
                    _ => return Err(bad(KEY, "a JWKS here must hold exactly one encryption key")),
                }
            }
            Err(_) => tessera_jose::Jwk::from_json(&text)
                .map_err(|e| bad(KEY, format!("{} is not a JWK or JWKS: {e}", path.display())))?,
        };
        if jwk.alg.is_none() {
            return Err(bad(
                KEY,
                "the JWK must name its `alg` (e.g. RSA-OAEP-256, ECDH-ES+A256KW)",
            ));
        }
        let key = DecryptionKey::from_jwk(&jwk, None).map_err(|e| {
            bad(
                KEY,
                format!(
                    "must hold the private key, with its `alg` ({e}): Tessera reads its own \
                     access tokens (Bearer checks, introspection, revocation)"
                ),
            )
        })?;
        // One trial encryption, so that a key that cannot serve `enc` (a
        // `dir` key of another length) stops start-up, not every login.
        let options = tessera_jose::jwe::EncryptOptions::default();
        tessera_jose::jwe::encrypt(b"{}", &key.encryption_key(), enc, &options).map_err(|e| {
            bad(
                KEY,
                format!("cannot encrypt with access_token_encryption_enc = {enc:?}: {e}"),
            )
        })?;
        Ok(Some(TokenEncryption {
            key: std::sync::Arc::new(key),
            enc,
        }))
    }

    /// True when the server terminates TLS itself.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// True if the database is PostgreSQL (shared by several instances).
    pub fn shared_database(&self) -> bool {
        self.database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres:") || u.starts_with("postgresql:"))
    }

    /// The server secret: `secret`, or the contents of `secret_file`
    /// (surrounding whitespace ignored, same format), or `None` (then
    /// `secret.key` in `data_dir`).
    pub fn server_secret(&self) -> Result<Option<String>, ConfigError> {
        let Some(path) = &self.secret_file else {
            return Ok(self.secret.clone());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad("secret_file", format!("{}: {e}", path.display())))?;
        let text = text.trim();
        match tessera_jose::b64::decode(text.as_bytes(), "secret") {
            Ok(b) if b.len() >= 32 => Ok(Some(text.to_owned())),
            _ => Err(bad(
                "secret_file",
                format!(
                    "{} must hold base64url of at least 32 bytes",
                    path.display()
                ),
            )),
        }
    }

    /// Settings that work but are risky, one sentence each, for the log at
    /// start-up.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.hs_mode() {
            out.push(format!(
                "signing_alg = {}: every backend that verifies access tokens now holds \
                 `hs_secret`, a key able to mint tokens for any user; keep it to one trusted \
                 backend, or use an asymmetric signing_alg (ES256)",
                self.signing_alg
            ));
        }
        if self.shared_database() && self.issuer.is_none() {
            out.push(
                "`issuer` is not set: with PostgreSQL several instances may serve one user base, \
                 and each would name itself (http://<listen>) in `iss`, so their tokens would \
                 disagree; set `issuer` (TESSERA_ISSUER) to the public URL"
                    .to_owned(),
            );
        }
        out
    }

    /// The issuer URL (configured, or `http(s)://<listen>`).
    pub fn issuer(&self) -> String {
        let scheme = if self.tls() { "https" } else { "http" };
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// True if refresh cookies are `Secure` with the `__Host-` prefix.
    pub fn secure_cookies(&self) -> bool {
        match self.cookie_security {
            CookieSecurity::Secure => true,
            CookieSecurity::InsecureDev => false,
            CookieSecurity::Auto => self.issuer().starts_with("https://"),
        }
    }

    /// Throttling thresholds.
    pub fn throttle_config(&self) -> tessera_core::throttle::ThrottleConfig {
        use tessera_core::throttle::{BackoffPolicy, ThrottleConfig};
        let ms = |d: Dur| i64::try_from(d.0.as_millis()).unwrap_or(i64::MAX);
        let policy = |free| BackoffPolicy {
            free_failures: free,
            base_delay_ms: ms(self.login_backoff_base),
            max_delay_ms: ms(self.login_backoff_max),
            reset_after_ms: ms(self.login_backoff_max).saturating_mul(4),
        };
        ThrottleConfig {
            account: policy(self.login_max_failures),
            ip: policy(self.login_ip_max_failures),
            register_per_minute: self.register_rate_per_minute,
            refresh_per_minute: self.refresh_rate_per_minute,
            passkey_options_per_minute: self.passkey_rate_per_minute,
            ..ThrottleConfig::default()
        }
    }

    /// PostgreSQL pool settings.
    pub fn pg_pool(&self) -> tessera_store::PgPoolSettings {
        tessera_store::PgPoolSettings {
            max_connections: self.db_max_connections,
            acquire_timeout: self.db_acquire_timeout.0,
            statement_timeout: self.db_statement_timeout.0,
        }
    }

    /// The core's view of the policy.
    pub fn auth_config(&self) -> Result<AuthConfig, ConfigError> {
        Ok(AuthConfig {
            issuer: self.issuer(),
            audience: self.audience.clone(),
            access_token_ttl: self.access_token_ttl.0,
            refresh_token_ttl: self.refresh_token_ttl.0,
            refresh_idle_ttl: self.refresh_idle_ttl.0,
            refresh_reuse_grace: self.refresh_reuse_grace.0,
            leeway: self.leeway.0,
            signing_alg: self.algorithm()?,
            hs_secrets: self.hs_secrets()?,
            access_token_encryption: self.token_encryption()?,
            key_rotation_interval: self.key_rotation_interval.0,
            key_publish_lead: self.key_publish_lead.0,
            registration_open: self.registration == Registration::Open,
            argon2: Argon2Params {
                memory_kib: self.argon2_memory_kib,
                iterations: self.argon2_iterations,
                parallelism: self.argon2_parallelism,
            },
            argon2_workers: self.argon2_workers,
            session_cache_ttl: self.session_cache_ttl.0,
            client_cache_ttl: self.client_cache_ttl.0,
            audit_retention: self.audit_retention.0,
            require_verified_email: self.require_verified_email.0,
            password_reset_ttl: self.password_reset_ttl.0,
            password_reset_url: self.password_reset_url.clone(),
            email_verify_url: self.email_verify_url.clone(),
            dpop: tessera_core::config::DpopPolicy {
                iat_window: self.dpop_iat_window.0,
                nonce: self.dpop_nonce == DpopNonce::On,
            },
            webauthn: tessera_core::config::WebauthnPolicy {
                rp_id: self.webauthn_rp_id.clone(),
                origins: self
                    .webauthn_origins
                    .0
                    .iter()
                    .map(|o| o.trim_end_matches('/').to_owned())
                    .collect(),
                rp_name: self.login_product_name().to_owned(),
            },
            mfa: tessera_core::config::MfaPolicy {
                required: self.require_mfa.0,
                required_roles: self.require_mfa_roles.0.clone(),
                token_ttl: self.mfa_token_ttl.0,
                recent_auth: self.mfa_recent_auth.0,
            },
        })
    }
}

/// Env values are text; numbers are passed as numbers so numeric keys parse.
fn env_value(v: &str) -> serde_json::Value {
    match v.parse::<u64>() {
        Ok(n) => serde_json::Value::from(n),
        Err(_) => serde_json::Value::from(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_flag_over_env_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tessera.toml");
        std::fs::write(
            &file,
            "access_token_ttl = \"5m\"\naudience = \"from-file\"\nleeway = 7\n",
        )
        .unwrap();
        let env = vec![
            ("TESSERA_ACCESS_TOKEN_TTL".to_owned(), "10m".to_owned()),
            ("TESSERA_AUDIENCE".to_owned(), "from-env".to_owned()),
            (
                "TESSERA_TEST_UNRELATED_THING".to_owned(),
                "ignored".to_owned(),
            ),
        ];
        let mut flags = serde_json::Map::new();
        flags.insert("access_token_ttl".into(), "20m".into());
        let cfg = Config::load(Some(&file), &env, &flags).unwrap();
        assert_eq!(cfg.access_token_ttl.0.as_secs(), 1200, "flag wins");
        assert_eq!(cfg.audience, "from-env", "env beats file");
        assert_eq!(cfg.leeway.0.as_secs(), 7, "file beats default");
        assert_eq!(cfg.refresh_token_ttl.0.as_secs(), 30 * 86_400, "default");
    }

    #[test]
    fn bad_values_name_the_key() {
        let env = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        let none = serde_json::Map::new();
        let err = Config::load(None, &env("TESSERA_ACCESS_TOKEN_TTL", "soon"), &none).unwrap_err();
        assert!(err.0.contains("access_token_ttl"), "{err}");
        let err = Config::load(None, &env("TESSERA_SIGNING_ALG", "none"), &none).unwrap_err();
        assert!(err.0.contains("signing_alg"), "{err}");
        let err = Config::load(None, &env("TESSERA_LISTEN", "nowhere"), &none).unwrap_err();
        assert!(err.0.contains("listen"), "{err}");
        let err = Config::load(None, &env("TESSERA_REGISTRATION", "maybe"), &none).unwrap_err();
        assert!(err.0.contains("registration"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "acess_token_ttl = 5\n").unwrap();
        let err = Config::load(Some(&file), &[], &none).unwrap_err();
        assert!(
            err.0.contains("acess_token_ttl"),
            "unknown keys are named: {err}"
        );
    }

    /// The keys named in the first column of the README's configuration table.
    fn readme_keys() -> Vec<String> {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("\n## Configuration\n")
            .expect("README has a Configuration section");
        let section = &readme[start + 1..];
        let end = section[3..].find("\n#").map_or(section.len(), |e| e + 3);
        let mut keys = Vec::new();
        for line in section[..end].lines() {
            let Some(first) = line.strip_prefix("| `").map(|_| &line[1..]) else {
                continue;
            };
            let cell = first.split('|').next().unwrap_or_default();
            keys.extend(cell.split('`').skip(1).step_by(2).map(str::to_owned));
        }
        keys
    }

    #[test]
    fn the_readme_table_lists_every_key_and_nothing_else() {
        let listed = readme_keys();
        let names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        for name in &names {
            assert!(listed.iter().any(|l| l == name), "README lacks `{name}`");
        }
        for l in &listed {
            assert!(names.contains(&l.as_str()), "README lists `{l}`, not a key");
        }
        assert_eq!(listed.len(), names.len(), "each key once: {listed:?}");
    }

    #[test]
    fn the_key_table_matches_the_struct() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let fields = defaults.as_object().unwrap();
        assert_eq!(fields.len(), KEYS.len());
        for key in KEYS {
            assert!(fields.contains_key(key.name), "{}", key.name);
            assert!(
                !key.doc().is_empty() && !key.doc().contains('\n'),
                "{}",
                key.name
            );
            assert!(key.env().starts_with("TESSERA_"));
        }
    }

    #[test]
    fn each_shown_default_is_the_default() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let none = serde_json::Map::new();
        for key in KEYS {
            let default = &defaults[key.name];
            if default.is_null() {
                continue; // an unset key's text describes what applies instead
            }
            let shown = key.default_text().unwrap_or_default();
            let env = vec![(key.env(), shown.to_owned())];
            let cfg = Config::load(None, &env, &none)
                .unwrap_or_else(|e| panic!("{} = {shown:?}: {e}", key.name));
            let value = &serde_json::to_value(cfg).unwrap()[key.name];
            assert_eq!(value, default, "{}: help shows {shown:?}", key.name);
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let cfg = Config {
            secret: Some("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw".into()),
            database_url: Some("postgres://app:hunter2@db/tessera".into()),
            ..Config::default()
        };
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("c2VjcmV0"));
        assert!(!dbg.contains("hunter2"));
        assert!(dbg.contains("app:<redacted>@db"));
    }
    #[test]
    fn the_secret_can_come_from_a_file_but_not_from_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let secret = tessera_jose::b64::encode(&[5u8; 32]);
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        let cfg = Config {
            secret_file: Some(path.clone()),
            ..Config::default()
        };
        cfg.validate().unwrap();
        assert_eq!(
            cfg.server_secret().unwrap().as_deref(),
            Some(secret.as_str())
        );
        // Both: refused, naming the key.
        let both = Config {
            secret: Some(secret.clone()),
            ..cfg.clone()
        };
        assert!(both.validate().unwrap_err().0.contains("secret_file"));
        // A short or missing file: refused at start, naming the key and file.
        std::fs::write(&path, "c2hvcnQ").unwrap();
        let err = cfg.server_secret().unwrap_err().0;
        assert!(
            err.contains("secret_file") && err.contains("32 bytes"),
            "{err}"
        );
        let gone = Config {
            secret_file: Some(dir.path().join("absent")),
            ..Config::default()
        };
        assert!(gone.server_secret().unwrap_err().0.contains("absent"));
        // Without a file the `secret` key applies as before.
        let plain = Config {
            secret: Some(secret.clone()),
            ..Config::default()
        };
        assert_eq!(plain.server_secret().unwrap(), Some(secret));
    }

    #[test]
    fn postgres_without_an_issuer_is_warned_about() {
        let pg = Config {
            database_url: Some("postgres://db/tessera".into()),
            ..Config::default()
        };
        let w = pg.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("`issuer` is not set"), "{w:?}");
        let named = Config {
            issuer: Some("https://auth.example.com".into()),
            ..pg
        };
        assert!(named.warnings().is_empty());
        // SQLite is one instance: its default issuer is consistent.
        assert!(Config::default().warnings().is_empty());
    }

    fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::load(None, &env, &serde_json::Map::new())
    }

    #[test]
    fn hs_mode_needs_a_long_enough_secret_and_says_so_at_start() {
        let b64 = |n: usize| tessera_jose::b64::encode(&vec![7u8; n]);
        let err = load_env(&[("TESSERA_SIGNING_ALG", "HS256")]).unwrap_err().0;
        assert!(
            err.contains("`hs_secret`") && err.contains("required"),
            "{err}"
        );
        for (alg, min) in [("HS256", 32), ("HS384", 48), ("HS512", 64)] {
            let short = b64(min - 1);
            let err = load_env(&[("TESSERA_SIGNING_ALG", alg), ("TESSERA_HS_SECRET", &short)])
                .unwrap_err()
                .0;
            assert!(
                err.contains("`hs_secret`") && err.contains(&min.to_string()),
                "{err}"
            );
            let ok = b64(min);
            let cfg =
                load_env(&[("TESSERA_SIGNING_ALG", alg), ("TESSERA_HS_SECRET", &ok)]).unwrap();
            assert_eq!(cfg.hs_secrets().unwrap().unwrap().current.len(), min);
            let w = cfg.warnings();
            assert!(w.iter().any(|l| l.contains("able to mint tokens")), "{w:?}");
        }
        let (new, old) = (b64(32), tessera_jose::b64::encode(&[9u8; 32]));
        let both = format!("{old}, {}", b64(40));
        let cfg = load_env(&[
            ("TESSERA_SIGNING_ALG", "HS256"),
            ("TESSERA_HS_SECRET", &new),
            ("TESSERA_HS_PREVIOUS_SECRETS", &both),
        ])
        .unwrap();
        assert_eq!(cfg.hs_secrets().unwrap().unwrap().previous.len(), 2);
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains(&new) && !dbg.contains(&old), "{dbg}");
        let err = load_env(&[
            ("TESSERA_SIGNING_ALG", "HS256"),
            ("TESSERA_HS_SECRET", &new),
            ("TESSERA_HS_PREVIOUS_SECRETS", "c2hvcnQ"),
        ])
        .unwrap_err()
        .0;
        assert!(err.contains("hs_previous_secrets"), "{err}");
        // Asymmetric modes ignore the HS keys and warn about nothing.
        assert!(load_env(&[]).unwrap().hs_secrets().unwrap().is_none());
    }
}
