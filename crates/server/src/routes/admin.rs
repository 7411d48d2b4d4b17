//! Administration (role `admin`): users, roles, sessions, keys and audit.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, Client, JsonBody, PathParam};
use crate::respond::user_view;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use tessera_api::{
    AuditEvent, AuditList, AuditQuery, ErrorBody, KeyInfo, KeyList, KeyRevocation, RevokedCount,
    RolesRequest, RotateQuery, UserList, UserView, UsersQuery,
};

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
    let listed = s.app.accounts.list_users(q.after.as_deref(), limit).await?;
    let mut users: Vec<UserView> = Vec::with_capacity(listed.len());
    for u in listed {
        let factors = s.app.mfa.state(&u.id).await?.factors();
        users.push(UserView {
            mfa: Some(factors),
            ..user_view(u)
        });
    }
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
        (status = 400, description = "Bad query; or the HS256/384/512 mode, whose key comes from configuration (`hs_secret`)", body = ErrorBody),
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
    Client(ctx): Client,
    Admin(_admin): Admin,
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
            count: r.count,
            last_at: r.last_at,
        })
        .collect();
    Ok(Json(AuditList { events, next }))
}
