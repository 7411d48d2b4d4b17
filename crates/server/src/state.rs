//! Shared state: the auth service and configuration. No globals.

use crate::config::Config;
use std::sync::Arc;
use tessera_core::throttle::Limiter;
use tessera_core::Auth;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The rules.
    pub auth: Arc<Auth>,
    /// The configuration.
    pub config: Arc<Config>,
    /// OAuth clients, revocation and introspection.
    pub oauth: Arc<tessera_core::oauth::OAuth>,
    /// Login backoff and rate limits.
    pub throttle: Arc<Limiter>,
    /// Set to `true` when the server starts shutting down, so long polls
    /// answer at once instead of holding the graceful shutdown.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// The Prometheus registry `/metrics` renders; `None` when the process
    /// installed none (then `/metrics` answers 404).
    pub metrics: Option<crate::observe::Metrics>,
}
