//! The browser side of the OpenID Connect provider: the authorization
//! endpoint's HTTP handler, the hosted login and consent pages, the single
//! sign-on cookie, RP-initiated logout and the forgot-password page. The
//! rules (client registration, request validation, SSO sessions, consent,
//! codes) are `tessera_core::oidc`'s; these handlers only carry a browser
//! through them.
//!
//! The pending authorization request travels in the login and consent forms
//! as the request's own parameters (a hidden `request` field, urlencoded),
//! and is validated again by the core when a form comes back: nothing in it
//! is trusted because it was in our page. The forms carry the pages' CSRF
//! value ([`csrf`](crate::pages::csrf)).

mod authorize;
mod enrol;
mod forgot;
mod logout;
mod markup;
mod mfa;
mod passkey;
mod register;

use crate::config::Config;
use crate::pages::html::{Brand, Page};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The routes: `/oauth2/authorize` (GET and form POST), `/oauth2/login`
/// (its second step, `/oauth2/login/mfa`, and TOTP set-up under required
/// MFA, `/oauth2/login/mfa/enrol`), `/oauth2/login/passkey`,
/// `/oauth2/consent`, `/oauth2/logout`, `/oauth2/theme.css`,
/// `/account/register` and `/account/forgot`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/oauth2/login", axum::routing::post(authorize::login_post))
        .route(
            "/oauth2/login/mfa",
            axum::routing::post(mfa::login_mfa_post),
        )
        .route(
            "/oauth2/login/mfa/enrol",
            axum::routing::post(enrol::enrol_post),
        )
        .route(
            "/oauth2/login/passkey",
            axum::routing::post(passkey::login_passkey_post),
        )
        .route(
            "/oauth2/consent",
            axum::routing::post(authorize::consent_post),
        )
        .route(
            "/oauth2/logout",
            get(logout::logout_get).post(logout::logout_post),
        )
        .route("/oauth2/theme.css", get(theme))
        .route(
            "/account/register",
            get(register::register_page).post(register::register_post),
        )
        .route(
            "/account/forgot",
            get(forgot::forgot_page).post(forgot::forgot_post),
        )
}

/// The brand of the hosted pages, from the `login_*` settings.
pub(super) fn brand(cfg: &Config) -> Brand {
    Brand {
        name: cfg.login_product_name().to_owned(),
        logo: cfg.login_logo_url.clone(),
        logo_origin: cfg
            .login_logo_url
            .as_deref()
            .and_then(crate::config::logo_origin),
        themed: cfg.login_accent_color.is_some(),
        form_action: None,
    }
}

/// A page in the product's brand.
pub(super) fn branded(cfg: &Config, mut page: Page) -> Page {
    page.brand = Some(Box::new(brand(cfg)));
    page
}

/// A page in the product's brand whose form's answer may redirect to
/// `target` (a redirect URI): its origin is allowed in `form-action`.
pub(super) fn branded_to(cfg: &Config, page: Page, target: Option<&str>) -> Page {
    let mut brand = brand(cfg);
    brand.form_action = target.and_then(crate::pages::html::form_action_source);
    let mut page = page;
    page.brand = Some(Box::new(brand));
    page
}

/// A branded message page.
pub(super) fn message(cfg: &Config, status: StatusCode, title: &str, text: &str) -> Response {
    branded(cfg, Page::message(status, title, text)).into_response()
}

/// `GET /oauth2/theme.css`: the accent colour (checked to be `#rgb` or
/// `#rrggbb` at start-up, so it is safe in a stylesheet).
async fn theme(State(state): State<AppState>) -> Response {
    let color = state
        .config
        .login_accent_color
        .as_deref()
        .filter(|c| crate::config::is_color(c));
    let body = match color {
        Some(c) => format!(
            ":root {{ --accent: {c}; }}\n@media (prefers-color-scheme: dark) {{ :root {{ --accent: {c}; }} }}\n"
        ),
        None => String::new(),
    };
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    crate::pages::html::secure_headers(&mut res);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// A redirect (`303 See Other`) to `url`, a client's redirect URI with the
/// answer: no caching, no referrer.
pub(super) fn redirect(url: &str) -> Response {
    let Ok(location) = HeaderValue::from_str(url) else {
        return Page::message(
            StatusCode::BAD_REQUEST,
            "The request could not be completed",
            "The application's return address cannot be used.",
        )
        .into_response();
    };
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}
