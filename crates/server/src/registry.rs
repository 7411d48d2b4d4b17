//! The Prometheus registry ([`Metrics`]).
//!
//! The `metrics` facade has one process-wide recorder by design. This
//! library never installs it by itself: the binary calls [`Metrics::install`]
//! once and hands the [`Metrics`] to the server, which renders `/metrics`
//! from it and runs its upkeep on a timer. Without upkeep, histogram samples
//! pile up until something scrapes `/metrics`, and a server nobody scrapes
//! grows without bound.

use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::time::Duration;
use tokio::task::JoinHandle;

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
