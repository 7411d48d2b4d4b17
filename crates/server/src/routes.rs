//! Handlers. Each one extracts, calls `tessera-core`, and shapes the answer.

use crate::cookie;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, Bearer, Client, JsonBody, OptionalJson, PathParam};
use crate::openapi::{
    AuditList, ErrorBody, JwkSet, KeyInfo, KeyList, MeResponse, RevokedCount, ServerMetadata,
    SessionList, Status, TokenResponse, UserList,
};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tessera_core::TokenPair;
use tessera_store::User;
use utoipa::{IntoParams, ToSchema};

/// Registration credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    /// Email address (normalised; unique).
    #[schema(example = "alice@example.com")]
    email: String,
    /// Password (length rules apply).
    password: String,
}

/// Login credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    /// Email address.
    #[schema(example = "alice@example.com")]
    email: String,
    /// Password.
    password: String,
    /// Cookie mode: the refresh token goes into an HttpOnly cookie, not the JSON.
    #[serde(default)]
    cookie: bool,
}

/// The refresh token, in bearer mode. Omit the body (or the field) in
/// cookie mode.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshBody {
    /// The refresh token.
    refresh_token: Option<String>,
}

/// A user's complete set of roles.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolesBody {
    /// The new roles (replaces the old set).
    #[schema(example = json!(["admin"]))]
    roles: Vec<String>,
}

/// A user.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserView {
    /// User id.
    id: String,
    /// Normalised email.
    email: String,
    /// Roles.
    roles: Vec<String>,
    /// Unix seconds.
    created_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            roles: u.roles,
            created_at: u.created_at,
        }
    }
}

/// A token answer; never cached.
pub(crate) fn token_response(pair: &TokenPair) -> Response {
    let body = json!({
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token.as_str(),
        "refresh_token_expires_in": pair.refresh_token_expires_in,
    });
    no_store(Json(body).into_response())
}

/// A cookie-mode token answer: the refresh token is only in `Set-Cookie`.
fn cookie_response(s: &AppState, pair: &TokenPair) -> ApiResult<Response> {
    let body = json!({
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token_expires_in": pair.refresh_token_expires_in,
    });
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
    body: Option<RefreshBody>,
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

fn no_store(mut res: Response) -> Response {
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
        (status = 400, description = "Malformed body, bad email or weak password", body = ErrorBody),
        (status = 403, description = "`registration_closed`", body = ErrorBody),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<Credentials>,
) -> ApiResult<Response> {
    let user = s
        .app
        .accounts
        .register(&body.email, &body.password, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(user))).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "A token pair (`Cache-Control: no-store`). In cookie mode the \
            refresh token is only in `Set-Cookie`, not in the body", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "Cookie mode only: the HttpOnly refresh cookie"))),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many failures; see `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<LoginBody>,
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
    request_body(content = Option<RefreshBody>, description = "Bearer mode: the refresh token. \
        Cookie mode: no body; the refresh cookie and `X-Tessera-CSRF` are required"),
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
        (status = 429, description = "Rate limited; see `Retry-After`", body = ErrorBody),
    )
)]
pub(crate) async fn refresh(
    State(s): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshBody>,
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
    request_body(content = Option<RefreshBody>, description = "Bearer mode: the refresh token. \
        Cookie mode: no body; the refresh cookie and `X-Tessera-CSRF` are required"),
    params(
        ("X-Tessera-CSRF" = Option<String>, Header, description = "Cookie mode: any non-empty value"),
    ),
    responses(
        (status = 204, description = "The session is ended (cookie mode: the cookie is cleared)"),
        (status = 400, description = "No refresh token, or a malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_grant`", body = ErrorBody),
        (status = 403, description = "`csrf_failed` (cookie mode)", body = ErrorBody),
    )
)]
pub(crate) async fn logout(
    State(s): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshBody>,
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
pub(crate) async fn me(State(s): State<AppState>, Bearer(who): Bearer) -> ApiResult<Json<Value>> {
    let user = s.app.accounts.me(&who).await?;
    Ok(Json(json!({
        "id": user.id,
        "email": user.email,
        "roles": user.roles,
        "sid": who.session_id(),
    })))
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
) -> ApiResult<Json<Value>> {
    let current = who.session_id().map(str::to_owned);
    let list: Vec<Value> = s
        .app
        .sessions
        .list(&who)
        .await?
        .into_iter()
        .map(|x| {
            json!({
                "id": x.id,
                "created_at": x.created_at,
                "last_used_at": x.last_used_at,
                "expires_at": x.expires_at.min(x.idle_expires_at),
                "user_agent": x.user_agent,
                "ip": x.ip,
                "current": current.as_deref() == Some(x.id.as_str()),
            })
        })
        .collect();
    Ok(Json(json!({ "sessions": list })))
}

#[utoipa::path(
    delete,
    path = "/v1/sessions/{id}",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id (one of the caller's)")),
    responses(
        (status = 204, description = "The session is ended"),
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
    let iss = s.config.issuer();
    let body = json!({
        "issuer": iss,
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "revocation_feed_endpoint": format!("{iss}/v1/revocations"),
        "registration_endpoint": format!("{iss}/v1/auth/register"),
        "userinfo_endpoint": format!("{iss}/v1/me"),
        "grant_types_supported": ["password", "refresh_token", "client_credentials"],
        "response_types_supported": ["token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [s.config.signing_alg],
        "access_token_signing_alg_values_supported": [s.config.signing_alg],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "sid", "roles", "scope", "client_id"],
        "tessera_endpoints": {
            "register": format!("{iss}/v1/auth/register"),
            "login": format!("{iss}/v1/auth/login"),
            "refresh": format!("{iss}/v1/auth/refresh"),
            "logout": format!("{iss}/v1/auth/logout"),
            "logout_all": format!("{iss}/v1/auth/logout-all"),
            "sessions": format!("{iss}/v1/sessions"),
        },
    });
    let mut res = Json(body).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// Paging for `GET /v1/admin/users`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    /// Start after this email (the previous page's `next`).
    after: Option<String>,
    /// Page size (default 100, at most 500).
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/v1/admin/users",
    tag = "admin",
    security(("bearer" = [])),
    params(Page),
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
    q: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    let users: Vec<UserView> = s
        .app
        .accounts
        .list_users(q.after.as_deref(), limit)
        .await?
        .into_iter()
        .map(UserView::from)
        .collect();
    let next = if users.len() as u32 >= limit.clamp(1, 500) {
        users.last().map(|u| u.email.clone())
    } else {
        None
    };
    Ok(Json(json!({ "users": users, "next": next })))
}

#[utoipa::path(
    put,
    path = "/v1/admin/users/{id}/roles",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    request_body = RolesBody,
    responses(
        (status = 200, description = "The user with its new roles", body = UserView),
        (status = 400, description = "Malformed body or bad role name", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn admin_set_roles(
    State(s): State<AppState>,
    Client(ctx): Client,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<RolesBody>,
) -> ApiResult<Json<UserView>> {
    let user = s.app.accounts.set_roles(&id, &body.roles, &ctx).await?;
    Ok(Json(user.into()))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/users/{id}/sessions",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Every session of the user is revoked", body = RevokedCount),
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
) -> ApiResult<Json<Value>> {
    let n = s.app.sessions.revoke_user_sessions(&id, &ctx).await?;
    Ok(Json(json!({ "revoked": n })))
}

/// Options of `POST /v1/admin/keys/rotate`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateQuery {
    /// Sign with the new key at once instead of after the publish lead time
    /// (tokens may fail for verifiers with a cached JWKS).
    immediate: Option<bool>,
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
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let info = s
        .app
        .tokens
        .rotate_keys(q.immediate.unwrap_or(false), &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
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
pub(crate) async fn admin_keys(State(s): State<AppState>, Admin(_admin): Admin) -> Json<Value> {
    Json(json!({ "keys": s.app.tokens.key_infos() }))
}

/// Paging for `GET /v1/admin/audit`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditPage {
    /// Only events older than this id (the previous page's `next`).
    before: Option<i64>,
    /// Page size (default 100, 1 to 1000).
    limit: Option<u32>,
}

/// `GET /v1/admin/audit?before=<id>&limit=<n>`: newest first; `next` pages back.
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    security(("bearer" = [])),
    params(AuditPage),
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
    q: Result<Query<AuditPage>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = s.app.audit.before(q.before, limit).await?;
    let next = if rows.len() as u32 == limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let events: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "at": r.event.at,
                "event": r.event.event,
                "user_id": r.event.user_id,
                "session_id": r.event.session_id,
                "ip": r.event.ip,
                "user_agent": r.event.user_agent,
                "detail": r.event.detail,
            })
        })
        .collect();
    Ok(Json(json!({ "events": events, "next": next })))
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up (`{\"status\": \"ok\"}`)", body = Status))
)]
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
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
pub(crate) async fn readyz(State(s): State<AppState>) -> Response {
    match s.app.maintenance.ready().await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database does not answer",
            )
            .into_response()
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
