//! HTTP client for suppliers. Maps answers to what Temporal should do next:
//! network errors, 5xx, 408 and 429 are transient (Temporal retries with the same
//! `Idempotency-Key`); any other 4xx is a permanent refusal that no retry can fix.
//!
//! What a failure says ends up in the order: the workflow copies an activity's failure
//! message into the order's `state_reason` and its `ERROR_HANDLER` event, which tenants read
//! and webhooks carry. So a failure message names the supplier, the path and the status, and
//! at most [`MAX_REASON_BYTES`] of the `reason` (or `error`) the supplier gave; never the
//! supplier's URL, its raw body, or a library's error text. Those go to the log.
//!
//! The supplier is trusted to answer, not to answer well (issue 14):
//! - no redirect is followed (`Policy::none`): a 3xx is outside the supplier contract and
//!   retrying gets the same answer, so it is a permanent `SupplierProtocolError`;
//! - an answer body over [`MAX_BODY_BYTES`] is not read further: a permanent
//!   `SupplierProtocolError` (the same request would get the same answer), which parks the
//!   order in `ERROR_HANDLER` for an operator.

use orderflow_config::SupplierSettings;
use orderflow_domain::calls::SupplierCall;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::ActivityError;

pub mod wire;

/// The largest supplier answer read; larger is a protocol error.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The most of a supplier's refusal reason a failure message keeps.
pub const MAX_REASON_BYTES: usize = 512;

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

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reads the body chunk by chunk, stopping once it is over `max` bytes: `Ok(None)` then.
async fn read_capped(
    response: &mut reqwest::Response,
    max: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

impl SupplierClient {
    pub fn new(
        suppliers: Vec<SupplierSettings>,
        timeout: Duration,
    ) -> anyhow::Result<SupplierClient> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
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
        let id = &supplier.id;
        let url = format!("{}{}", supplier.base_url.trim_end_matches('/'), path);
        let timer = orderflow_telemetry::metrics::SupplierCall::start(path);
        let mut response = self
            .http
            .post(&url)
            .header("Idempotency-Key", &call.idempotency_key)
            .headers(orderflow_telemetry::trace_headers())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                timer.finish("unreachable");
                tracing::warn!(supplier = %id, %url, error = ?e, "supplier unreachable");
                let how = if e.is_timeout() {
                    "timed out"
                } else {
                    "unreachable"
                };
                transient(format!("supplier {id} {how} on POST {path}"))
            })?;
        let status = response.status();
        timer.finish(orderflow_telemetry::metrics::SupplierCall::outcome_of(
            status.as_u16(),
        ));
        let bytes = read_capped(&mut response, MAX_BODY_BYTES)
            .await
            .map_err(|e| {
                tracing::warn!(supplier = %id, %url, error = ?e, "reading a supplier answer");
                transient(format!("supplier {id}'s answer to POST {path} broke off"))
            })?
            .ok_or_else(|| {
                tracing::warn!(supplier = %id, %url, "supplier answer over {MAX_BODY_BYTES} bytes");
                permanent(
                    "SupplierProtocolError",
                    format!("supplier {id}'s answer to POST {path} is over {MAX_BODY_BYTES} bytes"),
                )
            })?;
        let text = String::from_utf8_lossy(&bytes);
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()));
        if status.is_success() {
            return Ok(Answer { status, body });
        }
        if status.is_redirection() {
            tracing::warn!(supplier = %id, %url, %status, location = ?response.headers().get("location"), "supplier redirected");
            return Err(permanent(
                "SupplierProtocolError",
                format!(
                    "supplier {id} answered {status} to POST {path}; redirects are not followed"
                ),
            ));
        }
        tracing::info!(supplier = %id, %status, %body, "supplier refused");
        let reason = body
            .get("reason")
            .or_else(|| body.get("error"))
            .and_then(Value::as_str)
            .map(|r| truncate(r, MAX_REASON_BYTES))
            .unwrap_or("no reason given");
        let message = format!("supplier {id} answered {status} to POST {path}: {reason}");
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
/// The body goes to the log, not into the failure (it ends up in the order's events).
pub fn required<'a>(body: &'a Value, field: &str, path: &str) -> Result<&'a Value, ActivityError> {
    body.get(field).ok_or_else(|| {
        tracing::warn!(%path, %body, "supplier answer lacks '{field}'");
        permanent(
            "SupplierProtocolError",
            format!("supplier answer to POST {path} lacks '{field}'"),
        )
    })
}

#[cfg(test)]
mod contract_tests;
#[cfg(test)]
mod tests;
