//! The hosted login's second step (`POST /oauth2/login/mfa`): after the
//! right password for an account with a second factor, a plain form (no
//! script needed) for a TOTP code or a recovery code. It carries the
//! `mfa_token` the password earned (single use, five minutes, bound to
//! cookie mode), the pending authorization request and the CSRF value; the
//! SSO session starts only after the factor, with `amr` `[pwd, otp, mfa]`.

use super::authorize::{accept, internal, login_page, signed_in, LoginState, TITLE};
use super::branded_to;
use crate::extract::Client;
use crate::pages::csrf;
use crate::pages::form::Form;
use crate::pages::html::{Html, Page};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::oidc::AuthorizeRequest;
use tessera_core::{Error, MfaProof};

/// The second-step form.
fn form(csrf: &str, request: &str, mfa_token: &str, error: Option<&str>, passkeys: bool) -> Html {
    let mut b = Html::new();
    b.raw("<section class=\"panel signin\">")
        .raw("<h2>Two-step verification</h2>")
        .raw("<p class=\"muted\">Enter the 6-digit code from your authenticator app, ")
        .raw("or one of your recovery codes.</p>");
    if let Some(e) = error {
        b.raw("<p id=\"error\" class=\"result bad\" role=\"alert\">")
            .text(e)
            .raw("</p>");
    }
    b.raw("<form id=\"mfa-form\" method=\"post\" action=\"/oauth2/login/mfa\">")
        .hidden("csrf", csrf)
        .hidden("request", request)
        .hidden("mfa_token", mfa_token)
        .raw("<label for=\"totp\">Authentication code</label>")
        .raw("<input type=\"text\" id=\"totp\" name=\"totp\" inputmode=\"numeric\" ")
        .raw("autocomplete=\"one-time-code\" pattern=\"[0-9 ]{6,7}\" maxlength=\"7\" autofocus>")
        .raw("<details id=\"recovery\"><summary>Use a recovery code</summary>")
        .raw("<label for=\"recovery_code\">Recovery code</label>")
        .raw("<input type=\"text\" id=\"recovery_code\" name=\"recovery_code\" ")
        .raw("autocomplete=\"off\" maxlength=\"64\"></details>")
        .raw("<button type=\"submit\" id=\"submit\">Verify</button>");
    if passkeys {
        // Shown and run by /assets/passkey-login.js; it fills `passkey`
        // with the assertion and submits this same form.
        b.raw("<div id=\"mfa-passkey-box\" hidden>")
            .raw("<input type=\"hidden\" name=\"passkey\" id=\"mfa-passkey-credential\">")
            .raw("<button type=\"button\" id=\"mfa-passkey\" class=\"secondary\">")
            .raw("Use a passkey</button>")
            .raw("<p id=\"passkey-error\" class=\"result bad\" role=\"alert\" hidden></p>")
            .raw("</div>");
    }
    b.raw("</form></section>");
    b
}

/// The second-step page for `req` with `mfa_token`.
pub(super) fn mfa_page(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    mfa_token: &str,
    error: Option<(StatusCode, &str)>,
) -> Response {
    let issued = match csrf::issue(&state.config, headers) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot make a CSRF value");
            return super::message(
                &state.config,
                StatusCode::INTERNAL_SERVER_ERROR,
                TITLE,
                super::authorize::OOPS,
            );
        }
    };
    let passkeys = state.app.passkeys.enabled();
    let body = form(
        &issued.token,
        &req.to_query(),
        mfa_token,
        error.map(|(_, e)| e),
        passkeys,
    );
    let status = error.map_or(StatusCode::OK, |(s, _)| s);
    let mut page = Page::new(status, TITLE, body);
    page.set_cookie = issued.set_cookie;
    if passkeys {
        page.script = Some("/assets/passkey-login.js");
    }
    branded_to(&state.config, page, Some(&req.redirect_uri)).into_response()
}

/// `POST /oauth2/login/mfa`: the second factor.
pub(crate) async fn login_mfa_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    form: Form,
) -> Response {
    let req = match accept(&state, &headers, &form).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let token = form.get("mfa_token").unwrap_or_default();
    let totp = form.get("totp").map(str::trim).filter(|c| !c.is_empty());
    let recovery = form
        .get("recovery_code")
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let passkey = form.get("passkey").filter(|c| !c.trim().is_empty());
    if let (None, None, Some(json)) = (totp, recovery, passkey) {
        return super::passkey::second_step(&state, &headers, &req, token, json, &info).await;
    }
    let proof = match (totp, recovery) {
        (Some(c), None) => MfaProof::Totp(c),
        (None, Some(c)) => MfaProof::RecoveryCode(c),
        _ => {
            let why = "Enter either the code from your app or a recovery code.";
            return mfa_page(
                &state,
                &headers,
                &req,
                token,
                Some((StatusCode::BAD_REQUEST, why)),
            );
        }
    };
    match state.app.mfa.verify_for_sso(token, proof, &info).await {
        Ok((user, factor)) => {
            signed_in(
                &state,
                &headers,
                &req,
                &user.id,
                &["pwd", factor, "mfa"],
                &info,
            )
            .await
        }
        Err(Error::InvalidMfaCode) => {
            let why = "That code is not correct (or was already used).";
            mfa_page(
                &state,
                &headers,
                &req,
                token,
                Some((StatusCode::UNAUTHORIZED, why)),
            )
        }
        Err(Error::TooManyRequests(r)) => {
            let why = format!("Too many attempts. Try again in {} seconds.", r.0);
            let status = StatusCode::TOO_MANY_REQUESTS;
            let mut res = mfa_page(&state, &headers, &req, token, Some((status, &why)));
            if let Ok(v) = HeaderValue::from_str(&r.0.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(e @ (Error::InvalidMfaToken(_) | Error::InvalidInput { .. })) => {
            let why = format!("Sign in again: {e}.");
            let shown = LoginState {
                status: Some(StatusCode::UNAUTHORIZED),
                email: None,
                error: Some(&why),
                notice: None,
            };
            login_page(&state, &headers, &req, shown)
        }
        Err(e) => internal(&state, e),
    }
}
