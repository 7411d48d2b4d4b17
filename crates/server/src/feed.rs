//! `GET /v1/revocations`: the revocation feed that resource servers follow
//! (see `tessera_core::feed` for the cursor's meaning). HTTP Basic client
//! authentication; an optional long poll (`wait`, seconds).

use crate::error::{ApiError, ApiResult};
use crate::oauth::{authenticate, client_credentials, invalid_client};
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;
use std::time::Duration;
use tessera_api::{
    ErrorBody, FeedQuery, RevocationFeed, RevokedKey, RevokedSession, RevokedToken, MAX_WAIT_SECS,
};
use tessera_core::feed::{Cursor, Page};

/// How often a waiting poll looks at the store for revocations made by other
/// instances (those of this process wake it at once).
const STORE_POLL: Duration = Duration::from_secs(1);

fn params(raw: Option<&str>) -> ApiResult<(Option<Cursor>, u64)> {
    let mut seen = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if seen.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(ApiError::bad_request("a query parameter is repeated"));
        }
    }
    let mut since = None;
    let mut wait = 0;
    for (k, v) in seen {
        match k.as_str() {
            "since" if v.is_empty() => {}
            "since" => {
                since = Some(v.parse::<Cursor>().map_err(|_| {
                    ApiError::bad_request("`since` must be a cursor returned by this endpoint")
                })?)
            }
            "wait" => {
                wait = v.parse::<u64>().map_err(|_| {
                    ApiError::bad_request("`wait` must be a whole number of seconds")
                })?
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{}`",
                    k.chars().take(40).collect::<String>()
                )))
            }
        }
    }
    Ok((since, wait))
}

/// The wire page of a feed page.
fn page_body(page: &Page, max_age: i64) -> RevocationFeed {
    RevocationFeed {
        revoked: page
            .revoked
            .iter()
            .map(|r| RevokedSession {
                sid: r.sid.clone(),
                revoked_at: r.revoked_at,
            })
            .collect(),
        cursor: page.cursor.to_string(),
        more: page.more,
        max_age,
        revoked_keys: page
            .revoked_keys
            .iter()
            .map(|k| RevokedKey {
                kid: k.kid.clone(),
                revoked_at: k.revoked_at,
            })
            .collect(),
        revoked_tokens: page
            .revoked_tokens
            .iter()
            .map(|t| RevokedToken {
                jti: t.jti.clone(),
                exp: t.exp,
            })
            .collect(),
    }
}

fn render(page: &Page, max_age: i64) -> Response {
    let mut res = Json(page_body(page, max_age)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /v1/revocations?since=<cursor>&wait=<seconds>`: sessions revoked
/// recently (logout, logout everywhere, refresh-token reuse, admin), revoked
/// signing keys and revoked client-credentials tokens, so that
/// resource servers refuse their access tokens before they expire. With
/// `wait`, the request is a long poll that answers as soon as something is
/// revoked (at most 55 s, and within the request timeout).
#[utoipa::path(
    get,
    path = "/v1/revocations",
    tag = "resource-servers",
    params(FeedQuery),
    security(("basic" = [])),
    responses(
        (status = 200, description = "The revocations since the cursor (`Cache-Control: no-store`); \
            an empty list with the same cursor when the wait ended without change", body = RevocationFeed),
        (status = 400, description = "`invalid_request`: malformed cursor or parameter", body = ErrorBody),
        (status = 401, description = "`invalid_client` (with `WWW-Authenticate: Basic`)", body = ErrorBody),
    )
)]
pub(crate) async fn revocations(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let creds = client_credentials(&headers, &HashMap::new())?;
    if authenticate(&s.app.clients, creds).await?.is_none() {
        return Err(invalid_client(
            "client authentication (HTTP Basic) is required",
        ));
    }
    let (since, wait) = params(raw.as_deref())?;
    // Stay inside the request deadline, which answers 408.
    let cap = s
        .config
        .request_timeout
        .0
        .saturating_sub(Duration::from_secs(2))
        .min(Duration::from_secs(MAX_WAIT_SECS));
    let wait = Duration::from_secs(wait).min(cap);
    let max_age = s.app.feed.max_age();
    let deadline = tokio::time::Instant::now() + wait;
    let mut signal = s.app.feed.revocation_signal();
    let mut closing = s.closing.subscribe();
    loop {
        signal.borrow_and_update();
        if let Some(page) = s.app.feed.revocations(since.clone()).await? {
            return Ok(render(&page, max_age));
        }
        if tokio::time::Instant::now() >= deadline || *closing.borrow_and_update() {
            break;
        }
        tokio::select! {
            _ = signal.changed() => {}
            _ = closing.changed() => {}
            _ = tokio::time::sleep(STORE_POLL) => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
    // Nothing new: the same cursor again.
    let cursor = since.unwrap_or(Cursor::window(0, 0));
    Ok(render(
        &Page {
            revoked: Vec::new(),
            cursor,
            more: false,
            revoked_keys: Vec::new(),
            revoked_tokens: Vec::new(),
        },
        max_age,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_strict() {
        assert_eq!(params(None).map(|p| p.1).ok(), Some(0));
        assert!(params(Some("since=1.2&wait=5")).is_ok());
        assert!(params(Some("since=")).is_ok_and(|p| p.0.is_none()));
        for bad in [
            "since=x",
            "wait=-1",
            "wait=1.5",
            "since=1.2&since=1.2",
            "other=1",
        ] {
            assert!(params(Some(bad)).is_err(), "{bad}");
        }
    }
}
