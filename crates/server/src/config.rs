//! Server configuration: `tessera.toml`, then `TESSERA_<KEY>` environment
//! variables, then command-line flags, each overriding the one before.

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tessera_core::config::Argon2Params;
use tessera_core::AuthConfig;
use tessera_jose::Algorithm;

/// A duration written as seconds (`900`) or with a unit (`15m`, `30d`, `10s`, `2h`, `1w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Dur(pub Duration);

impl From<Dur> for String {
    fn from(d: Dur) -> String {
        if d.0.subsec_millis() == 0 {
            format!("{}s", d.0.as_secs())
        } else {
            format!("{}ms", d.0.as_millis())
        }
    }
}

impl Dur {
    /// Parses `250ms`, `900`, `900s`, `15m`, `2h`, `30d` or `1w`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (use e.g. 900, 15m, 30d)"))?;
        if unit.trim() == "ms" {
            return Ok(Dur(Duration::from_millis(n)));
        }
        let mult = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => {
                return Err(format!(
                    "`{text}` has an unknown unit (use ms, s, m, h, d or w)"
                ))
            }
        };
        n.checked_mul(mult)
            .map(|s| Dur(Duration::from_secs(s)))
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 900, \"15m\" or \"30d\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur(Duration::from_secs(v)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map(|s| Dur(Duration::from_secs(s)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dur, E> {
                Dur::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

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

/// Every setting. See `tessera.example.toml` for documentation of each key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Socket address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and the server secret.
    pub data_dir: PathBuf,
    /// `sqlite:` or `postgres:` URL; default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// `iss` of tokens; default `http://<listen>`.
    pub issuer: Option<String>,
    /// `aud` of access tokens.
    pub audience: String,
    /// Access-token lifetime.
    pub access_token_ttl: Dur,
    /// Absolute refresh-token (session) lifetime.
    pub refresh_token_ttl: Dur,
    /// Idle refresh-token lifetime.
    pub refresh_idle_ttl: Dur,
    /// Grace window for replaying the parent refresh token; 0 disables.
    pub refresh_reuse_grace: Dur,
    /// Clock-skew allowance.
    pub leeway: Dur,
    /// Algorithm of new signing keys: ES256, RS256, PS256 or EdDSA.
    pub signing_alg: String,
    /// Automatic key rotation period; 0 disables.
    pub key_rotation_interval: Dur,
    /// How long a new key is published before it signs (also the JWKS max-age).
    pub key_publish_lead: Dur,
    /// `open` or `closed`.
    pub registration: Registration,
    /// Argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// Concurrent password hashes.
    pub argon2_workers: usize,
    /// How long a Bearer check may reuse a positive session-liveness answer
    /// (other processes' revocations apply within it; 0 disables the cache).
    pub session_cache_ttl: Dur,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted total size of request headers, in bytes (431 beyond).
    pub max_header_bytes: usize,
    /// Per-request timeout.
    pub request_timeout: Dur,
    /// `human` or `json`.
    pub log_format: LogFormat,
    /// Server secret (base64url, 32+ bytes). Default: `secret.key` in `data_dir`.
    pub secret: Option<String>,
    /// Origins allowed to call the API from a browser (CORS); empty: CORS off.
    pub cors_origins: OriginList,
    /// Redis URL for shared login throttling and rate limits (instead of the database).
    pub redis_url: Option<String>,
    /// How often an instance reloads keys from the store, rotates on
    /// schedule, and updates gauges (bounds how fast new keys are picked up).
    pub maintenance_interval: Dur,
    /// PostgreSQL: largest number of pooled connections.
    pub db_max_connections: u32,
    /// PostgreSQL: how long a request waits for a connection before a 503.
    pub db_acquire_timeout: Dur,
    /// PostgreSQL: longest a statement may run.
    pub db_statement_timeout: Dur,
    /// PEM certificate chain; with `tls_key`, serve HTTPS directly.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Failed logins allowed per account before backoff starts.
    pub login_max_failures: u32,
    /// Failed logins allowed per client IP before backoff starts.
    pub login_ip_max_failures: u32,
    /// First backoff delay (doubles with each further failure).
    pub login_backoff_base: Dur,
    /// Longest backoff delay.
    pub login_backoff_max: Dur,
    /// Registrations per client IP per minute (0 disables the limit).
    pub register_rate_per_minute: u32,
    /// Refreshes per client IP per minute (0 disables the limit).
    pub refresh_rate_per_minute: u32,
    /// Cookie mode: `auto` (Secure and `__Host-` when the issuer is https),
    /// `secure`, or `insecure-dev` (plain-HTTP development only).
    pub cookie_security: CookieSecurity,
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

/// A list of origins, given as a TOML array or a comma-separated string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OriginList(pub Vec<String>);

impl<'de> Deserialize<'de> for OriginList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let list = match Raw::deserialize(d)? {
            Raw::One(s) => s
                .split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect(),
            Raw::Many(v) => v,
        };
        for o in &list {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && o.matches('/').count() == 2;
            if !ok {
                return Err(serde::de::Error::custom(format!(
                    "`{o}` is not an origin (scheme://host[:port], no path)"
                )));
            }
        }
        Ok(OriginList(list))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut redacted = self.clone();
        if redacted.secret.is_some() {
            redacted.secret = Some("<redacted>".into());
        }
        if let Some(url) = &redacted.database_url {
            redacted.database_url = Some(redact_url(url));
        }
        if let Some(url) = &redacted.redis_url {
            redacted.redis_url = Some(redact_url(url));
        }
        let json = serde_json::to_string(&redacted).map_err(|_| fmt::Error)?;
        f.write_str(&json)
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

impl Default for Config {
    fn default() -> Self {
        let d = Duration::from_secs;
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("tessera-data"),
            database_url: None,
            issuer: None,
            audience: "tessera".into(),
            access_token_ttl: Dur(d(15 * 60)),
            refresh_token_ttl: Dur(d(30 * 86_400)),
            refresh_idle_ttl: Dur(d(7 * 86_400)),
            refresh_reuse_grace: Dur(d(10)),
            leeway: Dur(d(30)),
            signing_alg: "ES256".into(),
            key_rotation_interval: Dur(d(30 * 86_400)),
            key_publish_lead: Dur(d(300)),
            registration: Registration::Open,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            argon2_workers: 2,
            session_cache_ttl: Dur(Duration::from_secs(1)),
            max_body_bytes: 16 * 1024,
            max_header_bytes: 16 * 1024,
            request_timeout: Dur(d(30)),
            log_format: LogFormat::Human,
            secret: None,
            cors_origins: OriginList::default(),
            cookie_security: CookieSecurity::Auto,
            redis_url: None,
            maintenance_interval: Dur(d(30)),
            db_max_connections: 16,
            db_acquire_timeout: Dur(d(5)),
            db_statement_timeout: Dur(d(10)),
            tls_cert: None,
            tls_key: None,
            login_max_failures: 5,
            login_ip_max_failures: 50,
            login_backoff_base: Dur(d(1)),
            login_backoff_max: Dur(d(15 * 60)),
            register_rate_per_minute: 20,
            refresh_rate_per_minute: 600,
        }
    }
}

/// The keys accepted in files, environment and flags.
pub const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "issuer",
    "audience",
    "access_token_ttl",
    "refresh_token_ttl",
    "refresh_idle_ttl",
    "refresh_reuse_grace",
    "leeway",
    "signing_alg",
    "key_rotation_interval",
    "key_publish_lead",
    "registration",
    "argon2_memory_kib",
    "argon2_iterations",
    "argon2_parallelism",
    "argon2_workers",
    "session_cache_ttl",
    "max_body_bytes",
    "max_header_bytes",
    "request_timeout",
    "log_format",
    "secret",
    "cors_origins",
    "cookie_security",
    "redis_url",
    "maintenance_interval",
    "db_max_connections",
    "db_acquire_timeout",
    "db_statement_timeout",
    "tls_cert",
    "tls_key",
    "login_max_failures",
    "login_ip_max_failures",
    "login_backoff_base",
    "login_backoff_max",
    "register_rate_per_minute",
    "refresh_rate_per_minute",
];

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
                if KEYS.contains(&key.as_str()) {
                    env_map.insert(key, env_value(v));
                }
            }
        }
        fig = fig.merge(Serialized::globals(env_map));
        fig = fig.merge(Serialized::globals(overrides.clone()));
        let cfg: Config = fig.extract().map_err(|e| {
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
        self.algorithm()?;
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
        if self.session_cache_ttl.0 > Duration::from_secs(60) {
            return Err(bad("session_cache_ttl", "must be at most 60s"));
        }
        if let Some(r) = &self.redis_url {
            if !(r.starts_with("redis://") || r.starts_with("rediss://")) {
                return Err(bad("redis_url", "must start with redis:// or rediss://"));
            }
        }
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
            other => Err(bad(
                "signing_alg",
                format!("`{other}` is not one of ES256, RS256, PS256, EdDSA"),
            )),
        }
    }

    /// True when the server terminates TLS itself.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
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
    fn durations() {
        assert_eq!(Dur::parse("900").unwrap().0.as_secs(), 900);
        assert_eq!(Dur::parse("15m").unwrap().0.as_secs(), 900);
        assert_eq!(Dur::parse("30d").unwrap().0.as_secs(), 2_592_000);
        assert_eq!(Dur::parse("2h").unwrap().0.as_secs(), 7200);
        assert!(Dur::parse("15x").is_err());
        assert!(Dur::parse("m").is_err());
        assert!(Dur::parse("-5").is_err());
    }

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
            ("TESSERA_UNRELATED_THING".to_owned(), "ignored".to_owned()),
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
}
