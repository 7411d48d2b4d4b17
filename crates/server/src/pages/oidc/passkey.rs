//! Passkeys on the hosted login page. The page's script
//! (`/assets/passkey-login.js`) runs the browser's WebAuthn prompt and posts
//! the assertion in a form (with the page's CSRF value and the pending
//! authorization request); without script none of it shows and the other
//! forms work as before.
//!
//! - `POST /oauth2/login/passkey`: "Sign in with a passkey" (the ceremony of
//!   `POST /v1/auth/passkey/options`). A verified passkey starts the SSO
//!   session with its `amr` (`hwk` or `swk`, `user`, `mfa`).
//! - The second step (`POST /oauth2/login/mfa` with `passkey`, see `mfa`):
//!   "Use a passkey" (the ceremony of `POST /v1/auth/mfa/passkey/options`,
//!   under the page's `mfa_token`); the SSO session's `amr` is
//!   `[pwd, hwk|swk, mfa]`.

use super::authorize::{accept, login_page, signed_in, LoginState, OOPS, TITLE};
use super::mfa::mfa_page;
use crate::extract::Client;
use crate::pages::form::Form;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tessera_core::oidc::AuthorizeRequest;
use tessera_core::ClientInfo;

const REFUSED: &str = "That passkey could not sign you in. Try again, or use your password.";

/// The words for a refusal that is the user's to see.
fn refusal(e: tessera_core::Error, fallback: &str) -> Result<String, crate::error::ApiError> {
    let api = crate::error::ApiError::from(e);
    if api.status.is_server_error() {
        return Err(api);
    }
    Ok(match api.error {
        "account_disabled" | "email_not_verified" => api.description,
        _ => fallback.to_owned(),
    })
}

/// `POST /oauth2/login/passkey`.
pub(crate) async fn login_passkey_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    form: Form,
) -> Response {
    let req = match accept(&state, &headers, &form).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let credential = serde_json::from_str(form.get("credential").unwrap_or_default())
        .unwrap_or(serde_json::Value::Null);
    let ceremony = form.get("ceremony").unwrap_or_default();
    let verified = state
        .app
        .passkeys
        .verify_sign_in(ceremony, &credential, &info)
        .await;
    match verified {
        Ok((user, amr)) => signed_in(&state, &headers, &req, &user.id, &amr, &info).await,
        Err(e) => match refusal(e, REFUSED) {
            Ok(text) => {
                let shown = LoginState {
                    status: Some(StatusCode::UNAUTHORIZED),
                    email: None,
                    error: Some(&text),
                    notice: None,
                };
                login_page(&state, &headers, &req, shown)
            }
            Err(api) => oops(&state, &api),
        },
    }
}

/// The message page of a failure on our side (its status, no detail).
fn oops(state: &AppState, api: &crate::error::ApiError) -> Response {
    super::message(&state.config, api.status, TITLE, OOPS)
}

/// The second step with a passkey (from `POST /oauth2/login/mfa`).
pub(super) async fn second_step(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    mfa_token: &str,
    json: &str,
    info: &ClientInfo,
) -> Response {
    let credential = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    let verified = state
        .app
        .passkeys
        .verify_second_factor_for_sso(mfa_token, &credential, info)
        .await;
    match verified {
        Ok((user, factor)) => {
            signed_in(state, headers, req, &user.id, &["pwd", factor, "mfa"], info).await
        }
        Err(e @ tessera_core::Error::InvalidMfaToken(_)) => {
            let why = format!("Sign in again: {e}.");
            let shown = LoginState {
                status: Some(StatusCode::UNAUTHORIZED),
                email: None,
                error: Some(&why),
                notice: None,
            };
            login_page(state, headers, req, shown)
        }
        Err(e) => match refusal(e, "That passkey could not verify you. Try again.") {
            Ok(text) => mfa_page(
                state,
                headers,
                req,
                mfa_token,
                Some((StatusCode::UNAUTHORIZED, &text)),
            ),
            Err(api) => oops(state, &api),
        },
    }
}
