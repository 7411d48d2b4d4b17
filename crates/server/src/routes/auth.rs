//! Registration, login, refresh and logout, in bearer and cookie mode.

use crate::cookie;
use crate::dpop::{with_nonce, DpopKey};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Client, JsonBody, OptionalJson};
use crate::respond::{no_store, token_body, token_response, user_view};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::{
    Credentials, ErrorBody, LoginRequest, MfaRequiredBody, RefreshRequest, TokenResponse, UserView,
};
use tessera_core::TokenPair;

/// `res`, with a `Set-Cookie` that clears the refresh cookie when `clear`.
fn clearing_cookie_if(clear: bool, s: &AppState, mut res: Response) -> Response {
    if clear {
        if let Some(c) = cookie::clear(&s.config) {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    res
}

/// A cookie-mode token answer: the refresh token is only in `Set-Cookie`.
pub(crate) fn cookie_response(s: &AppState, pair: &TokenPair) -> ApiResult<Response> {
    let body = TokenResponse {
        refresh_token: None,
        ..token_body(pair)
    };
    let mut res = no_store(Json(body).into_response());
    let c = cookie::set(
        &s.config,
        &pair.refresh_token,
        pair.refresh_token_expires_in,
    )
    .ok_or_else(|| ApiError::bad_request("the refresh token cannot be set as a cookie"))?;
    res.headers_mut().append(header::SET_COOKIE, c);
    Ok(res)
}

/// Where a refresh token came from.
enum Carrier {
    Body(String),
    Cookie(String),
}

/// The refresh token of a request: from the JSON body (bearer mode), or from
/// the cookie (cookie mode, which must pass the CSRF check).
fn refresh_token_of(
    s: &AppState,
    headers: &HeaderMap,
    body: Option<RefreshRequest>,
) -> ApiResult<Carrier> {
    if let Some(t) = body.and_then(|b| b.refresh_token) {
        return Ok(Carrier::Body(t));
    }
    match cookie::read(&s.config, headers) {
        Some(t) => {
            cookie::check_csrf(&s.config, headers)?;
            Ok(Carrier::Cookie(t))
        }
        None => Err(ApiError::bad_request(
            "send refresh_token in the body, or use cookie mode",
        )),
    }
}

#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, description = "The new user", body = UserView),
        (status = 400, description = "Malformed body, bad email, or a password that is out of \
            bounds or too common", body = ErrorBody),
        (status = 403, description = "`registration_closed`", body = ErrorBody),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn register(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<Credentials>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let user = s
        .app
        .accounts
        .register(&body.email, &body.password, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(user_view(user))))
}

#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    params(
        ("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449) for `POST` and this URL: \
            the access token is then bound to its key (`token_type` `DPoP`), and so is the session's refresh token"),
    ),
    responses(
        (status = 200, description = "A token pair (`Cache-Control: no-store`). In cookie mode the \
            refresh token is only in `Set-Cookie`, not in the body", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "Cookie mode only: the HttpOnly refresh cookie"))),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 400, description = "`invalid_dpop_proof`, or `use_dpop_nonce` (with a `DPoP-Nonce` header)", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 403, description = "`mfa_required` (a second factor must follow at `/v1/auth/mfa`) or \
            `mfa_enrollment_required` (`require_mfa`: enrol TOTP at `/v1/auth/mfa/totp` first); no tokens", body = MfaRequiredBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many failures; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn login(
    State(s): State<AppState>,
    Client(mut ctx): Client,
    DpopKey(jkt): DpopKey,
    JsonBody(body): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    ctx.dpop_jkt = jkt;
    let pair = s
        .app
        .sessions
        .login_in_mode(&body.email, &body.password, &ctx, body.cookie)
        .await?;
    let res = if body.cookie {
        cookie_response(&s, &pair)?
    } else {
        token_response(&pair)
    };
    Ok(with_nonce(&s, res))
}

#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body(content = RefreshRequest, description = "Bearer mode: the refresh token. \
        Cookie mode (browsers): no body (or `{}`); the refresh cookie and `X-Tessera-CSRF` carry \
        the request instead"),
    params(
        ("X-Tessera-CSRF" = Option<String>, Header, description = "Cookie mode: any non-empty value"),
        ("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449); required, from the bound key, \
            when the session is DPoP-bound (without it the session ends)"),
    ),
    responses(
        (status = 200, description = "A new token pair; the refresh token rotates (cookie mode: in `Set-Cookie`)",
            body = TokenResponse),
        (status = 400, description = "No refresh token, or a malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_grant`: unknown, expired, revoked or reused token \
            (reuse revokes the session; cookie mode also clears the cookie, and only then)", body = ErrorBody),
        (status = 403, description = "`csrf_failed` (cookie mode)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn refresh(
    State(s): State<AppState>,
    Client(mut ctx): Client,
    DpopKey(jkt): DpopKey,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshRequest>,
) -> ApiResult<Response> {
    ctx.dpop_jkt = jkt;
    let permit = s.app.sessions.admit_refresh(&ctx).await?;
    match refresh_token_of(&s, &headers, body)? {
        Carrier::Body(t) => {
            let (pair, _outcome) = s.app.sessions.refresh_admitted(permit, &t, &ctx).await?;
            Ok(with_nonce(&s, token_response(&pair)))
        }
        Carrier::Cookie(t) => match s.app.sessions.refresh_admitted(permit, &t, &ctx).await {
            Ok((pair, _outcome)) => cookie_response(&s, &pair).map(|r| with_nonce(&s, r)),
            Err(e) => {
                // A dead cookie (`invalid_grant`) is cleared so the browser
                // stops sending it. Any other failure (a database blip, a
                // rate limit, a lost answer after a committed rotation)
                // keeps it: the user stays signed in and retries.
                let dead = matches!(e, tessera_core::Error::InvalidGrant(_));
                Ok(clearing_cookie_if(
                    dead,
                    &s,
                    ApiError::from(e).into_response(),
                ))
            }
        },
    }
}

#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    request_body(content = RefreshRequest, description = "Bearer mode: the refresh token. \
        Cookie mode (browsers): no body (or `{}`); the refresh cookie and `X-Tessera-CSRF` carry \
        the request instead"),
    params(
        ("X-Tessera-CSRF" = Option<String>, Header, description = "Cookie mode: any non-empty value"),
    ),
    responses(
        (status = 204, description = "The session is ended, or the token was unknown or already \
            spent (cookie mode: the cookie is cleared)"),
        (status = 400, description = "No refresh token, one that is not a Tessera refresh token, \
            or a malformed body", body = ErrorBody),
        (status = 403, description = "`csrf_failed` (cookie mode)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn logout(
    State(s): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshRequest>,
) -> ApiResult<Response> {
    let (token, from_cookie) = match refresh_token_of(&s, &headers, body)? {
        Carrier::Body(t) => (t, false),
        Carrier::Cookie(t) => (t, true),
    };
    s.app.sessions.logout(&token, &ctx).await?;
    let res = StatusCode::NO_CONTENT.into_response();
    Ok(clearing_cookie_if(from_cookie, &s, res))
}

#[utoipa::path(
    post,
    path = "/v1/auth/logout-all",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session of the caller is ended"),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
    )
)]
pub(crate) async fn logout_all(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
) -> ApiResult<StatusCode> {
    s.app.sessions.logout_all(&who, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
