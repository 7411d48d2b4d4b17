//! Liveness and readiness.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tessera_api::{ErrorBody, Status};

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
