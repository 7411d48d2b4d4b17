//! `/account/register`: the hosted registration form the login page links to
//! while registration is `open`, without JavaScript. It carries the pending
//! authorization request (validated again by the core) and, once the account
//! exists, shows the login form again with the address filled in.

use super::authorize::{login_page, params_of_query, LoginState};
use super::{branded, markup};
use crate::config::Registration;
use crate::extract::Client;
use crate::pages::csrf;
use crate::pages::form::Form;
use crate::pages::html::Page;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::oidc::AuthorizeRequest;

const TITLE: &str = "Create an account";

/// The pending request of a `request` value, if it is a valid one.
async fn pending(state: &AppState, request: &str) -> Option<AuthorizeRequest> {
    let params = params_of_query(request).ok()?;
    state.app.oidc.validate_authorize(&params).await.ok()
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    request: &str,
    email: &str,
    error: Option<&str>,
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
    let body = markup::register_form(&issued.token, request, email, error);
    let mut p = Page::new(status, TITLE, body);
    p.set_cookie = issued.set_cookie;
    branded(&state.config, p).into_response()
}

fn closed(state: &AppState) -> Option<Response> {
    (state.config.registration != Registration::Open).then(|| {
        super::message(
            &state.config,
            StatusCode::FORBIDDEN,
            TITLE,
            "New accounts are not open here. Ask the operator for one.",
        )
    })
}

/// `GET /account/register?request=…`: the form.
pub(crate) async fn register_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(res) = closed(&state) {
        return res;
    }
    let request = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "request")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    // Only a valid request rides along.
    let request = match pending(&state, &request).await {
        Some(r) => r.to_query(),
        None => String::new(),
    };
    page(&state, &headers, StatusCode::OK, &request, "", None)
}

/// `POST /account/register`: creates the account, then the login form.
pub(crate) async fn register_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    form: Form,
) -> Response {
    if let Some(res) = closed(&state) {
        return res;
    }
    if let Err(why) = csrf::check(&state.config, &headers, form.get("csrf")) {
        return super::message(
            &state.config,
            StatusCode::FORBIDDEN,
            TITLE,
            &why.to_string(),
        );
    }
    let email = form.get("email").unwrap_or_default().trim();
    let password = form.get("password").unwrap_or_default();
    let req = pending(&state, form.get("request").unwrap_or_default()).await;
    let request = req
        .as_ref()
        .map(AuthorizeRequest::to_query)
        .unwrap_or_default();
    match state.app.accounts.register(email, password, &info).await {
        Ok(_) => match &req {
            Some(r) => {
                let shown = LoginState {
                    email: Some(email),
                    notice: Some("Your account is ready. Sign in with it."),
                    ..LoginState::default()
                };
                login_page(&state, &headers, r, shown)
            }
            None => super::message(
                &state.config,
                StatusCode::CREATED,
                "Account created",
                "Your account is ready. Go back to the application to sign in.",
            ),
        },
        Err(e) => {
            let api = crate::error::ApiError::from(e);
            if api.status.is_server_error() {
                return super::message(
                    &state.config,
                    api.status,
                    TITLE,
                    "Something went wrong on our side. Try again in a moment.",
                );
            }
            let text = format!("Not accepted: {}.", api.description);
            page(&state, &headers, api.status, &request, email, Some(&text))
        }
    }
}
