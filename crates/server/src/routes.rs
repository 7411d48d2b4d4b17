//! Handlers. Each one extracts, calls `tessera-core`, and shapes the answer.

use crate::cookie;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, Bearer, Client, JsonBody, OptionalJson, PathParam};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::{
    AuditEvent, AuditList, AuditQuery, Credentials, ErrorBody, JwkSet, KeyInfo, KeyList,
    LoginRequest, MeResponse, RefreshRequest, RevokedCount, RolesRequest, RotateQuery,
    ServerMetadata, SessionList, SessionView, Status, TesseraEndpoints, TokenResponse, TokenType,
    UserList, UserView, UsersQuery,
};
use tessera_core::TokenPair;
use tessera_store::User;

/// The wire view of a user.
pub(crate) fn user_view(u: User) -> UserView {
    UserView {
        id: u.id,
        email: u.email,
        roles: u.roles,
        created_at: u.created_at,
    }
}

/// The wire view of a key.
pub(crate) fn key_info(k: tessera_core::KeyInfo) -> KeyInfo {
    KeyInfo {
        kid: k.kid,
        alg: k.alg,
        created_at: k.created_at,
        activates_at: k.activates_at,
        retired_at: k.retired_at,
        signing: k.signing,
    }
}

/// The one token answer of a pair (login, refresh, and the `password` and
/// `refresh_token` grants of `/oauth2/token`).
pub(crate) fn token_body(pair: &TokenPair) -> TokenResponse {
    TokenResponse {
        access_token: pair.access_token.clone(),
        token_type: TokenType::Bearer,
        expires_in: pair.expires_in,
        refresh_token: Some(pair.refresh_token.as_str().to_owned()),
        refresh_token_expires_in: pair.refresh_token_expires_in,
    }
}

/// A token answer; never cached.
pub(crate) fn token_response(pair: &TokenPair) -> Response {
    no_store(Json(token_body(pair)).into_response())
}

/// A cookie-mode token answer: the refresh token is only in `Set-Cookie`.
fn cookie_response(s: &AppState, pair: &TokenPair) -> ApiResult<Response> {
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

pub(crate) fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
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
    responses(
        (status = 200, description = "A token pair (`Cache-Control: no-store`). In cookie mode the \
            refresh token is only in `Set-Cookie`, not in the body", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "Cookie mode only: the HttpOnly refresh cookie"))),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many failures; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn login(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let pair = s
        .app
        .sessions
        .login(&body.email, &body.password, &ctx)
        .await?;
    if body.cookie {
        cookie_response(&s, &pair)
    } else {
        Ok(token_response(&pair))
    }
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
    ),
    responses(
        (status = 200, description = "A new token pair; the refresh token rotates (cookie mode: in `Set-Cookie`)",
            body = TokenResponse),
        (status = 400, description = "No refresh token, or a malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_grant`: unknown, expired, revoked or reused token \
            (reuse revokes the session; cookie mode also clears the cookie)", body = ErrorBody),
        (status = 403, description = "`csrf_failed` (cookie mode)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn refresh(
    State(s): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshRequest>,
) -> ApiResult<Response> {
    let permit = s.app.sessions.admit_refresh(&ctx).await?;
    match refresh_token_of(&s, &headers, body)? {
        Carrier::Body(t) => {
            let (pair, _outcome) = s.app.sessions.refresh_admitted(permit, &t, &ctx).await?;
            Ok(token_response(&pair))
        }
        Carrier::Cookie(t) => match s.app.sessions.refresh_admitted(permit, &t, &ctx).await {
            Ok((pair, _outcome)) => cookie_response(&s, &pair),
            Err(e) => {
                // A dead cookie is cleared so the browser stops sending it.
                let mut res = ApiError::from(e).into_response();
                if let Some(c) = cookie::clear(&s.config) {
                    res.headers_mut().append(header::SET_COOKIE, c);
                }
                Ok(res)
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
    let mut res = StatusCode::NO_CONTENT.into_response();
    if from_cookie {
        if let Some(c) = cookie::clear(&s.config) {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    Ok(res)
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

#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
    )
)]
pub(crate) async fn me(
    State(s): State<AppState>,
    Bearer(who): Bearer,
) -> ApiResult<Json<MeResponse>> {
    let user = s.app.accounts.me(&who).await?;
    Ok(Json(MeResponse {
        id: user.id,
        email: user.email,
        roles: user.roles,
        sid: who.session_id().map(str::to_owned),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/sessions",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's live sessions", body = SessionList),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
    )
)]
pub(crate) async fn sessions(
    State(s): State<AppState>,
    Bearer(who): Bearer,
) -> ApiResult<Json<SessionList>> {
    let current = who.session_id().map(str::to_owned);
    let sessions = s
        .app
        .sessions
        .list(&who)
        .await?
        .into_iter()
        .map(|x| SessionView {
            current: current.as_deref() == Some(x.id.as_str()),
            created_at: x.created_at,
            last_used_at: x.last_used_at,
            expires_at: x.expires_at.min(x.idle_expires_at),
            user_agent: x.user_agent,
            ip: x.ip,
            id: x.id,
        })
        .collect();
    Ok(Json(SessionList { sessions }))
}

#[utoipa::path(
    delete,
    path = "/v1/sessions/{id}",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id (one of the caller's)")),
    responses(
        (status = 204, description = "The session is ended"),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 404, description = "No such session of the caller", body = ErrorBody),
    )
)]
pub(crate) async fn end_session(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    PathParam(id): PathParam<String>,
) -> ApiResult<StatusCode> {
    s.app.sessions.end(&who, &id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /.well-known/jwks.json`. The body is the JWK Set that core
/// serialises once per key change (`KeyState::jwks_json`), sent as is.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "discovery",
    responses(
        (status = 200, description = "The public keys", body = JwkSet, content_type = "application/jwk-set+json",
            headers(("Cache-Control" = String, description = "`public, max-age=N, must-revalidate`"))),
    )
)]
pub(crate) async fn jwks(State(s): State<AppState>) -> Response {
    let jwks = s.app.tokens.jwks_json();
    let max_age = s.config.key_publish_lead.0.as_secs().min(3600);
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jwk-set+json"),
        )],
        jwks.to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}, must-revalidate")) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res
}

/// The server metadata: one document for both discovery paths.
fn metadata(s: &AppState) -> ServerMetadata {
    let iss = s.config.issuer();
    let at = |path: &str| format!("{iss}{path}");
    let list = |items: &[&str]| items.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let auth_methods = list(&["client_secret_basic", "client_secret_post", "none"]);
    ServerMetadata {
        jwks_uri: at("/.well-known/jwks.json"),
        token_endpoint: at("/oauth2/token"),
        revocation_endpoint: at("/oauth2/revoke"),
        introspection_endpoint: at("/oauth2/introspect"),
        revocation_feed_endpoint: at("/v1/revocations"),
        registration_endpoint: at("/v1/auth/register"),
        userinfo_endpoint: at("/v1/me"),
        grant_types_supported: list(&["password", "refresh_token", "client_credentials"]),
        response_types_supported: list(&["token"]),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods,
        introspection_endpoint_auth_methods_supported: list(&[
            "client_secret_basic",
            "client_secret_post",
        ]),
        subject_types_supported: list(&["public"]),
        id_token_signing_alg_values_supported: vec![s.config.signing_alg.clone()],
        access_token_signing_alg_values_supported: vec![s.config.signing_alg.clone()],
        claims_supported: list(&[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "sid",
            "roles",
            "scope",
            "client_id",
        ]),
        tessera_endpoints: TesseraEndpoints {
            register: at("/v1/auth/register"),
            login: at("/v1/auth/login"),
            refresh: at("/v1/auth/refresh"),
            logout: at("/v1/auth/logout"),
            logout_all: at("/v1/auth/logout-all"),
            sessions: at("/v1/sessions"),
        },
        issuer: iss,
    }
}

fn metadata_response(s: &AppState) -> Response {
    let mut res = Json(metadata(s)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "discovery",
    responses(
        (status = 200, description = "Server metadata (OpenID Connect Discovery / RFC 8414)", body = ServerMetadata,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
pub(crate) async fn discovery(State(s): State<AppState>) -> Response {
    metadata_response(&s)
}

#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "discovery",
    responses(
        (status = 200, description = "Authorization server metadata (RFC 8414); same body as `/.well-known/openid-configuration`",
            body = ServerMetadata,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
pub(crate) async fn oauth_authorization_server(State(s): State<AppState>) -> Response {
    metadata_response(&s)
}

#[utoipa::path(
    get,
    path = "/v1/admin/users",
    tag = "admin",
    security(("bearer" = [])),
    params(UsersQuery),
    responses(
        (status = 200, description = "One page of users, by email", body = UserList),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_users(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    q: Result<Query<UsersQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<UserList>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    let users: Vec<UserView> = s
        .app
        .accounts
        .list_users(q.after.as_deref(), limit)
        .await?
        .into_iter()
        .map(user_view)
        .collect();
    let next = if users.len() as u32 >= limit.clamp(1, 500) {
        users.last().map(|u| u.email.clone())
    } else {
        None
    };
    Ok(Json(UserList { users, next }))
}

#[utoipa::path(
    put,
    path = "/v1/admin/users/{id}/roles",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = RolesRequest,
    responses(
        (status = 200, description = "The user with its new roles", body = UserView),
        (status = 400, description = "Malformed body or bad role name", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn admin_set_roles(
    State(s): State<AppState>,
    Client(ctx): Client,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<RolesRequest>,
) -> ApiResult<Json<UserView>> {
    let user = s.app.accounts.set_roles(&id, &body.roles, &ctx).await?;
    Ok(Json(user_view(user)))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/users/{id}/sessions",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Every session of the user is revoked", body = RevokedCount),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn admin_revoke_sessions(
    State(s): State<AppState>,
    Client(ctx): Client,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<RevokedCount>> {
    let n = s.app.sessions.revoke_user_sessions(&id, &ctx).await?;
    Ok(Json(RevokedCount { revoked: n as u64 }))
}

#[utoipa::path(
    post,
    path = "/v1/admin/keys/rotate",
    tag = "admin",
    security(("bearer" = [])),
    params(RotateQuery),
    responses(
        (status = 201, description = "The new key", body = KeyInfo),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_rotate_keys(
    State(s): State<AppState>,
    Client(ctx): Client,
    Admin(_admin): Admin,
    q: Result<Query<RotateQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<(StatusCode, Json<KeyInfo>)> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let info = s
        .app
        .tokens
        .rotate_keys(q.immediate.unwrap_or(false), &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(key_info(info))))
}

#[utoipa::path(
    get,
    path = "/v1/admin/keys",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The published keys", body = KeyList),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_keys(State(s): State<AppState>, Admin(_admin): Admin) -> Json<KeyList> {
    Json(KeyList {
        keys: s.app.tokens.key_infos().into_iter().map(key_info).collect(),
    })
}

/// `GET /v1/admin/audit?before=<id>&limit=<n>`: newest first; `next` pages back.
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit events, newest first", body = AuditList),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_audit(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditList>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = s.app.audit.before(q.before, limit).await?;
    let next = if rows.len() as u32 == limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let events = rows
        .into_iter()
        .map(|r| AuditEvent {
            id: r.id,
            at: r.event.at,
            event: r.event.event,
            user_id: r.event.user_id,
            session_id: r.event.session_id,
            ip: r.event.ip,
            user_agent: r.event.user_agent,
            detail: r.event.detail,
        })
        .collect();
    Ok(Json(AuditList { events, next }))
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up (`{\"status\": \"ok\"}`)", body = Status))
)]
pub(crate) async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
    })
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers (`{\"status\": \"ready\"}`)", body = Status),
        (status = 503, description = "`not_ready`: the database does not answer", body = ErrorBody),
    )
)]
pub(crate) async fn readyz(State(s): State<AppState>) -> ApiResult<Json<Status>> {
    match s.app.maintenance.ready().await {
        Ok(()) => Ok(Json(Status {
            status: "ready".into(),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database does not answer",
            ))
        }
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}
