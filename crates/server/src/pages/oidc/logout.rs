//! `GET`/`POST /oauth2/logout`: RP-initiated logout 1.0.
//!
//! The parameters (`id_token_hint`, `client_id`, `post_logout_redirect_uri`,
//! `state`) are checked by the core: a `post_logout_redirect_uri` must be
//! registered for the client (else an error page, never a redirect). With
//! a valid `id_token_hint` the SSO session and that client's session end at
//! once; without one, a confirmation form (CSRF-protected) asks first. The
//! SSO cookie is cleared either way once the logout happens; then the
//! browser goes to the `post_logout_redirect_uri` (with `state`), or sees a
//! "signed out" page.

use super::{branded_to, markup, redirect};
use crate::extract::Client;
use crate::pages::csrf;
use crate::pages::form::Form;
use crate::pages::html::Page;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::oidc::EndSessionParams;
use tessera_core::ClientInfo;

const TITLE: &str = "Sign out";

/// `GET /oauth2/logout?…`.
pub(crate) async fn logout_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    logout(
        &state,
        &headers,
        &info,
        EndSessionParams::from_lookup(get),
        false,
    )
    .await
}

/// `POST /oauth2/logout`: the same parameters as a form, or the
/// confirmation form (`confirm=yes` with the CSRF value).
pub(crate) async fn logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    form: Form,
) -> Response {
    let confirmed = if form.get("confirm").is_some() {
        if let Err(why) = csrf::check(&state.config, &headers, form.get("csrf")) {
            return super::message(
                &state.config,
                StatusCode::FORBIDDEN,
                TITLE,
                &why.to_string(),
            );
        }
        true
    } else {
        false
    };
    logout(
        &state,
        &headers,
        &info,
        EndSessionParams::from_lookup(|n| form.get(n)),
        confirmed,
    )
    .await
}

async fn logout(
    state: &AppState,
    headers: &HeaderMap,
    info: &ClientInfo,
    params: EndSessionParams,
    confirmed: bool,
) -> Response {
    let plan = match state.app.oidc.end_session_check(&params).await {
        Ok(p) => p,
        Err(e) => return refused(state, e),
    };
    if plan.confirm && !confirmed {
        return confirm_page(state, headers, &params, plan.redirect.as_deref());
    }
    let cookie = crate::pages::sso::read(&state.config, headers);
    let ended = match state.app.oidc.end_session(&params, cookie, info).await {
        Ok(e) => e,
        Err(e) => return refused(state, e),
    };
    let mut res = match ended.redirect {
        Some(url) => redirect(&url),
        None => super::message(
            &state.config,
            StatusCode::OK,
            "Signed out",
            "You are signed out. You can close this page.",
        ),
    };
    res.headers_mut()
        .append(header::SET_COOKIE, crate::pages::sso::clear(&state.config));
    res
}

/// A refused logout request (an unregistered `post_logout_redirect_uri`, an
/// unknown client): a page, never a redirect.
fn refused(state: &AppState, e: tessera_core::Error) -> Response {
    let api = crate::error::ApiError::from(e);
    if api.status.is_server_error() {
        return super::message(
            &state.config,
            api.status,
            TITLE,
            "Something went wrong on our side. Try again in a moment.",
        );
    }
    super::message(
        &state.config,
        StatusCode::BAD_REQUEST,
        "The sign-out request is not valid",
        &format!(
            "{}. Nothing was sent back to the application.",
            api.description
        ),
    )
}

fn confirm_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &EndSessionParams,
    target: Option<&str>,
) -> Response {
    let issued = match csrf::issue(&state.config, headers) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot make a CSRF value");
            return super::message(
                &state.config,
                StatusCode::INTERNAL_SERVER_ERROR,
                TITLE,
                "Something went wrong on our side. Try again in a moment.",
            );
        }
    };
    let form = markup::LogoutForm {
        csrf: &issued.token,
        client_id: params.client_id.as_deref().unwrap_or_default(),
        post_logout_redirect_uri: params
            .post_logout_redirect_uri
            .as_deref()
            .unwrap_or_default(),
        state: params.state.as_deref().unwrap_or_default(),
    };
    let mut page = Page::new(
        StatusCode::OK,
        TITLE,
        form.render(state.config.login_product_name()),
    );
    page.set_cookie = issued.set_cookie;
    branded_to(&state.config, page, target).into_response()
}
