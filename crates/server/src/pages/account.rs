//! `/account/reset` and `/account/verify`: the pages a reset or verification
//! email links to.
//!
//! `GET` renders a form carrying the link's token and a CSRF value; it never
//! spends the token (mail scanners fetch links). With JavaScript the page's
//! script (`web/account/account.js`) takes the token out of the address bar
//! and calls the JSON API itself; without it, the form posts here and the
//! answer is an HTML page: 200 when done, 400 for a spent, expired or
//! unknown link or a password the policy refuses (the form again, with the
//! reason), 403 when the CSRF check fails, 413/415 for a body that is not a
//! small form, 429 when throttled.

use super::csrf;
use super::form::Form;
use super::html::{Html, Page};
use crate::error::ApiError;
use crate::extract::Client;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use zeroize::Zeroizing;

/// The script that drives both pages when JavaScript runs.
const SCRIPT: &str = "/assets/account.js";

const SPENT: &str = "This link has already been used, has expired, or is not valid. \
                     Ask for a new one and use the newest email.";
const NO_TOKEN: &str = "This page needs the link from your email, with its token. \
                        Open the link from the email again.";

/// The two kinds of page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reset,
    Verify,
}

impl Kind {
    fn title(self) -> &'static str {
        match self {
            Kind::Reset => "Reset your password",
            Kind::Verify => "Confirm your email address",
        }
    }
}

/// A token as a link carries it: 1 to 512 visible ASCII characters.
fn plausible(token: &str) -> bool {
    (1..=512).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic())
}

/// The `token` of a link's query (the first one); anything else is ignored.
fn link_token(query: Option<&str>) -> Option<Zeroizing<String>> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| Zeroizing::new(v.into_owned()))
}

/// The opening panel and the form of `kind`, with its hidden fields.
fn form_markup(kind: Kind, csrf: &str, token: &str) -> Html {
    let mut body = Html::new();
    body.raw("<section class=\"panel\">");
    match kind {
        Kind::Reset => body
            .raw("<h2>Choose a new password</h2>")
            .para(
                "muted",
                "After the change, every device signed in to your account is signed out.",
            )
            .raw("<form id=\"account-form\" method=\"post\" action=\"/account/reset\" ")
            .raw("data-kind=\"reset\" data-api=\"/v1/auth/password/reset\">"),
        Kind::Verify => body
            .raw("<h2>Confirm your email address</h2>")
            .para(
                "muted",
                "Press the button to confirm this email address for your account.",
            )
            .raw("<form id=\"account-form\" method=\"post\" action=\"/account/verify\" ")
            .raw("data-kind=\"verify\" data-api=\"/v1/auth/email/verify\">"),
    };
    body.hidden("csrf", csrf).hidden("token", token);
    if kind == Kind::Reset {
        body.raw("<label for=\"new_password\">New password</label>")
            .raw("<input type=\"password\" id=\"new_password\" name=\"new_password\" ")
            .raw("autocomplete=\"new-password\" required minlength=\"8\" maxlength=\"1024\">")
            .raw("<label for=\"new_password_confirm\">The new password again</label>")
            .raw("<input type=\"password\" id=\"new_password_confirm\" ")
            .raw("name=\"new_password_confirm\" autocomplete=\"new-password\" required ")
            .raw("minlength=\"8\" maxlength=\"1024\">")
            .raw("<button type=\"submit\" id=\"submit\">Set the new password</button>");
    } else {
        body.raw("<button type=\"submit\" id=\"submit\">Confirm</button>");
    }
    body.raw("</form>");
    body
}

/// The form for `kind`, with `error` shown above it when set.
fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    kind: Kind,
    token: &str,
    error: Option<(StatusCode, &str)>,
) -> Page {
    let issued = match csrf::issue(&state.config, headers) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot make a CSRF value");
            return Page::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                kind.title(),
                "Something went wrong on our side. Try again in a moment.",
            );
        }
    };
    let mut body = form_markup(kind, &issued.token, token);
    let status = match error {
        Some((status, message)) => {
            body.raw("<p id=\"result\" class=\"result bad\" role=\"status\">")
                .text(message)
                .raw("</p>");
            status
        }
        None => {
            body.raw("<p id=\"result\" class=\"result\" role=\"status\" hidden></p>");
            StatusCode::OK
        }
    };
    body.raw("</section>");
    let mut page = Page::new(status, kind.title(), body);
    page.script = Some(SCRIPT);
    page.set_cookie = issued.set_cookie;
    page
}

fn show(state: &AppState, headers: &HeaderMap, kind: Kind, query: Option<&str>) -> Page {
    match link_token(query).as_deref().map(String::as_str) {
        Some(t) if plausible(t) => form_page(state, headers, kind, t, None),
        Some(_) => Page::message(StatusCode::BAD_REQUEST, kind.title(), SPENT),
        None => Page::message(StatusCode::BAD_REQUEST, kind.title(), NO_TOKEN),
    }
}

/// `GET /account/reset?token=…`: the new-password form.
pub(crate) async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Page {
    show(&state, &headers, Kind::Reset, query.as_deref())
}

/// `GET /account/verify?token=…`: the confirm button (a `GET` spends nothing).
pub(crate) async fn verify_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Page {
    show(&state, &headers, Kind::Verify, query.as_deref())
}

/// The CSRF check and the token field every post starts with.
fn accept<'f>(
    state: &AppState,
    headers: &HeaderMap,
    kind: Kind,
    form: &'f Form,
) -> Result<&'f str, Page> {
    csrf::check(&state.config, headers, form.get("csrf"))
        .map_err(|why| Page::message(StatusCode::FORBIDDEN, kind.title(), &why.to_string()))?;
    match form.get("token") {
        Some(t) if plausible(t) => Ok(t),
        Some(_) => Err(Page::message(StatusCode::BAD_REQUEST, kind.title(), SPENT)),
        None => Err(Page::message(
            StatusCode::BAD_REQUEST,
            kind.title(),
            NO_TOKEN,
        )),
    }
}

/// What a refused operation shows.
struct Refusal {
    status: StatusCode,
    text: String,
    /// The input was refused, not the link: the form may be sent again.
    retry: bool,
}

fn refusal(e: tessera_core::Error) -> Refusal {
    use tessera_core::Error as E;
    let (status, text, retry) = match e {
        E::InvalidLinkToken | E::InvalidGrant(_) | E::NotFound(_) => {
            (StatusCode::BAD_REQUEST, SPENT.to_owned(), false)
        }
        E::InvalidInput { .. } | E::MissingParameter(_) => {
            (StatusCode::BAD_REQUEST, format!("Not accepted: {e}."), true)
        }
        E::TooManyRequests(r) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Try again in {} seconds.", r.0),
            false,
        ),
        other => {
            // Logged (when internal) and worded by the JSON mapping.
            let api = ApiError::from(other);
            let text = if api.status.is_server_error() {
                "Something went wrong on our side. Nothing was changed; try again in a moment."
                    .to_owned()
            } else {
                api.description
            };
            (api.status, text, false)
        }
    };
    Refusal {
        status,
        text,
        retry,
    }
}

/// `POST /account/reset` (no-JavaScript form): sets the new password.
pub(crate) async fn reset_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    form: Form,
) -> Page {
    let kind = Kind::Reset;
    let token = match accept(&state, &headers, kind, &form) {
        Ok(t) => t,
        Err(page) => return page,
    };
    let password = match form.require("new_password", "the new password") {
        Ok(p) => Zeroizing::new(p.to_owned()),
        Err(page) => return page,
    };
    if let Some(again) = form.get("new_password_confirm") {
        if !tessera_jose::crypto::constant_time_eq(again.as_bytes(), password.as_bytes()) {
            let why = (
                StatusCode::BAD_REQUEST,
                "The two passwords differ. Type the same new password twice.",
            );
            return form_page(&state, &headers, kind, token, Some(why));
        }
    }
    match state
        .app
        .lifecycle
        .reset_password(token, &password, &info)
        .await
    {
        Ok(()) => Page::message(
            StatusCode::OK,
            "Password changed",
            "Your password has been changed. Every device that was signed in has been signed \
             out; sign in again with the new password.",
        ),
        Err(e) => {
            let r = refusal(e);
            if r.retry {
                // The policy refused the password: the link still works, so
                // the form comes back with the reason.
                form_page(&state, &headers, kind, token, Some((r.status, &r.text)))
            } else {
                Page::message(r.status, kind.title(), &r.text)
            }
        }
    }
}

/// `POST /account/verify` (no-JavaScript form): confirms the address.
pub(crate) async fn verify_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(info): Client,
    form: Form,
) -> Page {
    let kind = Kind::Verify;
    let token = match accept(&state, &headers, kind, &form) {
        Ok(t) => t,
        Err(page) => return page,
    };
    match state.app.lifecycle.verify_email(token, &info).await {
        Ok(()) => Page::message(
            StatusCode::OK,
            "Email address confirmed",
            "Your email address is confirmed. You can close this page.",
        ),
        Err(e) => {
            let r = refusal(e);
            Page::message(r.status, kind.title(), &r.text)
        }
    }
}
