//! Server-rendered pages: the ones a person reaches from an email
//! (`/account/reset`, `/account/verify`), and the hosted OpenID Connect
//! sign-in (`oidc`: `/oauth2/authorize`, its login and consent forms,
//! `/oauth2/logout`, `/account/forgot`).
//!
//! The reusable pieces, one job each:
//! - [`html`]: [`Html`](html::Html), markup that grows only by escaped text
//!   or `'static` literals, and [`Page`](html::Page), the layout plus the
//!   headers every page carries (the debugger's strict CSP with
//!   `form-action 'self'`, `Cache-Control: no-store`,
//!   `Referrer-Policy: no-referrer`, no framing);
//! - [`csrf`]: the double-submit token of the no-JavaScript forms
//!   ([`issue`](csrf::issue) when serving a form, [`check`](csrf::check)
//!   when it comes back);
//! - [`form`]: the urlencoded form body within [`form::LIMIT`], rejected
//!   with HTML pages (400, 413, 415);
//! - [`sso`]: the single sign-on cookie.
//!
//! A page's script and stylesheet are embedded assets served by `web`
//! (`/assets/account.js`, `/assets/account.css`): no inline code.

mod account;
pub mod csrf;
pub mod form;
pub mod html;
mod oidc;
pub mod sso;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;

/// The pages' routes; form posts are capped at `body_limit` bytes.
pub(crate) fn routes(body_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/account/reset",
            get(account::reset_page).post(account::reset_post),
        )
        .route(
            "/account/verify",
            get(account::verify_page).post(account::verify_post),
        )
        .merge(oidc::routes())
        .layer(DefaultBodyLimit::max(body_limit.min(form::LIMIT)))
}
