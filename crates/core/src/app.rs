//! [`App`]: every service, built once over one store, one clock and one
//! server secret. [`App::open`] is what a process calls at start-up (the HTTP
//! server, and the CLI's admin commands without any HTTP).

use crate::accounts::Accounts;
use crate::audit::Audit;
use crate::config::AuthConfig;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::feed::Feed;
use crate::lifecycle::{Lifecycle, Links};
use crate::mail::{
    DiscardMailer, FileMailer, MailConfig, MailError, Mailer, Outbox, SmtpMailer, Templates,
};
use crate::maintenance::Maintenance;
use crate::oauth::{Clients, OAuth};
use crate::oidc::Oidc;
use crate::secret::ServerSecret;
use crate::sessions::Sessions;
use crate::throttle::{Limiter, SharedThrottle, Throttle, ThrottleConfig};
use crate::tokens::Tokens;
use std::path::PathBuf;
use std::sync::Arc;
use tessera_jose::Clock;
use tessera_store::{PgPoolSettings, Store};
use zeroize::Zeroizing;

/// Everything [`App::open`] needs. `Debug` hides the secret.
#[derive(Clone)]
pub struct AppConfig {
    /// `sqlite:` or `postgres:` URL; `None`: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Directory of the SQLite database and of a generated `secret.key`.
    pub data_dir: PathBuf,
    /// PostgreSQL pool settings.
    pub pg_pool: PgPoolSettings,
    /// The server secret (base64url); `None`: `secret.key` in `data_dir`,
    /// created on first start (refused with PostgreSQL).
    pub secret: Option<Zeroizing<String>>,
    /// Redis for shared throttling state; `None`: the database when it is
    /// shared (PostgreSQL), else memory.
    pub redis_url: Option<String>,
    /// The token and password policy.
    pub auth: AuthConfig,
    /// Login backoff and rate limits.
    pub throttle: ThrottleConfig,
    /// Mail delivery and templates.
    pub mail: MailConfig,
}

impl AppConfig {
    /// Defaults, with SQLite and the secret in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        AppConfig {
            database_url: None,
            data_dir: data_dir.into(),
            pg_pool: PgPoolSettings::default(),
            secret: None,
            redis_url: None,
            auth: AuthConfig::default(),
            throttle: ThrottleConfig::default(),
            mail: MailConfig::default(),
        }
    }

    fn shared_db(&self) -> bool {
        self.database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres:") || u.starts_with("postgresql:"))
    }
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("data_dir", &self.data_dir)
            .field("auth", &self.auth)
            .field("throttle", &self.throttle)
            .field("mail", &self.mail)
            .finish_non_exhaustive()
    }
}

/// Tessera's rules as services with one job each. Cloning is cheap; every
/// clone shares the same state.
///
/// Room is left for the services of the next issues (OAuth authorization
/// codes and consent, MFA, DPoP): each becomes one more field here over the
/// same private context, as [`Lifecycle`] (issue 15) did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct App {
    /// Registration, users, roles.
    pub accounts: Accounts,
    /// Login, refresh, logout, the session list, the Bearer check.
    pub sessions: Sessions,
    /// Signing keys: JWKS, rotation.
    pub tokens: Tokens,
    /// The OAuth client registry.
    pub clients: Clients,
    /// The OAuth token endpoint's grants, revocation, introspection.
    pub oauth: OAuth,
    /// The OpenID Connect provider: authorization requests, SSO sessions,
    /// consent, codes, ID tokens, userinfo, logout.
    pub oidc: Oidc,
    /// The revocation feed.
    pub feed: Feed,
    /// Password change and reset, email verification and change, account
    /// deletion, disabling.
    pub lifecycle: Lifecycle,
    /// Reading the audit log.
    pub audit: Audit,
    /// Scheduled maintenance and readiness.
    pub maintenance: Maintenance,
    /// DPoP proofs (RFC 9449) and server nonces.
    pub dpop: crate::Dpop,
    /// Passkeys (WebAuthn): registration, sign-in, removal.
    pub passkeys: crate::Passkeys,
    /// Second factors (TOTP, recovery codes) and the second step of logins.
    pub mfa: crate::Mfa,
}

impl App {
    /// Opens the store (running migrations), loads or creates the server
    /// secret and the signing keys, and builds the throttle: in Redis when
    /// configured, else in the database when it is shared, else in memory.
    pub async fn open(cfg: AppConfig, clock: Arc<dyn Clock>) -> Result<App> {
        let store =
            tessera_store::open_with(cfg.database_url.as_deref(), &cfg.data_dir, cfg.pg_pool)
                .await?;
        let shared_db = cfg.shared_db();
        if shared_db && cfg.secret.is_none() {
            return Err(Error::Config {
                key: "secret",
                message: "is required with PostgreSQL, so that every instance seals keys and \
                          derives refresh tokens alike (generate one with `tessera gen-secret`)"
                    .into(),
            });
        }
        let secret = match &cfg.secret {
            Some(s) => {
                let bytes =
                    tessera_jose::b64::decode(s.trim().as_bytes(), "secret").map_err(|_| {
                        Error::Config {
                            key: "secret",
                            message: "not base64url".into(),
                        }
                    })?;
                ServerSecret::from_bytes(&Zeroizing::new(bytes))?
            }
            None => ServerSecret::load_or_create(&cfg.data_dir)?,
        };
        let templates = Templates::load(cfg.mail.templates.as_deref(), &cfg.mail.product_name)?;
        let mailer = mailer(&cfg)?;
        let ctx = Ctx::new(store.clone(), secret, cfg.auth, clock).await?;
        // The DPoP replay cache is shared like the throttle: in Redis when
        // configured, else in the database (one row per proof, expiring).
        let dpop_kv: Arc<dyn tessera_store::Kv> = match &cfg.redis_url {
            Some(url) => Arc::new(tessera_store::RedisKv::connect(url, "tessera:dpop:").await?),
            None => store.clone().into_kv(),
        };
        // Several instances: throttling is shared too, in Redis when
        // configured, else in the shared database.
        let limiter = if let Some(url) = &cfg.redis_url {
            let kv = tessera_store::RedisKv::connect(url, "tessera:throttle:").await?;
            Limiter::Shared(SharedThrottle::new(Arc::new(kv), cfg.throttle))
        } else if shared_db {
            Limiter::Shared(SharedThrottle::new(store.into_kv(), cfg.throttle))
        } else {
            // `tessera users unlock` runs in another process: it leaves its
            // unlocks in the database.
            Limiter::Memory(Throttle::new(cfg.throttle).with_unlocks(store.into_kv()))
        };
        let outbox = Outbox::start(mailer, RETRY_BACKOFF);
        Self::assemble(ctx, limiter, outbox, templates, dpop_kv)
    }

    /// The services over an open store (embedding, tests), loading or
    /// creating the signing keys. Mail goes nowhere (see
    /// [`App::new_with_mailer`]).
    pub async fn new(
        store: Arc<dyn Store>,
        secret: ServerSecret,
        cfg: AuthConfig,
        limiter: Limiter,
        clock: Arc<dyn Clock>,
    ) -> Result<App> {
        Self::new_with_mailer(
            store,
            secret,
            cfg,
            limiter,
            clock,
            Arc::new(DiscardMailer),
            Templates::load(None, "Tessera")?,
        )
        .await
    }

    /// Like [`App::new`], with mail delivered by `mailer` (the
    /// [`MemoryMailer`](crate::mail::MemoryMailer) in tests) from `templates`.
    pub async fn new_with_mailer(
        store: Arc<dyn Store>,
        secret: ServerSecret,
        cfg: AuthConfig,
        limiter: Limiter,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        templates: Templates,
    ) -> Result<App> {
        let dpop_kv = store.clone().into_kv();
        let ctx = Ctx::new(store, secret, cfg, clock).await?;
        let outbox = Outbox::start(mailer, RETRY_BACKOFF);
        Self::assemble(ctx, limiter, outbox, templates, dpop_kv)
    }

    fn assemble(
        ctx: Ctx,
        limiter: Limiter,
        outbox: Outbox,
        templates: Templates,
        dpop_kv: Arc<dyn tessera_store::Kv>,
    ) -> Result<App> {
        let ctx = Arc::new(ctx);
        let limiter = Arc::new(limiter);
        let sessions = Sessions::new(ctx.clone(), limiter.clone());
        let oidc = Oidc::new(ctx.clone(), sessions.clone());
        let links = Arc::new(Links::new(&ctx, outbox, templates));
        let lifecycle = Lifecycle::new(ctx.clone(), limiter.clone(), links.clone());
        let mfa = crate::Mfa::new(
            ctx.clone(),
            limiter.clone(),
            sessions.clone(),
            lifecycle.clone(),
            links.clone(),
        );
        let passkeys = crate::Passkeys::new(
            ctx.clone(),
            sessions.clone(),
            links,
            mfa.clone(),
            limiter.clone(),
        )?;
        Ok(App {
            oauth: OAuth::new(ctx.clone(), sessions.clone(), oidc.clone(), mfa.clone()),
            mfa,
            accounts: Accounts::new(ctx.clone(), limiter, lifecycle.clone()),
            lifecycle,
            oidc,
            sessions,
            tokens: Tokens::new(ctx.clone()),
            clients: Clients::new(ctx.clone()),
            feed: Feed::new(ctx.clone()),
            audit: Audit::new(ctx.clone()),
            dpop: crate::Dpop::new(ctx.clone(), dpop_kv),
            maintenance: Maintenance::new(ctx),
            passkeys,
        })
    }
}

/// The first retry delay of a mail that could not be sent (doubled on each
/// further attempt).
const RETRY_BACKOFF: std::time::Duration = std::time::Duration::from_secs(2);

/// The mailer `cfg` asks for: SMTP with `smtp_url`, else `.eml` files under
/// `data_dir/mail/` (said once at start-up).
fn mailer(cfg: &AppConfig) -> Result<Arc<dyn Mailer>> {
    let bad = |e: MailError| Error::Config {
        key: match &e {
            MailError::Address(w) if w == "smtp_url" => "smtp_url",
            _ => "mail_from",
        },
        message: e.to_string(),
    };
    match &cfg.mail.smtp_url {
        Some(url) => Ok(Arc::new(SmtpMailer::new(url, &cfg.mail.from).map_err(bad)?)),
        None => {
            let dir = cfg.data_dir.join("mail");
            let m = FileMailer::new(&dir, &cfg.mail.from).map_err(bad)?;
            tracing::info!(
                dir = %dir.display(),
                "mail: no smtp_url; messages are written as .eml files"
            );
            Ok(Arc::new(m))
        }
    }
}
