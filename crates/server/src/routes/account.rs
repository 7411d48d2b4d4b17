//! The caller: `/v1/me` and their own sessions.

use crate::error::ApiResult;
use crate::extract::{Bearer, Client, PathParam};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tessera_api::{ErrorBody, MeResponse, SessionList, SessionView};

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
        email_verified: user.email_verified,
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
