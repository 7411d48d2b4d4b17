//! Administration (role `admin`): users, roles, sessions, keys and audit.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Acting, Admin, JsonBody, PathParam};
use crate::respond::user_view;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use tessera_api::{
    AdminSessionView, ErrorBody, KeyInfo, KeyList, KeyRevocation, KeyState, RevokedCount,
    RolesRequest, RotateQuery, UserDetail, UserList, UserView, UsersQuery,
};

/// The wire view of a published key.
pub(crate) fn key_info(k: tessera_core::KeyInfo) -> KeyInfo {
    let state = if k.signing {
        KeyState::Signing
    } else if k.retired_at.is_some() {
        KeyState::Retiring
    } else {
        KeyState::Published
    };
    KeyInfo {
        kid: k.kid,
        alg: k.alg,
        created_at: k.created_at,
        activates_at: k.activates_at,
        retired_at: k.retired_at,
        signing: k.signing,
        state,
        revoked_at: None,
    }
}

/// The wire view of a revoked key (what the store kept of it).
fn revoked_key_info(k: tessera_store::RevokedKeyRecord) -> KeyInfo {
    KeyInfo {
        kid: k.kid,
        alg: k.alg.unwrap_or_default(),
        created_at: k.created_at.unwrap_or(0),
        activates_at: k.activates_at.unwrap_or(0),
        retired_at: None,
        signing: false,
        state: KeyState::Revoked,
        revoked_at: Some(k.revoked_at),
    }
}

/// `GET /v1/admin/users?q=<email prefix>&after=<email>&limit=<n>`.
#[utoipa::path(
    get,
    path = "/v1/admin/users",
    tag = "admin",
    security(("bearer" = [])),
    params(UsersQuery),
    responses(
        (status = 200, description = "One page of users, by email (only emails starting \
            with `q`, compared lower-cased, when given)", body = UserList),
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
    if q.q.as_ref().is_some_and(|p| p.chars().count() > 320) {
        return Err(ApiError::bad_request("q must be at most 320 characters"));
    }
    let limit = q.limit.unwrap_or(100);
    let users: Vec<UserView> = s
        .app
        .accounts
        .search_users(q.q.as_deref().unwrap_or(""), q.after.as_deref(), limit)
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
    Acting(ctx): Acting,
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
    Acting(ctx): Acting,
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
        (status = 400, description = "Bad query; or the HS256/384/512 mode, whose key comes from configuration (`hs_secret`)", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_rotate_keys(
    State(s): State<AppState>,
    Acting(ctx): Acting,
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
    post,
    path = "/v1/admin/keys/{kid}/revoke",
    tag = "admin",
    security(("bearer" = [])),
    params(("kid" = String, Path, description = "The key to revoke")),
    responses(
        (status = 200, description = "Revoked: unpublished at once and its tokens refused; a signing \
            key is replaced by a new key that signs at once. Sessions are not ended (refresh tokens \
            do not depend on signing keys). Other instances drop the key within \
            2 seconds; resource servers following the revocation feed drop it at their \
            next poll", body = KeyRevocation),
        (status = 400, description = "A path segment is not valid, or HS mode (the key is \
            `hs_secret` from configuration: replace it there)", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    )
)]
pub(crate) async fn admin_revoke_key(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam(kid): PathParam<String>,
) -> ApiResult<Json<KeyRevocation>> {
    let (revoked, signing) = s.app.tokens.revoke_key(&kid, &ctx).await?;
    Ok(Json(KeyRevocation {
        revoked: key_info(revoked),
        signing: key_info(signing),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/admin/keys",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The published keys with their state, then the revoked \
            ones", body = KeyList),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_keys(
    State(s): State<AppState>,
    Admin(_admin): Admin,
) -> ApiResult<Json<KeyList>> {
    let published = s.app.tokens.key_infos().into_iter().map(key_info);
    let revoked = s.app.tokens.revoked_keys().await?;
    Ok(Json(KeyList {
        keys: published
            .chain(revoked.into_iter().map(revoked_key_info))
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/admin/users/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user and their live sessions", body = UserDetail),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn admin_user(
    State(s): State<AppState>,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<UserDetail>> {
    let user = s.app.accounts.user(&id).await?;
    let sessions = s
        .app
        .sessions
        .live_sessions_of(&user.id)
        .await?
        .into_iter()
        .map(|x| AdminSessionView {
            last_used_at: (x.last_used_at != x.created_at).then_some(x.last_used_at),
            expires_at: x.expires_at.min(x.idle_expires_at),
            id: x.id,
            created_at: x.created_at,
            client_id: x.client_id,
            ip: x.ip,
            user_agent: x.user_agent,
        })
        .collect();
    Ok(Json(UserDetail {
        user: user_view(user),
        sessions,
    }))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/users/{id}/sessions/{sid}",
    tag = "admin",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "User id"),
        ("sid" = String, Path, description = "Session id"),
    ),
    responses(
        (status = 204, description = "The session is revoked (it appears in the revocation feed)"),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such live session of that user", body = ErrorBody),
    )
)]
pub(crate) async fn admin_end_session(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam((id, sid)): PathParam<(String, String)>,
) -> ApiResult<StatusCode> {
    s.app.sessions.end_user_session(&id, &sid, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
