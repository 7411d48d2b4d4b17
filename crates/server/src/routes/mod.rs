//! Handlers, by area. Each one extracts, calls `tessera-core`, and shapes the
//! answer. The OAuth endpoints (`oauth.rs`) and the revocation feed
//! (`feed.rs`) live beside this module; the answer shapes shared with them
//! are in `respond.rs`.
//!
//! - `auth`: register, login, refresh, logout, logout-all (and cookie mode);
//! - `account`: the caller (`/v1/me`) and their sessions;
//! - `admin`: users, roles, sessions and keys (role `admin`);
//! - `audit`: the audit log and the overview (role `admin`);
//! - `front`: the front door, `GET /` (HTML for a browser, else JSON);
//! - `lifecycle`: password change and reset, email verification and change,
//!   account deletion, and the operator's disable/enable/delete/reset-mail;
//! - `oidc`: userinfo, the caller's consents, the admin API of OAuth clients;
//! - `wellknown`: the JWK Set and discovery metadata;
//! - `health`: liveness, readiness and `/metrics`.

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod front;
pub(crate) mod health;
pub(crate) mod lifecycle;
pub(crate) mod oidc;
pub(crate) mod wellknown;

use crate::error::ApiError;
use axum::http::StatusCode;

/// The answer for a path no route matches.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// The answer for a route that does not take the request's method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}
