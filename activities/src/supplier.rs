//! HTTP client for suppliers. Maps answers to what Temporal should do next:
//! network errors, 5xx, 408 and 429 are transient (Temporal retries with the same
//! `Idempotency-Key`); any other 4xx is a permanent refusal that no retry can fix.

use orderflow_config::SupplierSettings;
use orderflow_domain::calls::SupplierCall;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::ActivityError;

#[derive(Clone)]
pub struct SupplierClient {
    http: reqwest::Client,
    suppliers: Vec<SupplierSettings>,
}

/// A successful supplier answer.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl SupplierClient {
    pub fn new(
        suppliers: Vec<SupplierSettings>,
        timeout: Duration,
    ) -> anyhow::Result<SupplierClient> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(SupplierClient { http, suppliers })
    }

    /// POSTs `body` to `path` of the call's supplier with the call's idempotency key.
    #[tracing::instrument(name = "supplier.call", skip_all, fields(otel.kind = "client",
        supplier = %call.supplier_id, call = orderflow_telemetry::metrics::supplier_call_name(path)))]
    pub async fn post(
        &self,
        call: &SupplierCall,
        path: &str,
        body: Value,
    ) -> Result<Answer, ActivityError> {
        let supplier = self
            .suppliers
            .iter()
            .find(|s| s.id == call.supplier_id)
            .ok_or_else(|| {
                permanent(
                    "UnknownSupplier",
                    format!(
                        "supplier '{}' is not configured on this worker",
                        call.supplier_id
                    ),
                )
            })?;
        let url = format!("{}{}", supplier.base_url.trim_end_matches('/'), path);
        let timer = orderflow_telemetry::metrics::SupplierCall::start(path);
        let response = self
            .http
            .post(&url)
            .header("Idempotency-Key", &call.idempotency_key)
            .headers(orderflow_telemetry::trace_headers())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                timer.finish("unreachable");
                transient(format!(
                    "supplier {} unreachable at {url}: {e}",
                    supplier.id
                ))
            })?;
        let status = response.status();
        timer.finish(orderflow_telemetry::metrics::SupplierCall::outcome_of(
            status.as_u16(),
        ));
        let text = response
            .text()
            .await
            .map_err(|e| transient(format!("reading supplier answer from {url}: {e}")))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(Answer { status, body });
        }
        let reason = body
            .get("reason")
            .or_else(|| body.get("error"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| body.to_string());
        let message = format!(
            "supplier {} answered {status} to POST {path}: {reason}",
            supplier.id
        );
        if status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            Err(transient(message))
        } else {
            Err(permanent("SupplierRejected", message))
        }
    }
}

fn transient(message: String) -> ActivityError {
    ActivityError::application(
        ApplicationFailure::builder(anyhow::anyhow!(message))
            .type_name("SupplierUnavailable".to_string())
            .build(),
    )
}

/// A failure Temporal must not retry.
pub fn permanent(type_name: &str, message: String) -> ActivityError {
    ActivityError::application(
        ApplicationFailure::builder(anyhow::anyhow!(message))
            .type_name(type_name.to_string())
            .non_retryable(true)
            .build(),
    )
}

/// Reads a field the supplier contract requires; a missing one is a contract breach.
pub fn required<'a>(body: &'a Value, field: &str, path: &str) -> Result<&'a Value, ActivityError> {
    body.get(field).ok_or_else(|| {
        permanent(
            "SupplierProtocolError",
            format!("supplier answer to POST {path} lacks '{field}': {body}"),
        )
    })
}
