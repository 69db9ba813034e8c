//! The API's request middleware: one span per request (continuing a caller's
//! `traceparent`), and the request counter and latency histogram by route template.

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{MatchedPath, RawPathParams, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// `axum::middleware::from_fn(orderflow_telemetry::http::observe)`, added with
/// `Router::layer` so that the matched route is known.
pub async fn observe(
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    // The template (`/v1/orders/{id}`), never the raw path: bounded label values.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    // Log lines of a request about one order name it (`/v1/orders/{id}/…`).
    let order_id = params
        .ok()
        .filter(|_| route.starts_with("/v1/orders/{id}"))
        .and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == "id")
                .map(|(_, v)| v.to_owned())
        });
    // Health probes are counted but not traced: a trace every few seconds is noise.
    let span = if route == "/healthz" {
        tracing::Span::none()
    } else {
        tracing::info_span!(
            "http.request",
            order_id = order_id.as_deref(),
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            http.request.method = %method,
            http.route = %route,
            http.response.status_code = tracing::field::Empty,
        )
    };
    let _ = span.set_parent(crate::propagation::extract(request.headers()));
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    crate::metrics::http_request(&method, &route, status, started);
    response
}
