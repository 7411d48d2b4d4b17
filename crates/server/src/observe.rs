//! Observability: request ids on every log line, one structured log line
//! per request (path only: queries and bodies are never logged), and
//! Prometheus metrics.
//!
//! The `metrics` facade has one process-wide recorder by design. This
//! library never installs it by itself: the binary calls [`Metrics::install`]
//! once and hands the [`Metrics`] to the server, which renders `/metrics`
//! from it and runs its upkeep on a timer. Without upkeep, histogram samples
//! pile up until something scrapes `/metrics`, and a server nobody scrapes
//! grows without bound.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// How often the server drains histogram samples into their buckets when
/// nothing scrapes `/metrics` (the exporter's documented upkeep).
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Tessera's Prometheus registry: renders `/metrics` and runs upkeep.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A recorder with Tessera's histogram buckets, and its [`Metrics`].
    /// The recorder is not installed: a caller that wants it process-wide
    /// passes it to `metrics::set_global_recorder` (or calls [`Metrics::install`]).
    pub fn recorder() -> Result<(PrometheusRecorder, Metrics), BuildError> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("tessera_http_request_duration_seconds".into()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            )?
            .build_recorder();
        let handle = recorder.handle();
        Ok((recorder, Metrics { handle }))
    }

    /// Builds the recorder, installs it as the process-wide `metrics`
    /// recorder and describes Tessera's metrics. For binaries (`tessera
    /// serve`) and test harnesses; call it once per process.
    pub fn install() -> Result<Metrics, BuildError> {
        let (recorder, metrics) = Metrics::recorder()?;
        metrics::set_global_recorder(recorder)?;
        describe();
        Ok(metrics)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains recorded histogram samples into their buckets (and drops idle
    /// metrics), as a scrape would, without rendering anything.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Runs [`Metrics::run_upkeep`] every `every` until the task is aborted.
    pub fn spawn_upkeep(&self, every: Duration) -> JoinHandle<()> {
        let handle = self.handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        })
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "tessera_http_requests_total",
        "HTTP requests by route, method and status"
    );
    describe_histogram!(
        "tessera_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by route and method"
    );
    describe_counter!("tessera_logins_total", "Password logins by outcome");
    describe_counter!("tessera_refreshes_total", "Refreshes by outcome");
    describe_gauge!(
        "tessera_active_sessions",
        "Live (unrevoked, unexpired) sessions"
    );
    describe_gauge!(
        "tessera_signing_key_age_seconds",
        Unit::Seconds,
        "Age of the key that signs now"
    );
}

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

/// Per-route counters and latency histograms; wraps matched routes.
pub async fn metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
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
