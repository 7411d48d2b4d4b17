//! # tessera-server
//!
//! Tessera's HTTP face: an axum [`router`] over the rules in `tessera-core`,
//! the configuration loader, and [`spawn`] to run it on a socket.
//!
//! Layout (no two files import each other): `routes/` holds the handlers by
//! area (`auth`, `account`, `lifecycle`, `admin`, `wellknown`, `health`); `oauth` the RFC
//! 6749/7009/7662 endpoints; `feed` the revocation feed; `respond` the answer
//! shapes they share; `extract` the extractors, each with one rejection type
//! ([`ApiError`]); `dpop` DPoP proofs (RFC 9449) at the edge: the proof
//! header, the URL proofs must name, the token endpoints' extractor and the
//! resource check behind `Bearer`; `cookie` cookie mode and its CSRF check;
//! `web` the embedded pages; `console` the admin console's OAuth client; `pages` the server-rendered account pages, the
//! hosted OpenID Connect sign-in (login, consent, logout, SSO cookie) and
//! their CSRF; `observe` request ids, logs and per-route metrics; `registry` the
//! Prometheus registry and its upkeep; `openapi` the document, generated from
//! the handlers and the `tessera-api` types they take and return; `config`
//! every configuration key, defined once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tessera_server::StartError> {
//! use std::sync::Arc;
//! use tessera_server::{config::Config, spawn};
//!
//! let cfg = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
//! let server = spawn(cfg, Arc::new(tessera_jose::SystemClock)).await?;
//! println!("listening on {}", server.addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod client_ip;
pub mod config;
pub mod console;
pub mod cookie;
pub mod dpop;
mod error;
pub mod extract;
mod feed;
mod oauth;
pub mod observe;
mod openapi;
mod pages;
mod registry;
mod respond;
mod routes;
mod state;
mod web;

pub use error::{ApiError, ApiResult};
pub use registry::Metrics;
pub use state::AppState;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use config::Config;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::App;
use tessera_jose::Clock;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why the server could not start.
#[non_exhaustive]
#[derive(Debug)]
pub enum StartError {
    /// Bad configuration (names the key).
    Config(config::ConfigError),
    /// The store could not be opened or migrated.
    Store(tessera_store::StoreError),
    /// The core refused to start (for example, keys that do not unseal).
    Core(tessera_core::Error),
    /// The socket could not be bound.
    Bind(std::io::Error),
    /// The Prometheus recorder could not be built or installed.
    Metrics(metrics_exporter_prometheus::BuildError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "{e}"),
            StartError::Store(e) => write!(f, "store: {e}"),
            StartError::Core(e) => write!(f, "{e}"),
            StartError::Bind(e) => write!(f, "cannot listen: {e}"),
            StartError::Metrics(e) => write!(f, "metrics: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(e) => Some(e),
            StartError::Store(e) => Some(e),
            StartError::Core(e) => Some(e),
            StartError::Bind(e) => Some(e),
            StartError::Metrics(e) => Some(e),
        }
    }
}

impl From<metrics_exporter_prometheus::BuildError> for StartError {
    fn from(e: metrics_exporter_prometheus::BuildError) -> Self {
        StartError::Metrics(e)
    }
}

/// The core's settings from the server's configuration.
pub fn app_config(cfg: &Config) -> Result<tessera_core::AppConfig, StartError> {
    let mut app = tessera_core::AppConfig::new(cfg.data_dir.clone());
    app.auth = cfg.auth_config().map_err(StartError::Config)?;
    app.database_url = cfg.database_url.clone();
    app.pg_pool = cfg.pg_pool();
    app.secret = cfg
        .server_secret()
        .map_err(StartError::Config)?
        .map(Into::into);
    app.redis_url = cfg.redis_url.clone();
    app.throttle = cfg.throttle_config();
    app.mail = cfg.mail_config();
    Ok(app)
}

/// Opens the core (store, secret, keys, throttle) for this configuration,
/// without any HTTP: what the CLI's admin commands use.
pub async fn open_app(cfg: &Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
    App::open(app_config(cfg)?, clock)
        .await
        .map_err(start_error)
}

/// Sorts the core's start-up failures into configuration, store and core.
fn start_error(e: tessera_core::Error) -> StartError {
    use tessera_core::Error as E;
    use tessera_store::StoreError;
    match e {
        E::Config { key, message } => {
            StartError::Config(config::ConfigError(format!("`{key}`: {message}")))
        }
        E::Unavailable(c) if c.is::<StoreError>() => match c.downcast::<StoreError>() {
            Ok(s) => StartError::Store(*s),
            Err(c) => StartError::Core(E::Unavailable(c)),
        },
        E::Internal(c) if c.is::<StoreError>() => match c.downcast::<StoreError>() {
            Ok(s) => StartError::Store(*s),
            Err(c) => StartError::Core(E::Internal(c)),
        },
        other => StartError::Core(other),
    }
}

/// Builds the shared state: the core's services and the configuration.
pub async fn build_state(cfg: Config, clock: Arc<dyn Clock>) -> Result<AppState, StartError> {
    let app = open_app(&cfg, clock).await?;
    Ok(AppState {
        app: Arc::new(app),
        config: Arc::new(cfg),
        closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        metrics: None,
    })
}

/// CORS for the configured origins; `None` (no CORS headers at all) by default.
fn cors(cfg: &Config) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if cfg.cors_origins.0.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = cfg
        .cors_origins
        .0
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static(cookie::CSRF_HEADER),
                dpop::PROOF_HEADER,
            ])
            // A browser client reads nonces and DPoP challenges (RFC 9449).
            .expose_headers([dpop::NONCE_HEADER, header::WWW_AUTHENTICATE])
            .max_age(Duration::from_secs(600)),
    )
}

/// The documented API: every route, declared once by its handler's
/// `#[utoipa::path]`, and the OpenAPI document generated from the same list.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(routes::auth::register))
        .routes(routes!(routes::auth::login))
        .routes(routes!(routes::auth::refresh))
        .routes(routes!(routes::auth::logout))
        .routes(routes!(routes::auth::logout_all))
        .routes(routes!(routes::mfa::complete_mfa))
        .routes(routes!(routes::mfa::enroll_totp))
        .routes(routes!(routes::mfa::confirm_enrolled_totp))
        .routes(routes!(routes::mfa_account::mfa_state))
        .routes(routes!(
            routes::mfa_account::begin_totp,
            routes::mfa_account::remove_totp
        ))
        .routes(routes!(routes::mfa_account::confirm_totp))
        .routes(routes!(routes::mfa_account::regenerate_recovery_codes))
        .routes(routes!(routes::mfa_account::admin_reset_mfa))
        .routes(routes!(routes::account::me))
        .routes(routes!(routes::account::sessions))
        .routes(routes!(routes::account::end_session))
        .routes(routes!(feed::revocations))
        .routes(routes!(routes::front::front_door))
        .routes(routes!(routes::admin::admin_users))
        .routes(routes!(routes::admin::admin_user))
        .routes(routes!(routes::admin::admin_end_session))
        .routes(routes!(routes::audit::admin_overview))
        .routes(routes!(routes::admin::admin_set_roles))
        .routes(routes!(routes::admin::admin_revoke_sessions))
        .routes(routes!(routes::admin::admin_keys))
        .routes(routes!(routes::admin::admin_rotate_keys))
        .routes(routes!(routes::admin::admin_revoke_key))
        .routes(routes!(routes::audit::admin_audit))
        .routes(routes!(routes::lifecycle::change_password))
        .routes(routes!(routes::lifecycle::forgot_password))
        .routes(routes!(routes::lifecycle::reset_password))
        .routes(routes!(routes::lifecycle::verify_email))
        .routes(routes!(routes::lifecycle::resend_verification))
        .routes(routes!(routes::lifecycle::change_email))
        .routes(routes!(routes::lifecycle::delete_account))
        .routes(routes!(routes::lifecycle::admin_disable_user))
        .routes(routes!(routes::lifecycle::admin_enable_user))
        .routes(routes!(routes::lifecycle::admin_delete_user))
        .routes(routes!(routes::lifecycle::admin_password_reset))
        .routes(routes!(oauth::token))
        .routes(routes!(oauth::revoke))
        .routes(routes!(oauth::introspect))
        .routes(routes!(routes::oidc::userinfo, routes::oidc::userinfo_post))
        .routes(routes!(routes::oidc::consents))
        .routes(routes!(routes::oidc::revoke_consent))
        .routes(routes!(
            routes::oidc::admin_clients,
            routes::oidc::admin_create_client
        ))
        .routes(routes!(
            routes::oidc::admin_update_client,
            routes::oidc::admin_delete_client
        ))
        .routes(routes!(routes::oidc::admin_rotate_client_secret))
        .routes(routes!(routes::passkeys::registration_options))
        .routes(routes!(routes::passkeys::list, routes::passkeys::register))
        .routes(routes!(routes::passkeys::remove))
        .routes(routes!(routes::passkeys::sign_in_options))
        .routes(routes!(routes::passkeys::sign_in))
        .routes(routes!(routes::passkeys::mfa_options))
        .routes(routes!(routes::wellknown::jwks))
        .routes(routes!(routes::wellknown::discovery))
        .routes(routes!(routes::wellknown::oauth_authorization_server))
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::health::render))
        .split_for_parts()
}

/// The HTTP API.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let timeout = state.config.request_timeout.0;
    let cors = cors(&state.config);
    let header_limit = state.config.max_header_bytes;
    let (api, doc) = api();
    api.merge(openapi::routes(doc))
        .merge(web::routes())
        .merge(pages::routes(body_limit))
        .route_layer(axum::middleware::from_fn(observe::metrics))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            timeout,
            error::deadline,
        ))
        .layer(tower::util::option_layer(cors))
        .layer(axum::middleware::from_fn_with_state(
            header_limit,
            error::header_cap,
        ))
        .layer(axum::middleware::from_fn(observe::trace))
        .with_state(state)
}

/// How long a stopping server waits for queued account mail to leave.
pub const MAIL_DRAIN: Duration = Duration::from_secs(10);

/// A running server.
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    maintenance: JoinHandle<()>,
    upkeep: Option<JoinHandle<()>>,
}

impl RunningServer {
    fn stop_background(&self) {
        self.maintenance.abort();
        if let Some(u) = &self.upkeep {
            u.abort();
        }
    }
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state (for tests and the CLI).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish, gives queued mail
    /// [`MAIL_DRAIN`] to leave, and waits.
    pub async fn shutdown(mut self) {
        self.stop_background();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        self.drain_mail().await;
    }

    /// Waits until the server stops by itself (after a shutdown signal),
    /// then gives queued mail [`MAIL_DRAIN`] to leave.
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
        self.stop_background();
        self.drain_mail().await;
    }

    async fn drain_mail(&self) {
        if !self.state.app.lifecycle.flush_mail(MAIL_DRAIN).await {
            tracing::warn!("shutting down with account mail still queued (see the mail log lines)");
        }
    }
}

/// How [`spawn_with`] runs the server.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// The Prometheus registry to serve at `/metrics` and keep drained
    /// (see [`Metrics::install`]); `None` answers `/metrics` with 404.
    pub metrics: Option<Metrics>,
    /// Also stop gracefully on SIGTERM or Ctrl-C.
    pub signals: bool,
    /// Register the admin console's OAuth client if it is missing
    /// ([`console::seed`]); `tessera serve` does.
    pub console_client: bool,
}

impl Options {
    /// Serve `/metrics` from `metrics` and run its upkeep.
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Stop gracefully on SIGTERM or Ctrl-C as well.
    pub fn signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// Register the admin console's client at start when it is missing.
    pub fn console_client(mut self, on: bool) -> Self {
        self.console_client = on;
        self
    }
}

/// Builds the state, binds `cfg.listen`, and serves in the background until
/// [`RunningServer::shutdown`]. No metrics, no signal handling: see [`spawn_with`].
pub async fn spawn(cfg: Config, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    spawn_with(cfg, clock, Options::default()).await
}

/// Like [`spawn`], with [`Options`]: metrics (and their upkeep task, owned by
/// the returned server) and signal handling.
pub async fn spawn_with(
    cfg: Config,
    clock: Arc<dyn Clock>,
    opts: Options,
) -> Result<RunningServer, StartError> {
    let signals = opts.signals;
    let listen = cfg.listen;
    let tls = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| {
                    StartError::Config(config::ConfigError(format!(
                        "`tls_cert`/`tls_key`: cannot load the certificate and key: {e}"
                    )))
                })?,
        ),
        _ => None,
    };
    let mut state = build_state(cfg, clock).await?;
    state.metrics = opts.metrics;
    if opts.console_client {
        console::seed(&state.app, &state.config).await;
    }
    let listener = std::net::TcpListener::bind(listen).map_err(StartError::Bind)?;
    listener.set_nonblocking(true).map_err(StartError::Bind)?;
    let addr = listener.local_addr().map_err(StartError::Bind)?;
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = oneshot::channel::<()>();
    let closing = state.closing.clone();
    let stop = async move {
        if signals {
            tokio::select! {
                _ = rx => {},
                _ = shutdown_signal() => {},
            }
        } else {
            let _ = rx.await;
        }
        closing.send_replace(true);
    };
    let task = match tls {
        Some(tls) => {
            let server = axum_server::from_tcp_rustls(listener, tls).map_err(StartError::Bind)?;
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                stop.await;
                h.graceful_shutdown(Some(Duration::from_secs(30)));
            });
            tokio::spawn(async move {
                if let Err(e) = server.handle(handle).serve(app).await {
                    tracing::error!(error = %e, "server stopped with an error");
                }
            })
        }
        None => {
            let listener = tokio::net::TcpListener::from_std(listener).map_err(StartError::Bind)?;
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::error!(error = %e, "server stopped with an error");
                }
            })
        }
    };
    let upkeep = state
        .metrics
        .as_ref()
        .map(|m| m.spawn_upkeep(registry::UPKEEP_INTERVAL));
    let maintenance = tokio::spawn(background(
        state.app.clone(),
        state.config.maintenance_interval.0,
    ));
    Ok(RunningServer {
        addr,
        state,
        stop: Some(tx),
        task,
        maintenance,
        upkeep,
    })
}

/// How often a running server asks the store whether a signing key it
/// trusts was revoked elsewhere (another instance, or `tessera keys revoke`):
/// the longest a revoked key's tokens are still accepted here.
pub const KEY_WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// The timers of a running server: maintenance every `every`, and the key
/// watch every [`KEY_WATCH_INTERVAL`] (or `every`, if shorter).
async fn background(app: Arc<App>, every: Duration) {
    use tokio::time::{interval, MissedTickBehavior};
    let mut full = interval(every);
    let mut keys = interval(KEY_WATCH_INTERVAL.min(every));
    keys.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = full.tick() => maintain(&app).await,
            _ = keys.tick() => {
                if let Err(e) = app.maintenance.watch_keys().await {
                    tracing::warn!(error = %e, "key watch failed");
                }
            }
        }
    }
}

async fn maintain(app: &App) {
    if let Err(e) = app.maintenance.run().await {
        tracing::warn!(error = %e, "maintenance failed");
    }
    if let Ok(n) = app.maintenance.live_sessions().await {
        metrics::gauge!("tessera_active_sessions").set(n as f64);
    }
    if let Some(age) = app.tokens.signing_key_age() {
        metrics::gauge!("tessera_signing_key_age_seconds").set(age as f64);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
