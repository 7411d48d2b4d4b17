//! Observability: request ids on every log line, one structured log line
//! per request (path only: queries and bodies are never logged), and the
//! per-route Prometheus counters and latency histograms (recorded into the
//! [`crate::Metrics`] registry; `GET /metrics` is in `routes::health`).

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use tracing::Instrument;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static PREFIX: OnceLock<String> = OnceLock::new();

fn new_request_id() -> String {
    let prefix = PREFIX.get_or_init(|| {
        tessera_jose::crypto::random_bytes(4)
            .map(|b| tessera_jose::b64::encode(&b))
            .unwrap_or_else(|_| "req".into())
    });
    format!("{prefix}-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// The caller's `X-Request-Id` if it is short and plain, else a new one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(new_request_id)
}

/// Request id + one log line per request; wraps the whole router.
pub async fn trace(req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("http", request_id = %id, method = %method, path = %path);
    #[allow(clippy::disallowed_methods)] // latency measurement, not logic
    let start = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status().as_u16();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, latency_ms = ms, "request failed");
        } else {
            tracing::info!(status, latency_ms = ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// The `method` label: a standard method, or `other` (an extension method
/// must not mint a new series).
fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Per-route counters and latency histograms; wraps matched routes.
pub async fn metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Bounded label values: the matched route template (never the raw path)
    // and the standard methods only.
    let method = method_label(req.method()).to_owned();
    #[allow(clippy::disallowed_methods)] // latency measurement, not logic
    let start = std::time::Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("tessera_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("tessera_http_request_duration_seconds", "route" => route, "method" => method)
        .record(start.elapsed().as_secs_f64());
    res
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn extension_methods_share_one_label() {
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for odd in ["PROBE1", "PROBE2", "PROPFIND"] {
            let m = Method::from_bytes(odd.as_bytes()).unwrap_or(Method::TRACE);
            assert_eq!(method_label(&m), "other", "{odd}");
        }
    }
}
