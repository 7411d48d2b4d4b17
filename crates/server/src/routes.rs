//! Handlers. Each one extracts, calls `tessera-core`, and shapes the answer.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, Bearer, Client, JsonBody};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tessera_core::TokenPair;
use tessera_store::User;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolesBody {
    roles: Vec<String>,
}

#[derive(Serialize)]
pub(crate) struct UserView {
    id: String,
    email: String,
    roles: Vec<String>,
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

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

pub(crate) async fn register(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<Credentials>,
) -> ApiResult<Response> {
    let user = s.auth.register(&body.email, &body.password, &ctx).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(user))).into_response())
}

pub(crate) async fn login(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<Credentials>,
) -> ApiResult<Response> {
    let pair = s.auth.login(&body.email, &body.password, &ctx).await?;
    Ok(token_response(&pair))
}

pub(crate) async fn refresh(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<Response> {
    let (pair, _outcome) = s.auth.refresh(&body.refresh_token, &ctx).await?;
    Ok(token_response(&pair))
}

pub(crate) async fn logout(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<StatusCode> {
    s.auth.logout(&body.refresh_token, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn logout_all(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
) -> ApiResult<StatusCode> {
    s.auth.logout_all(&who, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn me(State(s): State<AppState>, Bearer(who): Bearer) -> ApiResult<Json<Value>> {
    let user = s.auth.me(&who).await?;
    Ok(Json(json!({
        "id": user.id,
        "email": user.email,
        "roles": user.roles,
        "sid": who.session_id(),
    })))
}

pub(crate) async fn sessions(
    State(s): State<AppState>,
    Bearer(who): Bearer,
) -> ApiResult<Json<Value>> {
    let current = who.session_id().map(str::to_owned);
    let list: Vec<Value> = s
        .auth
        .sessions(&who)
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

pub(crate) async fn end_session(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.auth.end_session(&who, &id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn jwks(State(s): State<AppState>) -> Response {
    let now = s.auth.clock().now();
    let keys = s.auth.keys().current(now);
    let max_age = s.config.key_publish_lead.0.as_secs().min(3600);
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jwk-set+json"),
        )],
        keys.jwks_json().to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}, must-revalidate")) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res
}

pub(crate) async fn discovery(State(s): State<AppState>) -> Response {
    let iss = s.config.issuer();
    let body = json!({
        "issuer": iss,
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "token_endpoint": format!("{iss}/v1/auth/login"),
        "registration_endpoint": format!("{iss}/v1/auth/register"),
        "userinfo_endpoint": format!("{iss}/v1/me"),
        "grant_types_supported": ["password", "refresh_token"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["none"],
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    after: Option<String>,
    limit: Option<u32>,
}

pub(crate) async fn admin_users(
    State(s): State<AppState>,
    Admin(_): Admin,
    q: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    let users: Vec<UserView> = s
        .auth
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

pub(crate) async fn admin_set_roles(
    State(s): State<AppState>,
    Client(ctx): Client,
    Admin(_): Admin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RolesBody>,
) -> ApiResult<Json<UserView>> {
    let user = s.auth.set_roles(&id, &body.roles, &ctx).await?;
    Ok(Json(user.into()))
}

pub(crate) async fn admin_revoke_sessions(
    State(s): State<AppState>,
    Client(ctx): Client,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let n = s.auth.revoke_user_sessions(&id, &ctx).await?;
    Ok(Json(json!({ "revoked": n })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateQuery {
    immediate: Option<bool>,
}

pub(crate) async fn admin_rotate_keys(
    State(s): State<AppState>,
    Client(ctx): Client,
    Admin(_): Admin,
    q: Result<Query<RotateQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let info = s
        .auth
        .rotate_keys(q.immediate.unwrap_or(false), &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

pub(crate) async fn admin_keys(State(s): State<AppState>, Admin(_): Admin) -> Json<Value> {
    let now = s.auth.clock().now();
    let keys = s.auth.keys().current(now);
    Json(json!({ "keys": keys.infos() }))
}

pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub(crate) async fn readyz(State(s): State<AppState>) -> Response {
    match s.auth.store().ping().await {
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
