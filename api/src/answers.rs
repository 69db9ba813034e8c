//! The API's response bodies, as types: the handlers return them and the OpenAPI document
//! (`/openapi.json`) is generated from them, so the document cannot drift from the wire.

use orderflow_domain::amendment::AmendPath;
use orderflow_domain::cancellation::{CancelPath, Cancellation, Reactivation};
use orderflow_domain::model::{Amendment, OrderEvent, OrderState, OrderView, RequestState};
use orderflow_domain::rule_code::RuleCode;
use orderflow_store::{Delivery, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A JSON answer with a `Location` header: where a created resource (an order, a TMF622
/// ProductOrder or task) is read from.
pub fn located(
    status: axum::http::StatusCode,
    body: impl Serialize,
    location: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(location) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
    response
}

/// Every error: `{"error": {"code", "message", "details"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `NOT_AMENDABLE` (README, "Error codes").
    #[schema(example = "NOT_FOUND")]
    pub code: String,
    /// What went wrong and what to do next.
    pub message: String,
    /// Structured context, e.g. `fields` for validation errors; `{}` when there is none.
    pub details: serde_json::Value,
}

/// One page of orders, newest first.
#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<OrderView>,
    /// Pass as `cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One page of the tenant's change feed, oldest first.
#[derive(Serialize, ToSchema)]
pub struct FeedList {
    pub events: Vec<OrderEvent>,
    /// Pass as `cursor=` to read on; always set (an empty page keeps the place).
    pub next_cursor: String,
}

#[derive(Serialize, ToSchema)]
pub struct AmendmentList {
    pub amendments: Vec<Amendment>,
}

#[derive(Serialize, ToSchema)]
pub struct CancellationList {
    pub cancellations: Vec<Cancellation>,
}

#[derive(Serialize, ToSchema)]
pub struct ReactivationList {
    pub reactivations: Vec<Reactivation>,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<OrderEvent>,
}

/// The order after an operator command.
#[derive(Serialize, ToSchema)]
pub struct OrderAnswer {
    pub order: OrderView,
}

/// The amendment as decided (or PENDING at the supplier) and the order it produced.
#[derive(Serialize, ToSchema)]
pub struct AmendmentAnswer {
    pub amendment: Amendment,
    pub order: OrderView,
}

/// What the same PATCH would do now.
#[derive(Serialize, ToSchema)]
pub struct Preview {
    pub allowed: bool,
    pub path: Option<AmendPath>,
    /// `ACCEPTED` (restart) or `PENDING` (patch, the supplier decides); absent when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RequestState>,
    /// The order as it would be.
    pub order: OrderView,
    /// Fields the running plan cannot take (only with `FIELD_NOT_AMENDABLE`).
    pub refused_fields: Vec<String>,
    pub error: Option<RuleRefusal>,
}

/// Why a rule refuses a request.
#[derive(Serialize, ToSchema)]
pub struct RuleRefusal {
    pub code: RuleCode,
    pub message: String,
}

/// What may change now, by which path, and why not.
#[derive(Serialize, ToSchema)]
pub struct Capabilities {
    pub amendable: bool,
    pub amend_path: Option<AmendPath>,
    pub patchable_fields: Vec<String>,
    pub cancellable: bool,
    pub cancel_path: Option<CancelPath>,
    /// The reason codes an unsolicited cease may be cancelled with.
    pub cancel_reason_codes: Option<Vec<String>>,
    pub reactivatable: bool,
    /// The plan's step marked `point_of_no_return` has started: a cancellation still goes to
    /// the supplier, who is expected to refuse it (`cancel_reason` says so).
    pub point_of_no_return_passed: bool,
    /// Why it is not amendable.
    pub reason: Option<String>,
    /// Why it is not cancellable, or why the supplier is expected to refuse.
    pub cancel_reason: Option<String>,
    pub reactivate_reason: Option<String>,
    pub revision: u32,
}

#[derive(Serialize, ToSchema)]
pub struct CancellationAnswer {
    pub cancellation: Cancellation,
    /// The event that recorded this answer.
    pub event_uuid: Option<String>,
    pub order: OrderView,
}

#[derive(Serialize, ToSchema)]
pub struct ReactivationAnswer {
    pub reactivation: Reactivation,
    pub event_uuid: Option<String>,
    pub order: OrderView,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    /// The latest 100, newest first.
    pub deliveries: Vec<Delivery>,
}

/// A supplier callback was taken. Kept with the callback's claim, so that a repeat answers
/// with the first outcome.
#[derive(Default, Serialize, Deserialize, ToSchema)]
pub struct CallbackAnswer {
    pub accepted: bool,
    /// The order's state after a HOLD or RESUME.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<OrderState>,
    /// The order an UNSOLICITED_CEASE opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderView>,
}

impl CallbackAnswer {
    pub fn accepted() -> CallbackAnswer {
        CallbackAnswer {
            accepted: true,
            ..CallbackAnswer::default()
        }
    }
}

/// `GET /healthz` and `GET /livez`. The details are given to the operator only.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Operator only: workers polling the order task queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// Operator only: what is wrong with the database, or `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Operator only: what is wrong with Temporal or the workers, or `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

impl Health {
    pub fn status(status: &str) -> Health {
        Health {
            status: status.to_string(),
            workers: None,
            database: None,
            engine: None,
        }
    }
}
