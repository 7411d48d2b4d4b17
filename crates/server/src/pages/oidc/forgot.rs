//! `/account/forgot`: ask for a password-reset link, without JavaScript.
//! The answer is the same whether or not the address has an account
//! (`Lifecycle::forgot_password` does the same work either way).

use super::{branded, markup};
use crate::extract::Client;
use crate::pages::csrf;
use crate::pages::form::Form;
use crate::pages::html::Page;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

const TITLE: &str = "Forgot your password?";
const SENT: &str = "If this address belongs to an account, a link to choose a new password \
                    has been sent to it. The link works for a limited time; use the newest one.";

fn page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    msg: Option<(bool, &str)>,
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
    let mut p = Page::new(status, TITLE, markup::forgot_form(&issued.token, msg));
    p.set_cookie = issued.set_cookie;
    branded(&state.config, p).into_response()
}

/// `GET /account/forgot`: the form.
pub(crate) async fn forgot_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    page(&state, &headers, StatusCode::OK, None)
}

/// `POST /account/forgot`: sends the link (when there is an account).
pub(crate) async fn forgot_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    form: Form,
) -> Response {
    if let Err(why) = csrf::check(&state.config, &headers, form.get("csrf")) {
        return super::message(
            &state.config,
            StatusCode::FORBIDDEN,
            TITLE,
            &why.to_string(),
        );
    }
    let email = form.get("email").unwrap_or_default().trim();
    use tessera_core::Error as E;
    match state.app.lifecycle.forgot_password(email, &info).await {
        Ok(()) => page(&state, &headers, StatusCode::OK, Some((true, SENT))),
        Err(E::InvalidInput { .. } | E::MissingParameter(_)) => page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            Some((false, "Enter an email address, like name@example.com.")),
        ),
        Err(E::TooManyRequests(r)) => {
            let text = format!("Too many requests. Try again in {} seconds.", r.0);
            page(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some((false, &text)),
            )
        }
        Err(e) => {
            let api = crate::error::ApiError::from(e);
            let text = if api.status.is_server_error() {
                "Something went wrong on our side. Try again in a moment.".to_owned()
            } else {
                api.description
            };
            page(&state, &headers, api.status, Some((false, &text)))
        }
    }
}
