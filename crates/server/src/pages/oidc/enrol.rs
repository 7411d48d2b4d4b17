//! Required MFA on the hosted login (`require_mfa`, `require_mfa_roles`):
//! after the right password of a user who has no second factor yet, a page
//! that sets up TOTP (the QR code as an image, the key as text, a form for
//! the first code; no script needed), then the ten recovery codes, shown
//! once, with a link that continues the authorization request. The
//! `mfa_token` the password earned (an enrolment token, bound to cookie
//! mode) carries the step; the SSO session starts only after the first
//! code is right, with `amr` `[pwd, otp, mfa]`.

use super::authorize::{accept, internal, login_page, start_sso, LoginState, OOPS, TITLE};
use super::branded_to;
use crate::extract::Client;
use crate::pages::csrf;
use crate::pages::form::Form;
use crate::pages::html::{Html, Page};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tessera_core::mfa::RecoveryCodes;
use tessera_core::oidc::AuthorizeRequest;
use tessera_core::{ClientInfo, Error};

/// What the set-up page shows.
struct Shown<'a> {
    /// The key, base32, for typing in (and shown again after a wrong code).
    secret: &'a str,
    /// The QR code as a `data:` URI (first showing only).
    qr: Option<&'a str>,
    /// What went wrong, and the status.
    error: Option<(StatusCode, &'a str)>,
}

fn form(csrf: &str, request: &str, mfa_token: &str, shown: &Shown<'_>) -> Html {
    let mut b = Html::new();
    b.raw("<section class=\"panel signin\">")
        .raw("<h2>Set up two-step verification</h2>")
        .raw("<p class=\"muted\">Your account needs a second factor. Scan the code with an ")
        .raw("authenticator app (or type the key into it), then enter the 6-digit code ")
        .raw("it shows.</p>");
    if let Some((_, e)) = shown.error {
        b.raw("<p id=\"error\" class=\"result bad\" role=\"alert\">")
            .text(e)
            .raw("</p>");
    }
    if let Some(qr) = shown.qr {
        b.raw(
            "<p><img id=\"totp-qr\" width=\"200\" height=\"200\" alt=\"QR code of the key\" src=\"",
        )
        .text(qr)
        .raw("\"></p>");
    }
    b.raw("<p>Key: <code id=\"totp-secret\">")
        .text(shown.secret)
        .raw("</code></p>")
        .raw("<form id=\"enrol-form\" method=\"post\" action=\"/oauth2/login/mfa/enrol\">")
        .hidden("csrf", csrf)
        .hidden("request", request)
        .hidden("mfa_token", mfa_token)
        .hidden("secret", shown.secret)
        .raw("<label for=\"code\">Authentication code</label>")
        .raw("<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" ")
        .raw("autocomplete=\"one-time-code\" pattern=\"[0-9 ]{6,7}\" maxlength=\"7\" ")
        .raw("required autofocus>")
        .raw("<button type=\"submit\" id=\"submit\">Turn on</button>")
        .raw("</form></section>");
    b
}

fn render(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    mfa_token: &str,
    shown: &Shown<'_>,
) -> Response {
    let issued = match csrf::issue(&state.config, headers) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot make a CSRF value");
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            return super::message(&state.config, status, TITLE, OOPS);
        }
    };
    let body = form(&issued.token, &req.to_query(), mfa_token, shown);
    let status = shown.error.map_or(StatusCode::OK, |(s, _)| s);
    let mut page = Page::new(status, TITLE, body);
    page.set_cookie = issued.set_cookie;
    branded_to(&state.config, page, Some(&req.redirect_uri)).into_response()
}

/// The login page again, for a token that no longer works.
fn sign_in_again(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    e: &Error,
) -> Response {
    let why = format!("Sign in again: {e}.");
    let shown = LoginState {
        status: Some(StatusCode::UNAUTHORIZED),
        email: None,
        error: Some(&why),
        notice: None,
    };
    login_page(state, headers, req, shown)
}

/// The set-up page for the user of an enrolment token: a new TOTP key.
pub(super) async fn enrol_page(
    state: &AppState,
    headers: &HeaderMap,
    req: &AuthorizeRequest,
    mfa_token: &str,
    info: &ClientInfo,
) -> Response {
    let e = match state
        .app
        .mfa
        .begin_totp_with_token(mfa_token, info, true)
        .await
    {
        Ok(e) => e,
        Err(e @ (Error::InvalidMfaToken(_) | Error::InvalidInput { .. })) => {
            return sign_in_again(state, headers, req, &e)
        }
        Err(e) => return internal(state, e),
    };
    let qr = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(e.qr_svg.as_bytes())
    );
    let shown = Shown {
        secret: &e.secret,
        qr: Some(&qr),
        error: None,
    };
    render(state, headers, req, mfa_token, &shown)
}

/// The authorization request to continue with once the user is signed in:
/// the same request, less `prompt=login` (the user just signed in).
fn continue_url(req: &AuthorizeRequest) -> String {
    let query = req.to_query();
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "prompt" {
            let rest: Vec<&str> = v.split(' ').filter(|p| *p != "login").collect();
            if !rest.is_empty() {
                out.append_pair(&k, &rest.join(" "));
            }
        } else {
            out.append_pair(&k, &v);
        }
    }
    format!("/oauth2/authorize?{}", out.finish())
}

/// The recovery codes, once, and the way on.
fn codes_page(state: &AppState, req: &AuthorizeRequest, codes: &RecoveryCodes) -> Response {
    let mut b = Html::new();
    b.raw("<section class=\"panel signin\">")
        .raw("<h2>Two-step verification is on</h2>")
        .raw("<p>Keep these recovery codes somewhere safe. Each one signs you in once ")
        .raw("if you lose your authenticator. They are shown only now.</p>")
        .raw("<ul id=\"recovery-codes\" class=\"codes\">");
    for c in &codes.0 {
        b.raw("<li><code>").text(c).raw("</code></li>");
    }
    b.raw("</ul><p><a id=\"continue\" class=\"button\" href=\"")
        .text(&continue_url(req))
        .raw("\">Continue</a></p></section>");
    let page = Page::new(StatusCode::OK, TITLE, b);
    branded_to(&state.config, page, Some(&req.redirect_uri)).into_response()
}

/// `POST /oauth2/login/mfa/enrol`: the first code of the new key.
pub(crate) async fn enrol_post(
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
    // Shown again after a wrong code; the key that counts is the store's.
    let secret: String = form
        .get("secret")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    let code = form.get("code").unwrap_or_default().trim();
    let again = |status, why: &str| {
        let shown = Shown {
            secret: &secret,
            qr: None,
            error: Some((status, why)),
        };
        render(&state, &headers, &req, token, &shown)
    };
    let done = state
        .app
        .mfa
        .confirm_totp_with_token_for_sso(token, code, &info)
        .await;
    match done {
        Ok((codes, user)) => {
            let amr = ["pwd", "otp", "mfa"];
            let cookie = match start_sso(&state, &headers, &user.id, &amr, &info).await {
                Ok((_, c)) => c,
                Err(res) => return res,
            };
            let mut res = codes_page(&state, &req, &codes);
            if let Some(c) = cookie {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            res
        }
        Err(Error::InvalidMfaCode) => again(
            StatusCode::UNAUTHORIZED,
            "That code is not correct. Check the time on your device and try again.",
        ),
        Err(Error::TooManyRequests(r)) => {
            let why = format!("Too many attempts. Try again in {} seconds.", r.0);
            let mut res = again(StatusCode::TOO_MANY_REQUESTS, &why);
            if let Ok(v) = HeaderValue::from_str(&r.0.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(Error::InvalidInput { field: "code", .. }) => again(
            StatusCode::BAD_REQUEST,
            "Enter the 6-digit code from your app.",
        ),
        Err(e @ (Error::InvalidMfaToken(_) | Error::InvalidInput { .. })) => {
            sign_in_again(&state, &headers, &req, &e)
        }
        Err(e) => internal(&state, e),
    }
}
