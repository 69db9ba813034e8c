//! W3C trace context (`traceparent`) across process boundaries: HTTP headers in and out,
//! a stored string for the webhook outbox, and Temporal headers through the SDK's
//! OpenTelemetry plugin. All of it is a no-op until [`crate::init`] turns tracing on.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use temporalio_sdk::SimplePlugin;
use temporalio_sdk::opentelemetry::OpenTelemetryPlugin;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static TRACING: AtomicBool = AtomicBool::new(false);

pub(crate) fn enable() {
    TRACING.store(true, Ordering::Relaxed);
}

/// Whether spans are exported (an `otlp_endpoint` is set).
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// The Temporal client plugins, which also apply to every worker built on the client. With
/// tracing on, first the SDK's OpenTelemetry plugin: it puts the caller's trace context in
/// the `_tracer-data` header of workflow starts, signals, queries and updates, and continues
/// it in workflow and activity spans. Then (inside it) the span naming each activity's order.
pub fn temporal_plugins() -> Vec<SimplePlugin> {
    let mut plugins = Vec::new();
    if tracing_enabled() {
        plugins.push(OpenTelemetryPlugin::builder().build());
    }
    plugins.push(crate::activity::plugin());
    plugins
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The trace context a caller sent (empty when none, or tracing is off).
pub fn extract(headers: &HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)))
}

/// `traceparent` (and `tracestate`) of the current span, for an outgoing HTTP request:
/// `.headers(orderflow_telemetry::trace_headers())`.
pub fn trace_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut HeadersMut(&mut headers))
    });
    headers
}

/// The current span's `traceparent`, to store with work that another process picks up
/// later (the webhook outbox); `None` when tracing is off.
pub fn current_traceparent() -> Option<String> {
    if !tracing_enabled() {
        return None;
    }
    let mut carrier = HashMap::new();
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut carrier));
    carrier.remove("traceparent")
}

/// Makes `span` a child of a stored `traceparent`.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(traceparent) = traceparent {
        let carrier = HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
        let context = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
        let _ = span.set_parent(context);
    }
}
