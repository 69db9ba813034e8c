//! orderflow's own metric families, recorded through the `metrics` facade. Until
//! [`crate::exporter`] installs the Prometheus recorder, every call here is a no-op, so a
//! process without `metrics_address` pays nothing.
//!
//! Label values are bounded sets (route templates, call names, states, outcomes), never ids.

use metrics::{counter, gauge, histogram};
use std::time::Instant;

pub const HTTP_REQUESTS: &str = "orderflow_http_requests_total";
pub const HTTP_DURATION: &str = "orderflow_http_request_duration_seconds";
pub const SUPPLIER_CALLS: &str = "orderflow_supplier_calls_total";
pub const SUPPLIER_DURATION: &str = "orderflow_supplier_call_duration_seconds";
pub const TRANSITIONS: &str = "orderflow_order_transitions_total";
pub const REQUESTS: &str = "orderflow_requests_total";
pub const WEBHOOK_DELIVERIES: &str = "orderflow_webhook_deliveries_total";
pub const WEBHOOK_BACKLOG: &str = "orderflow_webhook_backlog";
pub const WEBHOOK_OLDEST: &str = "orderflow_webhook_oldest_pending_age_seconds";
pub const ORDERS: &str = "orderflow_orders";
pub const ORDERS_OLDEST: &str = "orderflow_orders_oldest_update_age_seconds";
pub const CALLBACKS: &str = "orderflow_callbacks_total";

/// HELP texts of every family (shown on `/metrics` once the family has a sample).
pub(crate) fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "API requests by method, matched route template and status code"
    );
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "API request latency");
    describe_counter!(
        SUPPLIER_CALLS,
        "Supplier HTTP calls by call and outcome (ok, rejected, retryable, unreachable)"
    );
    describe_histogram!(SUPPLIER_DURATION, Unit::Seconds, "Supplier call latency");
    describe_counter!(
        TRANSITIONS,
        "Order state changes recorded in the store, by the state entered"
    );
    describe_counter!(
        REQUESTS,
        "Amendments, cancellations and reactivations by kind and final state"
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts by outcome (delivered, retrying, failed)"
    );
    describe_gauge!(WEBHOOK_BACKLOG, "Webhook deliveries waiting to be sent");
    describe_gauge!(
        WEBHOOK_OLDEST,
        Unit::Seconds,
        "Age of the oldest webhook delivery waiting to be sent (0 when none)"
    );
    describe_gauge!(ORDERS, "Orders in the store by state");
    describe_gauge!(
        ORDERS_OLDEST,
        Unit::Seconds,
        "Time since the least recently changed order of each state last changed"
    );
    describe_counter!(
        CALLBACKS,
        "Supplier callbacks by type and outcome (accepted or the error code)"
    );
}

/// One API request, by matched route template (`unmatched` for the fallback).
pub fn http_request(method: &str, route: &str, status: u16, started: Instant) {
    let labels = [
        ("method", method.to_string()),
        ("route", route.to_string()),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels[..2]).record(started.elapsed().as_secs_f64());
}

/// The name of a supplier call from its path: `/orders` is `transfer`,
/// `/orders/{id}/steps/{step}` is `step`, `/orders/{id}/validate` is `validate`, …
pub fn supplier_call_name(path: &str) -> &'static str {
    let mut segments = path.trim_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some("orders"), None, None) => "transfer",
        (Some("orders"), Some(_), Some(kind)) => match kind {
            "validate" => "validate",
            "feasibility" => "feasibility",
            "plan" => "plan",
            "steps" => "step",
            "amendments" => "amend",
            "cancellations" => "cancel",
            _ => "other",
        },
        _ => "other",
    }
}

/// Times one supplier call; [`SupplierCall::finish`] records it.
pub struct SupplierCall {
    call: &'static str,
    started: Instant,
}

impl SupplierCall {
    pub fn start(path: &str) -> SupplierCall {
        SupplierCall {
            call: supplier_call_name(path),
            started: Instant::now(),
        }
    }

    /// `outcome`: `ok`, `rejected` (permanent), `retryable` (5xx, 408, 429) or `unreachable`.
    pub fn finish(&self, outcome: &'static str) {
        counter!(SUPPLIER_CALLS, "call" => self.call, "outcome" => outcome).increment(1);
        histogram!(SUPPLIER_DURATION, "call" => self.call)
            .record(self.started.elapsed().as_secs_f64());
    }

    /// The outcome of an answer with this HTTP status.
    pub fn outcome_of(status: u16) -> &'static str {
        match status {
            200..=299 => "ok",
            408 | 429 | 500..=599 => "retryable",
            _ => "rejected",
        }
    }
}

/// An order entered `to_state` (counted once per recorded event).
pub fn transition(to_state: &str) {
    counter!(TRANSITIONS, "to_state" => to_state.to_string()).increment(1);
}

/// A request (`AMENDMENT`, `CANCELLATION`, `REACTIVATION`) reached a final state.
pub fn request_decided(kind: &str, outcome: &str) {
    counter!(REQUESTS, "kind" => kind.to_string(), "outcome" => outcome.to_string()).increment(1);
}

/// One webhook delivery attempt: `delivered`, `retrying` or `failed` (given up).
pub fn webhook_delivery(outcome: &'static str) {
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
}

/// The outbox as last read from the store.
pub fn webhook_backlog(pending: u64, oldest_age_secs: f64) {
    gauge!(WEBHOOK_BACKLOG).set(pending as f64);
    gauge!(WEBHOOK_OLDEST).set(oldest_age_secs);
}

/// Orders of one state as last read from the store.
pub fn orders_in_state(state: &str, count: u64, oldest_update_age_secs: f64) {
    gauge!(ORDERS, "state" => state.to_string()).set(count as f64);
    gauge!(ORDERS_OLDEST, "state" => state.to_string()).set(oldest_update_age_secs);
}

/// Supplier callback types with a label of their own; others count as `other`.
const CALLBACK_TYPES: [&str; 9] = [
    "STEP_DONE",
    "STEP_FAILED",
    "AMENDMENT_DECISION",
    "SUPPLIER_AMEND",
    "CANCELLATION_DECISION",
    "SUPPLIER_CANCEL",
    "HOLD",
    "RESUME",
    "UNSOLICITED_CEASE",
];

/// One supplier callback: its `type` from the body and `accepted` or the error code.
pub fn callback(body: &[u8], outcome: &str) {
    let kind = serde_json_type(body)
        .and_then(|t| CALLBACK_TYPES.iter().find(|k| **k == t).copied())
        .unwrap_or("other");
    counter!(CALLBACKS, "type" => kind, "outcome" => outcome.to_string()).increment(1);
}

/// The `type` field of a JSON object, without parsing the rest into a document.
fn serde_json_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_slice::<Typed>(body).ok().map(|t| t.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplier_calls_are_named_by_their_path_template() {
        assert_eq!(supplier_call_name("/orders"), "transfer");
        assert_eq!(supplier_call_name("/orders/S-1/validate"), "validate");
        assert_eq!(supplier_call_name("/orders/S-1/steps/3"), "step");
        assert_eq!(supplier_call_name("/orders/S-1/cancellations"), "cancel");
        assert_eq!(supplier_call_name("/elsewhere"), "other");
    }

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(SupplierCall::outcome_of(201), "ok");
        assert_eq!(SupplierCall::outcome_of(429), "retryable");
        assert_eq!(SupplierCall::outcome_of(503), "retryable");
        assert_eq!(SupplierCall::outcome_of(422), "rejected");
    }

    #[test]
    fn callback_types_are_bounded() {
        assert_eq!(
            serde_json_type(br#"{"type":"HOLD","x":1}"#).as_deref(),
            Some("HOLD")
        );
        assert_eq!(serde_json_type(b"not json"), None);
    }
}
