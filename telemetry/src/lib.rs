//! orderflow's observability in one place, so that the rest of the code base only carries
//! one-line hooks:
//!
//! - [`metrics`]: orderflow's metric families and the calls that record them;
//! - [`exporter`]: the process's `GET /metrics` (orderflow's metrics and the Temporal SDK's
//!   worker metrics in one Prometheus text page);
//! - [`http`]: the axum middleware that measures and traces every API request;
//! - [`logs`]: text or JSON logs and OpenTelemetry traces over OTLP/HTTP;
//! - [`propagation`]: W3C trace context across HTTP and the webhook outbox.

mod activity;
pub mod exporter;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod propagation;

use serde::{Deserialize, Serialize};

/// The observability settings, flattened into orderflow's configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    /// `host:port` serving `GET /metrics` (Prometheus text format). Unset: no metrics.
    pub metrics_address: Option<String>,
    /// Base URL of an OTLP/HTTP receiver (e.g. `http://collector:4318`); traces go to
    /// `{otlp_endpoint}/v1/traces`. Unset: no traces.
    pub otlp_endpoint: Option<String>,
    /// `text` (the default) or `json`: one JSON object per line.
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub use exporter::{metrics_enabled, sdk_runtime_options, serve_metrics};
pub use logs::{Telemetry, init};
pub use propagation::{temporal_plugins, trace_headers};
