//! Shared state: the core's services and the configuration. No globals.

use crate::config::Config;
use std::sync::Arc;
use tessera_core::App;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The rules, as services.
    pub app: Arc<App>,
    /// The configuration.
    pub config: Arc<Config>,
    /// Set to `true` when the server starts shutting down, so long polls
    /// answer at once instead of holding the graceful shutdown.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// The Prometheus registry `/metrics` renders; `None` when the process
    /// installed none (then `/metrics` answers 404).
    pub metrics: Option<crate::registry::Metrics>,
}
