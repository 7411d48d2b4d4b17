//! Browser pages served from assets embedded in the binary: the JWT
//! debugger, the live demo and the JS client. No CDN, no run-time fetch.

use crate::state::AppState;
use axum::Router;

/// Routes for the embedded browser assets.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
