//! OAuth 2.0 endpoints (RFC 6749 §4.3, §4.4, §6; RFC 7009; RFC 7662):
//! form-encoded requests, RFC 6749 §5.2 errors, `Cache-Control: no-store`.

use crate::cookie;
use crate::dpop::{with_nonce, DpopKey};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Client as Peer, RawBody};
use crate::respond::{no_store, token_body};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::Serialize;
use std::collections::HashMap;
use tessera_api::{
    ErrorBody, IntrospectionResponse, OAuthTokenResponse, TokenParams, TokenRequest, TokenType,
    TokenTypeHint,
};
use tessera_core::oauth::{Clients, Grant, Granted, TokenHint};
use tessera_core::Error as CoreError;
use tessera_store::Client;

fn err(error: &'static str, description: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, error, description)
}

pub(crate) fn invalid_client(description: &str) -> ApiError {
    ApiError {
        basic_challenge: true,
        ..ApiError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
}

/// Maps core errors onto RFC 6749 §5.2 codes.
fn oauth_error(e: CoreError) -> ApiError {
    match e {
        CoreError::InvalidCredentials => err("invalid_grant", "invalid username or password"),
        CoreError::InvalidGrant(why) => err("invalid_grant", why),
        CoreError::AccountDisabled | CoreError::EmailNotVerified => {
            err("invalid_grant", e.to_string())
        }
        CoreError::InvalidClient => invalid_client("client authentication failed"),
        CoreError::UnauthorizedClient(why) => err("unauthorized_client", why),
        CoreError::InvalidScope(why) => err("invalid_scope", why),
        CoreError::InvalidInput { .. } => err("invalid_request", e.to_string()),
        // The mfa grant: RFC 6749 §5.2 calls a bad grant `invalid_grant`.
        CoreError::InvalidMfaToken(_) | CoreError::InvalidMfaCode => {
            err("invalid_grant", e.to_string())
        }
        other => ApiError::from(other),
    }
}

/// Parses an `application/x-www-form-urlencoded` body; a repeated parameter
/// is an error (RFC 6749 §3.2).
fn form(headers: &HeaderMap, body: &[u8]) -> ApiResult<HashMap<String, String>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if ct.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(err(
            "invalid_request",
            "expected Content-Type: application/x-www-form-urlencoded",
        ));
    }
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(err("invalid_request", "a parameter is repeated"));
        }
    }
    Ok(out)
}

fn pct_decode(s: &str) -> Option<String> {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded inside Basic.
    let pairs: Vec<(String, String)> = form_urlencoded::parse(format!("x={s}").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.into_iter().next().map(|(_, v)| v)
}

/// Client credentials from HTTP Basic or the form; both at once is refused.
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> ApiResult<Option<(String, String)>> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| invalid_client("malformed Authorization header"))?;
            let (scheme, rest) = v
                .split_once(' ')
                .ok_or_else(|| invalid_client("malformed Authorization header"))?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(invalid_client("use HTTP Basic client authentication"));
            }
            let raw = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .map_err(|_| invalid_client("malformed Basic credentials"))?;
            let text = String::from_utf8(raw)
                .map_err(|_| invalid_client("malformed Basic credentials"))?;
            let (id, secret) = text
                .split_once(':')
                .ok_or_else(|| invalid_client("malformed Basic credentials"))?;
            let id = pct_decode(id).ok_or_else(|| invalid_client("malformed Basic credentials"))?;
            let secret =
                pct_decode(secret).ok_or_else(|| invalid_client("malformed Basic credentials"))?;
            Some((id, secret))
        }
    };
    let posted = match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
        (None, Some(_)) => return Err(err("invalid_request", "client_secret without client_id")),
        // A public client may identify itself without a secret.
        (Some(_), None) | (None, None) => None,
    };
    match (basic, posted) {
        (Some(_), Some(_)) => Err(err(
            "invalid_request",
            "use one client authentication method, not two",
        )),
        (b, p) => Ok(b.or(p)),
    }
}

pub(crate) async fn authenticate(
    clients: &Clients,
    creds: Option<(String, String)>,
) -> ApiResult<Option<Client>> {
    match creds {
        None => Ok(None),
        Some((id, secret)) => clients
            .authenticate(&id, &secret)
            .await
            .map(Some)
            .map_err(oauth_error),
    }
}

/// The public client named by the form's `client_id`, if it is one.
async fn public_client(
    clients: &Clients,
    f: &HashMap<String, String>,
) -> ApiResult<Option<Client>> {
    match f.get("client_id") {
        None => Ok(None),
        Some(id) => clients.identify_public(id).await.map_err(oauth_error),
    }
}

/// The answer to `grant_type=authorization_code`.
fn code_body(t: tessera_core::oidc::CodeTokens) -> OAuthTokenResponse {
    let mut body = OAuthTokenResponse::from(token_body(&t.pair));
    if !t.with_refresh {
        body.refresh_token = None;
        body.refresh_token_expires_in = None;
    }
    body.scope = (!t.scope.is_empty()).then_some(t.scope);
    body.id_token = t.id_token;
    body
}

/// A JSON answer that must not be cached.
fn no_store_json(body: impl Serialize) -> Response {
    no_store(Json(body).into_response())
}

fn required<'a>(f: &'a HashMap<String, String>, name: &'static str) -> ApiResult<&'a str> {
    f.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| err("invalid_request", format!("missing parameter `{name}`")))
}

/// `POST /oauth2/token`.
#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "oauth2",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security((), ("basic" = [])),
    params(
        ("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449) for `POST` and this URL: \
            the access token is bound to its key (`token_type` `DPoP`); required for clients created with \
            `--require-dpop`. Refused proofs: 400 `invalid_dpop_proof` or `use_dpop_nonce`"),
        ("X-Tessera-CSRF" = Option<String>, Header, description = "With `cookie=true`: any non-empty value"),
    ),
    responses(
        (status = 200, description = "An access token (with a refresh token for the `password` and \
            `refresh_token` grants); `Cache-Control: no-store`", body = OAuthTokenResponse),
        (status = 400, description = "RFC 6749 §5.2: `invalid_request`, `invalid_grant`, \
            `unauthorized_client`, `unsupported_grant_type` or `invalid_scope`", body = ErrorBody),
        (status = 401, description = "`invalid_client` (with `WWW-Authenticate: Basic`)", body = ErrorBody),
        (status = 403, description = "The `password` grant for an account with a second factor: \
            `mfa_required` (or `mfa_enrollment_required`), no tokens, with the `MfaRequiredBody` \
            fields (`mfa_token`, `methods`, `expires_in`); complete the login with \
            `grant_type=urn:tessera:params:oauth:grant-type:mfa` (same client, `mfa_token` and `otp` \
            or `recovery_code`) or at `/v1/auth/mfa` when no client authenticated. Or \
            `csrf_failed`: `cookie=true` without the cookie mode's CSRF proof", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn token(
    State(s): State<AppState>,
    Peer(mut ctx): Peer,
    DpopKey(jkt): DpopKey,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    ctx.dpop_jkt = jkt;
    let mut f = form(&headers, &body)?;
    let creds = client_credentials(&headers, &f)?;
    let client = match authenticate(&s.app.clients, creds).await? {
        Some(c) => Some(c),
        // A public client identifies itself with `client_id` alone.
        None => public_client(&s.app.clients, &f).await?,
    };
    let cookie_mode = cookie_delivery(&s, &headers, &mut f, client.as_ref())?;
    // A session started here is bound to the client (refresh, revoke).
    ctx.oauth_client = client.as_ref().map(|c| c.id.clone());
    let grant = Grant::from_params(|name| f.get(name).map(String::as_str));
    let granted = match s.app.oauth.exchange(client.as_ref(), grant, &ctx).await {
        Ok(g) => g,
        Err(e) => {
            // A dead refresh cookie is cleared so the browser stops sending it.
            let dead =
                cookie_mode == CookieMode::FromCookie && matches!(e, CoreError::InvalidGrant(_));
            let mut res = oauth_error(e).into_response();
            if dead {
                if let Some(c) = cookie::clear(&s.config) {
                    res.headers_mut().append(header::SET_COOKIE, c);
                }
            }
            return Ok(res);
        }
    };
    let mut body = match granted {
        Granted::Pair(pair) => OAuthTokenResponse::from(token_body(&pair)),
        Granted::Client(t) => OAuthTokenResponse {
            access_token: t.access_token,
            token_type: if ctx.dpop_jkt.is_some() {
                TokenType::DPoP
            } else {
                TokenType::Bearer
            },
            expires_in: t.expires_in,
            refresh_token: None,
            refresh_token_expires_in: None,
            scope: (!t.scope.is_empty()).then_some(t.scope),
            id_token: None,
        },
        Granted::Code(t) => code_body(t),
    };
    let set_cookie = match cookie_mode {
        CookieMode::Off => None,
        _ => body.refresh_token.take().and_then(|rt| {
            let ttl = body.refresh_token_expires_in.unwrap_or(0);
            cookie::set(&s.config, &rt, ttl)
        }),
    };
    let mut res = no_store_json(body);
    if let Some(c) = set_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(with_nonce(&s, res))
}

/// How a token request uses the HttpOnly refresh cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CookieMode {
    /// Not at all (`cookie` absent or `false`).
    Off,
    /// The answer's refresh token goes into the cookie, not the body.
    Deliver,
    /// As `Deliver`, and the refresh token being spent came from the cookie.
    FromCookie,
}

/// `cookie=true` (issue 20, the admin console): a first-party public client
/// asks for its refresh token in the HttpOnly refresh cookie (the cookie mode
/// of `/v1/auth/login`), and may then refresh with `grant_type=refresh_token`
/// and no `refresh_token`: the cookie's is used. The request must pass the
/// cookie mode's CSRF check (`X-Tessera-CSRF`, Origin, `Sec-Fetch-Site`), so a
/// cross-site form can neither plant nor spend a refresh cookie.
fn cookie_delivery(
    s: &AppState,
    headers: &HeaderMap,
    f: &mut HashMap<String, String>,
    client: Option<&Client>,
) -> ApiResult<CookieMode> {
    match f.get("cookie").map(String::as_str) {
        None | Some("false") => return Ok(CookieMode::Off),
        Some("true") => {}
        Some(_) => return Err(err("invalid_request", "`cookie` must be true or false")),
    }
    if !client.is_some_and(|c| c.public && c.first_party) {
        return Err(err(
            "invalid_request",
            "cookie delivery is for first-party public clients",
        ));
    }
    cookie::check_csrf(&s.config, headers)?;
    let refreshing = f.get("grant_type").map(String::as_str) == Some("refresh_token");
    if refreshing && f.get("refresh_token").is_none_or(String::is_empty) {
        let rt = cookie::read(&s.config, headers)
            .ok_or_else(|| err("invalid_grant", "no refresh cookie: sign in again"))?;
        f.insert("refresh_token".into(), rt);
        return Ok(CookieMode::FromCookie);
    }
    Ok(CookieMode::Deliver)
}

fn hint(f: &HashMap<String, String>) -> TokenHint {
    match TokenTypeHint::from_param(f.get("token_type_hint").map(String::as_str)) {
        Some(TokenTypeHint::AccessToken) => TokenHint::Access,
        Some(TokenTypeHint::RefreshToken) => TokenHint::Refresh,
        None => TokenHint::None,
    }
}

/// `POST /oauth2/revoke` (RFC 7009): client authentication required; 200
/// for every well-formed request, but only the client's own tokens are
/// revoked.
#[utoipa::path(
    post,
    path = "/oauth2/revoke",
    tag = "oauth2",
    request_body(content = TokenParams, content_type = "application/x-www-form-urlencoded"),
    security((), ("basic" = [])),
    responses(
        (status = 200, description = "Revoked, or the token was invalid or not issued to this client \
            and nothing changed (RFC 7009 §2.1, §2.2); empty body"),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_client`: client authentication (Basic or form) is \
            required, except that a public client identifies itself with `client_id` alone \
            (with `WWW-Authenticate: Basic`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    )
)]
pub(crate) async fn revoke(
    State(s): State<AppState>,
    Peer(ctx): Peer,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let f = form(&headers, &body)?;
    let creds = client_credentials(&headers, &f)?;
    // RFC 7009 §2.1: a public client identifies itself with `client_id`.
    let client = match authenticate(&s.app.clients, creds).await? {
        Some(c) => Some(c),
        None => public_client(&s.app.clients, &f).await?,
    };
    let Some(client) = client else {
        return Err(invalid_client("client authentication is required"));
    };
    let token = required(&f, "token")?;
    s.app
        .oauth
        .revoke(token, hint(&f), &client, &ctx)
        .await
        .map_err(oauth_error)?;
    let mut res = StatusCode::OK.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST /oauth2/introspect` (RFC 7662): client authentication and the
/// client's `introspect` permission required.
#[utoipa::path(
    post,
    path = "/oauth2/introspect",
    tag = "oauth2",
    request_body(content = TokenParams, content_type = "application/x-www-form-urlencoded"),
    security(("basic" = [])),
    responses(
        (status = 200, description = "The token's state; `Cache-Control: no-store`", body = IntrospectionResponse),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`invalid_client`: client authentication (Basic or form) is required",
            body = ErrorBody),
        (status = 403, description = "`unauthorized_client`: the client lacks the `introspect` permission \
            (`tessera clients create --grant introspect`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    )
)]
pub(crate) async fn introspect(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let f = form(&headers, &body)?;
    let creds = client_credentials(&headers, &f)?;
    let Some(client) = authenticate(&s.app.clients, creds).await? else {
        return Err(invalid_client("client authentication is required"));
    };
    let token = required(&f, "token")?;
    let body = s
        .app
        .oauth
        .introspect(token, hint(&f), &client)
        .await
        .map_err(|e| match e {
            CoreError::UnauthorizedClient(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "unauthorized_client", why)
            }
            other => oauth_error(other),
        })?;
    Ok(no_store_json(body))
}
