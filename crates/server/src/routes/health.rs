//! Liveness, readiness and metrics.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// `GET /metrics` in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String,
            content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "`metrics_token` is set and the request lacks it", body = ErrorBody),
        (status = 404, description = "Metrics are not available in this process", body = ErrorBody),
    )
)]
pub(crate) async fn render(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &s.config.metrics_token {
        if !metrics_token_ok(expected, &headers) {
            let mut res = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "/metrics requires the metrics bearer token",
            )
            .into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return res;
        }
    }
    match &s.metrics {
        Some(m) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            m.render(),
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "metrics are not available in this process",
        )
        .into_response(),
    }
}

/// Whether `Authorization: Bearer <token>` carries `expected`: the SHA-256
/// digests are compared in constant time, so neither the content nor the
/// length of the token leaks through timing.
fn metrics_token_ok(expected: &str, headers: &HeaderMap) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    tessera_jose::crypto::constant_time_eq(
        &tessera_jose::crypto::sha256(given.trim().as_bytes()),
        &tessera_jose::crypto::sha256(expected.as_bytes()),
    )
}
