//! Logs (text or JSON lines on stderr, filtered by `RUST_LOG`) and OpenTelemetry traces.
//!
//! Spans are kept with OpenTelemetry ids when traces are exported (`otlp_endpoint`) or logs
//! are JSON (each line then carries `trace_id`, the same id the order's other processes
//! log). Only orderflow's own spans become OpenTelemetry spans, plus the Temporal SDK's
//! plugin spans (workflow start, workflow run, activities); the SDK's internal `tracing`
//! spans and the workflow code's are left out.

use crate::{LogFormat, TelemetrySettings};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use serde_json::{Map, Value};
use temporalio_sdk::opentelemetry::WorkflowIdGenerator;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter::LevelFilter, filter::Targets};

/// Keeps the tracer provider; dropping it flushes the spans not yet exported.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Sets up logs and traces for the process (`service` names it in traces). A second call
/// in the same process leaves the first set-up in place.
pub fn init(settings: &TelemetrySettings, service: &str) -> anyhow::Result<Telemetry> {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,temporalio_sdk_core=warn"))
    };
    let fmt = match settings.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(JsonLine)
            .with_writer(std::io::stderr)
            .with_filter(filter())
            .boxed(),
    };
    let provider = if settings.otlp_endpoint.is_some() || settings.log_format == LogFormat::Json {
        Some(provider(settings, service)?)
    } else {
        None
    };
    let otel = provider.as_ref().map(|provider| {
        let targets = Targets::new()
            .with_target("orderflow", LevelFilter::INFO)
            .with_target("orderflow_workflows", LevelFilter::OFF);
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("orderflow"))
            .with_filter(targets)
    });
    if tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .is_ok()
        && let Some(provider) = &provider
    {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(provider.clone());
        crate::propagation::enable();
    }
    Ok(Telemetry { provider })
}

/// Span ids from the SDK's generator, which keeps workflow spans the same on replay; spans
/// go in batches to `{otlp_endpoint}/v1/traces` when an endpoint is set.
fn provider(settings: &TelemetrySettings, service: &str) -> anyhow::Result<SdkTracerProvider> {
    let mut builder = SdkTracerProvider::builder()
        .with_id_generator(WorkflowIdGenerator::default())
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_string())
                .build(),
        );
    if let Some(endpoint) = &settings.otlp_endpoint {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build()
            .map_err(|e| anyhow::anyhow!("OTLP exporter for {endpoint}: {e}"))?;
        // Batches leave every second (the default is 5 s), so a trace is complete soon
        // after the work it shows.
        let batch = BatchConfigBuilder::default()
            .with_scheduled_delay(std::time::Duration::from_secs(1))
            .build();
        builder = builder.with_span_processor(
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch)
                .build(),
        );
    }
    Ok(builder.build())
}

/// One JSON object per line: `timestamp`, `level`, `target`, `span`, the fields of every
/// enclosing span (so `order_id`, `tenant_id`, `workflow_id` of the activity or request),
/// `trace_id`, then the event's own fields and `message`.
struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                line.insert("span".into(), span.name().into());
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                    line.extend(fields.into_iter().filter(|(k, _)| !k.starts_with("otel.")));
                }
            }
        }
        let context = tracing::Span::current().context();
        let span = context.span();
        let span_context = span.span_context();
        if span_context.is_valid() {
            line.insert(
                "trace_id".into(),
                span_context.trace_id().to_string().into(),
            );
        }
        event.record(&mut Fields(&mut line));
        let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}
