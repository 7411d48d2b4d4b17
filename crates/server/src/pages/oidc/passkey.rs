//! `POST /oauth2/login/passkey`: the hosted login page's "Sign in with a
//! passkey". The page's script (`/assets/passkey-login.js`) asks
//! `POST /v1/auth/passkey/options`, runs the browser's WebAuthn prompt and
//! posts the ceremony id and the assertion here, in the login page's form
//! (with its CSRF value and the pending authorization request). A verified
//! passkey starts the SSO session as a password would, with the passkey's
//! `amr` (`hwk` or `swk`, `user`, `mfa`); anything refused shows the login
//! page again with the reason.

use super::authorize::{accept, internal, login_page, step, LoginState, TITLE};
use crate::extract::Client;
use crate::pages::form::Form;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

const REFUSED: &str = "That passkey could not sign you in. Try again, or use your password.";

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
    let (user, amr) = match verified {
        Ok(v) => v,
        Err(e) => {
            let api = crate::error::ApiError::from(e);
            if api.status.is_server_error() {
                return super::message(&state.config, api.status, TITLE, &api.description);
            }
            let text = match api.error {
                "account_disabled" | "email_not_verified" => api.description.clone(),
                _ => REFUSED.to_owned(),
            };
            let shown = LoginState {
                status: Some(StatusCode::UNAUTHORIZED),
                email: None,
                error: Some(&text),
                notice: None,
            };
            return login_page(&state, &headers, &req, shown);
        }
    };
    if let Some(old) = crate::pages::sso::read(&state.config, &headers) {
        if let Err(e) = state.app.oidc.end_sso(old, &info).await {
            tracing::warn!(error = %e, "could not end the previous SSO session");
        }
    }
    let cookie = match state.app.oidc.start_sso(&user.id, &amr, &info).await {
        Ok(v) => v,
        Err(e) => return internal(&state, e),
    };
    let sso = match state.app.oidc.sso(&cookie.value).await {
        Ok(Some(s)) => s,
        Ok(None) => return internal(&state, tessera_core::Error::NotFound("the new SSO session")),
        Err(e) => return internal(&state, e),
    };
    let mut res = step(&state, &headers, &req, Some(&sso), true).await;
    match crate::pages::sso::set(&state.config, &cookie.value, cookie.max_age) {
        Some(c) => {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
        None => tracing::error!("the SSO cookie value cannot be sent"),
    }
    res
}
