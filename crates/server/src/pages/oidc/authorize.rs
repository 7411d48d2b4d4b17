//! `GET`/`POST /oauth2/authorize` and the two forms it serves: the hosted
//! login (`POST /oauth2/login`) and the consent page (`POST /oauth2/consent`).
//!
//! Every entry point validates the authorization request with the core
//! first. A request whose client is unknown or whose `redirect_uri` is not
//! registered gets an error page and is never redirected; any other error
//! goes back to the client as `error`, `state` and `iss`. Then:
//! - no SSO session, `prompt=login`, or an `auth_time` older than `max_age`:
//!   the login page (`prompt=none`: `login_required` instead);
//! - a signed-in user without consent for every scope asked (clients that
//!   are not first-party), or `prompt=consent`: the consent page
//!   (`prompt=none`: `consent_required`);
//! - otherwise: a code, redirected to the client.

use super::{branded_to, markup, redirect};
use crate::extract::Client;
use crate::pages::csrf;
use crate::pages::form::Form;
use crate::pages::html::Page;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::oidc::{AuthorizeError, AuthorizeParams, AuthorizeRequest, SsoSession, Step};

/// The longest authorization request accepted (query or form fields).
const MAX_REQUEST: usize = 8 * 1024;
pub(super) const TITLE: &str = "Sign in";
const BAD_CREDENTIALS: &str = "The email address or the password is not correct.";
const TOO_LONG: &str = "The authorization request is too long.";
pub(super) const OOPS: &str = "Something went wrong on our side. Try again in a moment.";

fn bad_request(text: &str) -> Response {
    Page::message(
        StatusCode::BAD_REQUEST,
        "The sign-in request is not valid",
        text,
    )
    .into_response()
}

/// The parameters of a query string or form body: an oversized request or
/// a repeated parameter (RFC 6749 §3.1) is refused with a page, since
/// nothing is known about the client yet.
fn params_of<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<AuthorizeParams, &'static str> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut len = 0;
    for (k, v) in pairs {
        len += k.len() + v.len() + 2;
        if len > MAX_REQUEST {
            return Err(TOO_LONG);
        }
        if seen.iter().any(|(n, _)| *n == k) {
            return Err("A parameter of the request was sent twice.");
        }
        seen.push((k, v));
    }
    Ok(AuthorizeParams::from_lookup(|n| {
        seen.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
    }))
}

pub(super) fn params_of_query(query: &str) -> Result<AuthorizeParams, &'static str> {
    if query.len() > MAX_REQUEST {
        return Err(TOO_LONG);
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    params_of(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The answer to a request the core refused: a page for an unknown client
/// or redirect URI (never a redirect), else the client's redirect URI with
/// `error`, `state` and `iss`.
fn refused(state: &AppState, e: &AuthorizeError) -> Response {
    match e.redirect_url() {
        Some(url) => redirect(&url),
        None => {
            let status = if e.code() == "temporarily_unavailable" {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_REQUEST
            };
            super::message(
                &state.config,
                status,
                "The sign-in request is not valid",
                &format!(
                    "{} ({}). The application that sent you here may be misconfigured; \
                     nothing was sent back to it.",
                    e.description(),
                    e.code()
                ),
            )
        }
    }
}

pub(super) fn internal(state: &AppState, e: tessera_core::Error) -> Response {
    let api = crate::error::ApiError::from(e);
    let text = if api.status.is_server_error() {
        OOPS.to_owned()
    } else {
        api.description
    };
    super::message(&state.config, api.status, "Sign-in failed", &text)
}

/// The request's SSO session, if its cookie names a live one.
async fn current_sso(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SsoSession>, tessera_core::Error> {
    match crate::pages::sso::read(&state.config, headers) {
        Some(value) => state.app.oidc.sso(value).await,
        None => Ok(None),
    }
}

/// `GET /oauth2/authorize?…`.
pub(crate) async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match params_of_query(query.as_deref().unwrap_or_default()) {
        Ok(params) => authorize(&state, &headers, &params).await,
        Err(why) => bad_request(why),
    }
}

/// `POST /oauth2/authorize` (a form, OIDC Core §3.1.2.1).
pub(crate) async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    match params_of(form.fields()) {
        Ok(params) => authorize(&state, &headers, &params).await,
        Err(why) => bad_request(why),
    }
}

async fn authorize(state: &AppState, headers: &HeaderMap, params: &AuthorizeParams) -> Response {
    let req = match state.app.oidc.validate_authorize(params).await {
        Ok(r) => r,
        Err(e) => return refused(state, &e),
    };
    let sso = match current_sso(state, headers).await {
        Ok(s) => s,
        Err(e) => return internal(state, e),
    };
    step(state, headers, &req, sso.as_ref(), false).await
}

/// What comes next for a valid request: the login page, the consent page,
/// or a code.
pub(super) async fn step(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    sso: Option<&SsoSession>,
    just_logged_in: bool,
) -> Response {
    let next = match state.app.oidc.next_step(req, sso, just_logged_in).await {
        Ok(n) => n,
        Err(e) => return internal(state, e),
    };
    match (next, sso) {
        (Err(e), _) => refused(state, &e),
        (Ok(Step::Issue), Some(s)) => match state.app.oidc.issue_code(req, s).await {
            Ok(url) => redirect(&url),
            Err(e) => internal(state, e),
        },
        (Ok(Step::Consent { missing }), Some(_)) => consent_page(state, headers, req, &missing),
        (Ok(_), _) => login_page(state, headers, req, LoginState::default()),
    }
}

/// What the login page shows besides the form.
#[derive(Default)]
pub(super) struct LoginState<'a> {
    pub status: Option<StatusCode>,
    pub email: Option<&'a str>,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
}

pub(super) fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    shown: LoginState<'_>,
) -> Response {
    let issued = match csrf::issue(&state.config, headers) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot make a CSRF value");
            return super::message(
                &state.config,
                StatusCode::INTERNAL_SERVER_ERROR,
                TITLE,
                OOPS,
            );
        }
    };
    let request = req.to_query();
    let form = markup::LoginForm {
        csrf: &issued.token,
        request: &request,
        email: shown
            .email
            .or(req.login_hint.as_deref())
            .unwrap_or_default(),
        client_name: &req.client_name,
        error: shown.error,
        notice: shown.notice,
        registration_open: state.config.registration == crate::config::Registration::Open,
        passkeys: state.app.passkeys.enabled(),
    };
    let body = form.render(state.config.login_product_name());
    let mut page = Page::new(shown.status.unwrap_or(StatusCode::OK), TITLE, body);
    page.set_cookie = issued.set_cookie;
    if state.app.passkeys.enabled() {
        page.script = Some("/assets/passkey-login.js");
    }
    branded_to(&state.config, page, Some(&req.redirect_uri)).into_response()
}

fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    missing: &[String],
) -> Response {
    let issued = match csrf::issue(&state.config, headers) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot make a CSRF value");
            return super::message(
                &state.config,
                StatusCode::INTERNAL_SERVER_ERROR,
                TITLE,
                OOPS,
            );
        }
    };
    let request = req.to_query();
    let form = markup::ConsentForm {
        csrf: &issued.token,
        request: &request,
        client_name: &req.client_name,
        scopes: missing,
    };
    let mut page = Page::new(StatusCode::OK, "Allow access?", form.render());
    page.set_cookie = issued.set_cookie;
    branded_to(&state.config, page, Some(&req.redirect_uri)).into_response()
}

/// The CSRF check and the re-validated request every form post starts with.
pub(super) async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<AuthorizeRequest, Response> {
    csrf::check(&state.config, headers, form.get("csrf")).map_err(|why| {
        super::message(
            &state.config,
            StatusCode::FORBIDDEN,
            "The form was refused",
            &format!("{why} Go back to the application and start signing in again."),
        )
    })?;
    let params = params_of_query(form.get("request").unwrap_or_default()).map_err(bad_request)?;
    state
        .app
        .oidc
        .validate_authorize(&params)
        .await
        .map_err(|e| refused(state, &e))
}

/// `POST /oauth2/login`: the hosted login form.
pub(crate) async fn login_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    form: Form,
) -> Response {
    let req = match accept(&state, &headers, &form).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let email = form.get("email").unwrap_or_default().trim();
    let password = form.get("password").unwrap_or_default();
    let user = match state
        .app
        .oidc
        .authenticate_password(email, password, &info)
        .await
    {
        Ok(u) => u,
        // A second factor is enrolled: ask for it next.
        Err(tessera_core::Error::MfaRequired(c)) if !c.enrollment => {
            return super::mfa::mfa_page(&state, &headers, &req, &c.mfa_token, None);
        }
        // Required MFA and none enrolled: set up TOTP here first.
        Err(tessera_core::Error::MfaRequired(c)) => {
            return super::enrol::enrol_page(&state, &headers, &req, &c.mfa_token, &info).await;
        }
        Err(e) => return login_refused(&state, &headers, &req, email, e),
    };
    signed_in(&state, &headers, &req, &user.id, &["pwd"], &info).await
}

/// The user just authenticated (`amr`): a new SSO session (the one the
/// browser held before, if any, ends; no fixation), its cookie, and the
/// request's next step.
pub(super) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    user_id: &str,
    amr: &[&str],
    info: &tessera_core::ClientInfo,
) -> Response {
    let (sso, cookie) = match start_sso(state, headers, user_id, amr, info).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let mut res = step(state, headers, req, Some(&sso), true).await;
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// A new SSO session for a user who just authenticated (`amr`), ending the
/// one the browser held before (no fixation): the session and its
/// `Set-Cookie` value (`None`, logged, if the value cannot be sent).
#[allow(clippy::result_large_err)]
pub(super) async fn start_sso(
    state: &AppState,
    headers: &HeaderMap,
    user_id: &str,
    amr: &[&str],
    info: &tessera_core::ClientInfo,
) -> Result<(SsoSession, Option<HeaderValue>), Response> {
    if let Some(old) = crate::pages::sso::read(&state.config, headers) {
        if let Err(e) = state.app.oidc.end_sso(old, info).await {
            tracing::warn!(error = %e, "could not end the previous SSO session");
        }
    }
    let cookie = match state.app.oidc.start_sso(user_id, amr, info).await {
        Ok(v) => v,
        Err(e) => return Err(internal(state, e)),
    };
    let sso = match state.app.oidc.sso(&cookie.value).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            tracing::error!("a new SSO session is not live");
            return Err(super::message(
                &state.config,
                StatusCode::INTERNAL_SERVER_ERROR,
                TITLE,
                OOPS,
            ));
        }
        Err(e) => return Err(internal(state, e)),
    };
    let set = crate::pages::sso::set(&state.config, &cookie.value, cookie.max_age);
    if set.is_none() {
        tracing::error!("the SSO cookie value cannot be sent");
    }
    Ok((sso, set))
}

/// The login page again after a refused password: one message for a wrong
/// password and an unknown account, "too many attempts" when throttled.
pub(super) fn login_refused(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    email: &str,
    e: tessera_core::Error,
) -> Response {
    use tessera_core::Error as E;
    let (status, text) = match e {
        E::InvalidCredentials | E::InvalidInput { .. } | E::MissingParameter(_) => {
            (StatusCode::UNAUTHORIZED, BAD_CREDENTIALS.to_owned())
        }
        E::TooManyRequests(r) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Try again in {} seconds.", r.0),
        ),
        other => {
            // Refused after the right password (a disabled account, an
            // unverified email): the JSON login's words.
            let api = crate::error::ApiError::from(other);
            if api.status.is_server_error() {
                return super::message(&state.config, api.status, TITLE, OOPS);
            }
            (api.status, api.description)
        }
    };
    let shown = LoginState {
        status: Some(status),
        email: Some(email),
        error: Some(&text),
        notice: None,
    };
    let mut res = login_page(state, headers, req, shown);
    if status == StatusCode::TOO_MANY_REQUESTS {
        if let Some(secs) = text.split_whitespace().find_map(|w| w.parse::<u64>().ok()) {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
    }
    res
}

/// `POST /oauth2/consent`: Allow or Deny.
pub(crate) async fn consent_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let req = match accept(&state, &headers, &form).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let sso = match current_sso(&state, &headers).await {
        Ok(Some(s)) => s,
        // Signed out meanwhile: sign in again (the request is kept).
        Ok(None) => return login_page(&state, &headers, &req, LoginState::default()),
        Err(e) => return internal(&state, e),
    };
    match form.get("decision") {
        Some("allow") => {}
        Some("deny") => {
            let e = req.error("access_denied", "the user denied the request");
            return refused(&state, &e);
        }
        _ => return bad_request("The form must say Allow or Deny."),
    }
    // What is granted is what the request still lacks, computed again now.
    let next = match state.app.oidc.next_step(&req, Some(&sso), false).await {
        Ok(n) => n,
        Err(e) => return internal(&state, e),
    };
    if let Ok(Step::Consent { missing }) = &next {
        if let Err(e) = state
            .app
            .oidc
            .grant_consent(&sso.user_id, &req.client_id, missing)
            .await
        {
            return internal(&state, e);
        }
    }
    match next {
        Ok(Step::Login) => login_page(&state, &headers, &req, LoginState::default()),
        Err(e) => refused(&state, &e),
        Ok(_) => match state.app.oidc.issue_code(&req, &sso).await {
            Ok(url) => redirect(&url),
            Err(e) => internal(&state, e),
        },
    }
}
