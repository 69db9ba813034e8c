//! `cancelProductOrder`: a task resource over a core cancellation, rendered by
//! `orderflow_domain::tmf622::cancel_task` (its id names the order and the cancellation).

use crate::AppState;
use crate::amendments::{idempotency_key, tenant};
use crate::answers::ErrorBody;
use crate::cancellations::{self, CancelBody};
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::orders::load;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orderflow_config::Caller;
use orderflow_domain::cancellation::OrderRequest;
use orderflow_domain::tmf622::{cancel_task as task, task_href, task_id};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /cancelProductOrder` (TMF622 `CancelProductOrder_FVO`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelProductOrderCreate {
    pub product_order: OrderRef,
    /// Recorded as the cancellation's reason (default `tmf622: cancelProductOrder`).
    pub cancellation_reason: Option<String>,
    /// A later instant schedules a subscription's cancellation; now or earlier is at once.
    pub requested_cancellation_date: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderRef {
    pub id: String,
}

/// `POST /cancelProductOrder`: 201 with the task; its state follows the supplier's decision
/// (`inProgress` while it decides).
#[utoipa::path(post, path = "/tmf-api/productOrderingManagement/v5/cancelProductOrder", tag = "tmf622",
    request_body = CancelProductOrderCreate, params(crate::amendments::IdempotencyKey),
    responses((status = 201, description = "The CancelProductOrder task", body = Object),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_CANCELLABLE`, `REQUEST_IN_PROGRESS`", body = ErrorBody),
        (status = 422, description = "`INVALID_FIELD`, `SCHEDULE_NOT_ALLOWED`", body = ErrorBody)))]
pub async fn create_cancel(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    StrictJson(body): StrictJson<CancelProductOrderCreate>,
) -> Result<Response, ApiError> {
    let tenant_id = tenant(caller)?;
    let key = idempotency_key(&headers)?;
    let order_id = body.product_order.id;
    let later = body
        .requested_cancellation_date
        .filter(|at| cancellation_is_later(at));
    let cancel = CancelBody {
        reason: body
            .cancellation_reason
            .unwrap_or_else(|| "tmf622: cancelProductOrder".to_string()),
        reason_code: None,
        effective_date: None,
        effective_at: later,
    };
    let (_, answer) =
        cancellations::cancel(&state, &tenant_id, &order_id, key, cancel, None).await?;
    let t = task(&order_id, &answer.cancellation);
    let id = task_id(&order_id, &answer.cancellation.cancellation_id);
    Ok(crate::answers::located(
        StatusCode::CREATED,
        t,
        &task_href(&id),
    ))
}

/// A requested date later than now (an unreadable one is passed on, for the core API to
/// refuse with its message).
fn cancellation_is_later(at: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(at).map_or(true, |at| at > chrono::Utc::now())
}

/// `GET /cancelProductOrder/{id}`.
#[utoipa::path(get, path = "/tmf-api/productOrderingManagement/v5/cancelProductOrder/{id}", tag = "tmf622",
    params(("id" = String, Path, description = "The task id")),
    responses((status = 200, description = "The CancelProductOrder task", body = Object), (status = 404, body = ErrorBody)))]
pub async fn get_cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let tenant_id = tenant(caller)?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("cancelProductOrder '{id}' not found"),
        )
    };
    let (order_id, cancellation_id) = id.split_once('~').ok_or_else(not_found)?;
    load(&state, &tenant_id, order_id).await?;
    match state
        .store
        .get_request(&tenant_id, order_id, cancellation_id)
        .await?
    {
        Some(OrderRequest::Cancellation(c)) => Ok(Json(task(order_id, &c))),
        _ => Err(not_found()),
    }
}
