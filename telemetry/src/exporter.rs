//! The process's `GET /metrics`: orderflow's families from the `metrics` facade, rendered by
//! `metrics-exporter-prometheus`, followed by the Temporal SDK's worker metrics (`temporal_…`).
//!
//! The SDK only renders its metrics through its own Prometheus exporter (its registry is
//! private), so that exporter listens on an ephemeral loopback port and `/metrics` appends
//! its page: one scrape target per process, two libraries' exposition, none written by hand.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{
    PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter,
};
use temporalio_sdk::runtime::RuntimeOptions;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// The SDK exporter's meter and loopback address, once a worker has asked for it.
static SDK: OnceLock<Option<(Arc<dyn CoreMeter>, SocketAddr)>> = OnceLock::new();

/// Latency buckets (seconds) for every `_seconds` histogram: API requests and supplier calls
/// take milliseconds to tens of seconds (the supplier call timeout).
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Whether this process exports metrics (a `/metrics` server was started).
pub fn metrics_enabled() -> bool {
    HANDLE.get().is_some()
}

/// Installs the process-wide recorder once; later calls return the same handle.
fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Only this crate installs a recorder; a second call would keep the first.
        let _ = metrics::set_global_recorder(recorder);
        crate::metrics::describe();
        handle
    })
}

/// Serves `GET /metrics` on `address` (`host:port`; port 0 picks one) until the process
/// ends, and returns the bound address. Call inside a Tokio runtime.
pub async fn serve_metrics(address: &str) -> anyhow::Result<SocketAddr> {
    let handle = handle();
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("binding metrics_address {address}: {e}"))?;
    let bound = listener.local_addr()?;
    let app = Router::new().route("/metrics", get(render));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    // Histograms keep raw samples until upkeep folds them into buckets.
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            handle.run_upkeep();
        }
    });
    tracing::info!(address = %bound, "metrics at GET /metrics");
    Ok(bound)
}

async fn render() -> impl IntoResponse {
    let mut page = handle().render();
    if let Some(Some((_, sdk))) = SDK.get() {
        match sdk_page(*sdk).await {
            Ok(text) => page.push_str(&text),
            Err(e) => tracing::warn!(error = %e, "reading the Temporal SDK's metrics"),
        }
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], page)
}

async fn sdk_page(address: SocketAddr) -> reqwest::Result<String> {
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    let http = HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .expect("a plain HTTP client")
    });
    http.get(format!("http://{address}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

/// The SDK runtime's options: with the SDK's Prometheus meter when this process exports
/// metrics (durations in seconds, unit and `_total` suffixes, as Temporal's dashboards
/// expect), otherwise the defaults. Call inside a Tokio runtime.
pub fn sdk_runtime_options() -> RuntimeOptions {
    if !metrics_enabled() {
        return RuntimeOptions::default();
    }
    let sdk = SDK.get_or_init(|| {
        let options = PrometheusExporterOptions::builder()
            .socket_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
            .counters_total_suffix(true)
            .unit_suffix(true)
            .use_seconds_for_durations(true)
            .build();
        match start_prometheus_metric_exporter(options) {
            Ok(started) => {
                let meter: Arc<dyn CoreMeter> = started.meter;
                Some((meter, started.bound_addr))
            }
            Err(e) => {
                tracing::error!(error = %e, "starting the Temporal SDK's metrics exporter");
                None
            }
        }
    });
    let Some((meter, _)) = sdk else {
        return RuntimeOptions::default();
    };
    RuntimeOptions::builder()
        .telemetry_options(TelemetryOptions::builder().metrics(meter.clone()).build())
        .build()
        .expect("default heartbeat interval")
}
