//! Answer shapes shared by the handlers in `routes` and `oauth`: the token
//! answer, the user view, and the `no-store` headers.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::{TokenResponse, TokenType, UserView};
use tessera_core::TokenPair;
use tessera_store::User;

/// The wire view of a user.
pub(crate) fn user_view(u: User) -> UserView {
    UserView {
        email_verified: u.email_verified(),
        disabled: u.disabled(),
        id: u.id,
        email: u.email,
        roles: u.roles,
        created_at: u.created_at,
        last_login_at: u.last_login_at,
    }
}

/// The one token answer of a pair (login, refresh, and the `password` and
/// `refresh_token` grants of `/oauth2/token`).
pub(crate) fn token_body(pair: &TokenPair) -> TokenResponse {
    TokenResponse {
        access_token: pair.access_token.clone(),
        token_type: if pair.dpop {
            TokenType::DPoP
        } else {
            TokenType::Bearer
        },
        expires_in: pair.expires_in,
        refresh_token: Some(pair.refresh_token.as_str().to_owned()),
        refresh_token_expires_in: pair.refresh_token_expires_in,
    }
}

/// A token answer; never cached.
pub(crate) fn token_response(pair: &TokenPair) -> Response {
    no_store(Json(token_body(pair)).into_response())
}

/// Marks an answer as never cached (`Cache-Control: no-store`, `Pragma: no-cache`).
pub(crate) fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}
