//! The audit log and the overview (role `admin`): `GET /v1/admin/audit`
//! with its filters, and `GET /v1/admin/overview`.

use crate::error::{ApiError, ApiResult};
use crate::extract::Admin;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::Json;
use std::collections::BTreeMap;
use tessera_api::{
    AuditEvent, AuditList, AuditQuery, ErrorBody, EventCount, Overview, SigningKeyAge, Warning,
};
use tessera_store::AuditFilter;

/// A filter value of `GET /v1/admin/audit`: 1 to 200 characters, no NUL.
fn text_filter(name: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v {
        Some(t) if t.is_empty() || t.chars().count() > 200 || t.contains('\0') => Err(
            ApiError::bad_request(format!("{name} must be 1 to 200 characters, without NUL")),
        ),
        v => Ok(v),
    }
}

/// The filter a query asks for, or a 400.
fn filter(q: AuditQuery) -> ApiResult<AuditFilter> {
    if let Some(e) = &q.event {
        let ok = (1..=64).contains(&e.len())
            && e.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.');
        if !ok {
            return Err(ApiError::bad_request(
                "event must be an event name such as login.success",
            ));
        }
    }
    Ok(AuditFilter {
        before: q.before,
        event: q.event,
        user_id: text_filter("user_id", q.user_id)?,
        client_id: text_filter("client_id", q.client_id)?,
        actor: text_filter("actor", q.actor)?,
        since: q.since,
        until: q.until,
    })
}

/// `GET /v1/admin/audit?before=&limit=&event=&user_id=&client_id=&actor=&since=&until=`:
/// newest first; `next` pages back.
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit events matching every filter given, newest first", body = AuditList),
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
    let rows = s.app.audit.search(&filter(q)?, limit).await?;
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
            actor: r.event.actor,
            client_id: r.event.client_id,
            count: r.count,
            last_at: r.last_at,
        })
        .collect();
    Ok(Json(AuditList { events, next }))
}

/// The wire overview.
pub(crate) fn overview_body(o: tessera_core::overview::Overview) -> Overview {
    let mut counts = BTreeMap::new();
    let mut series = BTreeMap::new();
    for x in o.series {
        counts.insert(
            x.name.to_owned(),
            EventCount {
                hour: x.hour,
                day: x.day,
            },
        );
        series.insert(x.name.to_owned(), x.hourly.to_vec());
    }
    Overview {
        counts,
        series,
        active_sessions: o.active_sessions,
        users: o.users,
        signing_key: o.signing_key.map(|k| SigningKeyAge {
            kid: k.kid,
            age_seconds: k.age_seconds,
            rotates_at: k.rotates_at,
        }),
        warnings: o
            .warnings
            .into_iter()
            .map(|w| Warning {
                code: w.code.to_owned(),
                message: w.message,
            })
            .collect(),
    }
}

/// `GET /v1/admin/overview`.
#[utoipa::path(
    get,
    path = "/v1/admin/overview",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts of the last hour and day from the audit log, \
            hourly series, live sessions, accounts, the signing key's age, and warnings", body = Overview),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_overview(
    State(s): State<AppState>,
    Admin(_admin): Admin,
) -> ApiResult<Json<Overview>> {
    let facts = tessera_core::overview::ServerFacts {
        smtp_configured: s.config.smtp_url.is_some(),
    };
    let o = s.app.audit.overview(facts).await?;
    Ok(Json(overview_body(o)))
}
