//! Cancellation and reactivation endpoints (SPEC §5): `POST /v1/orders/{id}/cancel`,
//! `POST /v1/orders/{id}/reactivate` and the request resources. Decisions come from the pure
//! rules in `orderflow_workflows::cancellation`, applied by the workflow's Update validators to
//! the authoritative state (and here directly for orders whose workflow has ended).

use crate::AppState;
use crate::amendments::{idempotency_key, tenant};
use crate::engine::rule_error;
use crate::error::ApiError;
use crate::extract::{OptionalJson, StrictJson};
use crate::orders::{load, now};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orderflow_activities::config::Caller;
use orderflow_workflows::cancellation::{self, OrderRequest};
use orderflow_workflows::model::RequestState;
use orderflow_workflows::order_workflow::{CancelRequest, ReactivateRequest};
use orderflow_workflows::rules;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub reason: String,
    pub reason_code: Option<String>,
    /// `YYYY-MM-DD`: the cancellation takes effect at the start of that day (UTC).
    pub effective_date: Option<String>,
    /// RFC 3339 instant.
    pub effective_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactivateBody {
    pub reason: Option<String>,
    pub effective_date: Option<String>,
    pub effective_at: Option<String>,
}

/// The one effective instant of a request, or a 422 naming the bad field.
fn effective(date: Option<&str>, at: Option<&str>) -> Result<Option<String>, ApiError> {
    cancellation::effective_instant(date, at).map_err(|e| {
        ApiError::unprocessable("INVALID_FIELD", format!("{} {}", e.field, e.message))
            .with_details(json!({ "fields": [e] }))
    })
}

/// Requests still being worked on answer 202, decided ones 200.
fn status(state: RequestState) -> StatusCode {
    match state {
        RequestState::Pending | RequestState::Scheduled => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    }
}

/// `POST /v1/orders/{id}/cancel`: 200 when decided, 202 while PENDING at the supplier or
/// SCHEDULED for later.
pub async fn cancel_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<CancelBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant_id = tenant(caller)?;
    let key = idempotency_key(&headers)?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "REASON_REQUIRED",
            "a cancellation needs a non-empty 'reason'",
        ));
    }
    let effective_at = effective(body.effective_date.as_deref(), body.effective_at.as_deref())?;
    let current = load(&state, &tenant_id, &order_id).await?;
    if !rules::has_running_workflow(current.state) {
        cancellation::cancel_path(
            &current,
            current.pending_kind(),
            body.reason_code.as_deref(),
            &state.settings.workflow.unsolicited_cancel_reason_codes,
        )
        .map_err(rule_error)?;
    }
    let outcome = state
        .engine
        .cancel(
            &tenant_id,
            &order_id,
            CancelRequest {
                cancellation_id: uuid::Uuid::now_v7().to_string(),
                reason: body.reason,
                reason_code: body.reason_code,
                effective_at,
                idempotency_key: key,
                requested_at: now(),
            },
        )
        .await?;
    Ok((
        status(outcome.cancellation.state),
        Json(json!({
            "cancellation": outcome.cancellation,
            "event_uuid": outcome.event_uuid,
            "order": outcome.order,
        })),
    ))
}

/// `POST /v1/orders/{id}/reactivate`: 200 when the subscription is ACTIVE again (or its
/// scheduled cancellation is gone), 202 while the reactivation is SCHEDULED.
pub async fn reactivate_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<ReactivateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant_id = tenant(caller)?;
    let key = idempotency_key(&headers)?;
    let effective_at = effective(body.effective_date.as_deref(), body.effective_at.as_deref())?;
    let current = load(&state, &tenant_id, &order_id).await?;
    if !rules::has_running_workflow(current.state) {
        cancellation::check_reactivation(&current).map_err(rule_error)?;
    }
    let outcome = state
        .engine
        .reactivate(
            &tenant_id,
            &order_id,
            ReactivateRequest {
                reactivation_id: uuid::Uuid::now_v7().to_string(),
                reason: body.reason,
                effective_at,
                idempotency_key: key,
                requested_at: now(),
            },
        )
        .await?;
    Ok((
        status(outcome.reactivation.state),
        Json(json!({
            "reactivation": outcome.reactivation,
            "event_uuid": outcome.event_uuid,
            "order": outcome.order,
        })),
    ))
}

/// `GET /v1/orders/{id}/cancellations/{cancellation_id}`.
pub async fn get_cancellation(
    State(state): State<AppState>,
    caller: Caller,
    Path((order_id, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    match find_request(&state, caller, &order_id, &id).await? {
        Some(OrderRequest::Cancellation(c)) => Ok(Json(json!(c))),
        _ => Err(request_not_found("cancellation", &order_id, &id)),
    }
}

/// `GET /v1/orders/{id}/reactivations/{reactivation_id}`.
pub async fn get_reactivation(
    State(state): State<AppState>,
    caller: Caller,
    Path((order_id, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    match find_request(&state, caller, &order_id, &id).await? {
        Some(OrderRequest::Reactivation(r)) => Ok(Json(json!(r))),
        _ => Err(request_not_found("reactivation", &order_id, &id)),
    }
}

async fn find_request(
    state: &AppState,
    caller: Caller,
    order_id: &str,
    id: &str,
) -> Result<Option<OrderRequest>, ApiError> {
    let tenant_id = tenant(caller)?;
    load(state, &tenant_id, order_id).await?;
    Ok(state.store.get_request(&tenant_id, order_id, id).await?)
}

fn request_not_found(kind: &str, order_id: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("{kind} '{id}' of order '{order_id}' not found"),
    )
}
