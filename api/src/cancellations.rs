//! Cancellation and reactivation endpoints: `POST /v1/orders/{id}/cancel`,
//! `POST /v1/orders/{id}/reactivate` and the request resources. Decisions come from the pure
//! rules in `orderflow_domain::cancellation`, applied by the workflow's Update validators to
//! the authoritative state (and here directly for orders whose workflow has ended).

use crate::AppState;
use crate::amendments::{IdempotencyKey, idempotency_key, tenant};
use crate::answers::{CancellationAnswer, ErrorBody, ReactivationAnswer};
use crate::engine::rule_error;
use crate::error::ApiError;
use crate::extract::{OptionalJson, StrictJson};
use crate::orders::{load, now};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orderflow_config::Caller;
use orderflow_domain::cancellation::{self, OrderRequest};
use orderflow_domain::cancellation::{CancelMethod, Cancellation, Reactivation};
use orderflow_domain::commands::{CancelRequest, ReactivateRequest};
use orderflow_domain::model::{OrderView, RequestState};
use orderflow_domain::requests::PendingKind;
use orderflow_domain::{limits, repeats, rules};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    #[schema(min_length = 1, pattern = r"\S")]
    pub reason: String,
    /// Required for an unsolicited cease: one of the configured codes (see capabilities).
    pub reason_code: Option<String>,
    /// The cancellation takes effect at the start of that day (UTC).
    #[schema(format = Date)]
    pub effective_date: Option<String>,
    /// The instant the cancellation takes effect (RFC 3339).
    #[schema(format = DateTime)]
    pub effective_at: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactivateBody {
    pub reason: Option<String>,
    /// Reactivate at the start of that day (UTC).
    #[schema(format = Date)]
    pub effective_date: Option<String>,
    /// The instant of the reactivation (RFC 3339).
    #[schema(format = DateTime)]
    pub effective_at: Option<String>,
}

/// The one effective instant of a request (a date is midnight in the order's `time_zone`),
/// or a 422 naming the bad field.
fn effective(
    date: Option<&str>,
    at: Option<&str>,
    order: &OrderView,
) -> Result<Option<String>, ApiError> {
    cancellation::effective_instant(date, at, order.document.time_zone.as_deref()).map_err(|e| {
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
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "cancellations", request_body = CancelBody,
    params(("id" = String, Path, description = "Order id"),
        IdempotencyKey),
    responses(
        (status = 200, description = "Decided: ACCEPTED or REJECTED", body = CancellationAnswer),
        (status = 202, description = "PENDING at the supplier, or SCHEDULED", body = CancellationAnswer),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_CANCELLABLE`, `REQUEST_IN_PROGRESS`, `REASON_CODE_NOT_ALLOWED`, `SCHEDULE_NOT_ALLOWED`", body = ErrorBody),
        (status = 422, description = "`INVALID_FIELD`", body = ErrorBody)))]
pub async fn cancel_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<CancelBody>,
) -> Result<(StatusCode, Json<CancellationAnswer>), ApiError> {
    let tenant_id = tenant(caller)?;
    let key = idempotency_key(&headers)?;
    let (status, answer) = cancel(&state, &tenant_id, &order_id, key, body, None).await?;
    Ok((status, Json(answer)))
}

/// A tenant's cancellation of its order, from any interface: `method` is the cancellation a
/// dialect asked for by name (none lets the rules pick the path). The answer's status is 200
/// when decided, 202 while PENDING or SCHEDULED.
pub async fn cancel(
    state: &AppState,
    tenant_id: &str,
    order_id: &str,
    key: Option<String>,
    body: CancelBody,
    method: Option<CancelMethod>,
) -> Result<(StatusCode, CancellationAnswer), ApiError> {
    ApiError::check_limits(
        "the cancellation",
        [
            limits::check_reason("reason", &body.reason),
            body.reason_code
                .as_deref()
                .and_then(|code| limits::check_short_text("reason_code", code)),
        ],
    )?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "REASON_REQUIRED",
            "a cancellation needs a non-empty 'reason'",
        ));
    }
    let current = load(state, tenant_id, order_id).await?;
    let effective_at = effective(
        body.effective_date.as_deref(),
        body.effective_at.as_deref(),
        &current,
    )?;
    let content = repeats::cancel_content(
        &body.reason,
        body.reason_code.as_deref(),
        effective_at.as_deref(),
    );
    let kind = PendingKind::Cancellation;
    if let Some(OrderRequest::Cancellation(c)) =
        repeated(state, &current, key.as_deref(), kind, &content).await?
    {
        return Ok((
            status(c.state),
            CancellationAnswer {
                event_uuid: c.event_uuid.clone(),
                cancellation: c,
                order: current,
            },
        ));
    }
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
            tenant_id,
            order_id,
            CancelRequest {
                cancellation_id: uuid::Uuid::now_v7().to_string(),
                reason: body.reason,
                reason_code: body.reason_code,
                effective_at,
                idempotency_key: key,
                requested_at: now(),
                method,
            },
        )
        .await?;
    Ok((
        status(outcome.cancellation.state),
        CancellationAnswer {
            cancellation: outcome.cancellation,
            event_uuid: outcome.event_uuid,
            order: outcome.order,
        },
    ))
}

/// `POST /v1/orders/{id}/reactivate`: 200 when the subscription is ACTIVE again (or its
/// scheduled cancellation is gone), 202 while the reactivation is SCHEDULED.
#[utoipa::path(post, path = "/v1/orders/{id}/reactivate", tag = "cancellations",
    request_body(content = Option<ReactivateBody>, description = "Optional"),
    params(("id" = String, Path, description = "Order id"),
        IdempotencyKey),
    responses(
        (status = 200, description = "ACTIVE again, or its scheduled cancellation removed", body = ReactivationAnswer),
        (status = 202, description = "SCHEDULED", body = ReactivationAnswer),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_REACTIVATABLE`", body = ErrorBody),
        (status = 422, description = "`INVALID_FIELD`", body = ErrorBody)))]
pub async fn reactivate_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<ReactivateBody>,
) -> Result<(StatusCode, Json<ReactivationAnswer>), ApiError> {
    let tenant_id = tenant(caller)?;
    let key = idempotency_key(&headers)?;
    let (status, answer) = reactivate(&state, &tenant_id, &order_id, key, body).await?;
    Ok((status, Json(answer)))
}

/// A tenant's reactivation of its subscription, from any interface: 200 when ACTIVE again (or
/// its scheduled cancellation removed), 202 while SCHEDULED.
pub async fn reactivate(
    state: &AppState,
    tenant_id: &str,
    order_id: &str,
    key: Option<String>,
    body: ReactivateBody,
) -> Result<(StatusCode, ReactivationAnswer), ApiError> {
    ApiError::check_limits(
        "the reactivation",
        [body
            .reason
            .as_deref()
            .and_then(|r| limits::check_reason("reason", r))],
    )?;
    let current = load(state, tenant_id, order_id).await?;
    let effective_at = effective(
        body.effective_date.as_deref(),
        body.effective_at.as_deref(),
        &current,
    )?;
    let content = repeats::reactivate_content(body.reason.as_deref(), effective_at.as_deref());
    let kind = PendingKind::Reactivation;
    if let Some(OrderRequest::Reactivation(r)) =
        repeated(state, &current, key.as_deref(), kind, &content).await?
    {
        return Ok((
            status(r.state),
            ReactivationAnswer {
                event_uuid: r.event_uuid.clone(),
                reactivation: r,
                order: current,
            },
        ));
    }
    if !rules::has_running_workflow(current.state) {
        cancellation::check_reactivation(&current).map_err(rule_error)?;
    }
    let outcome = state
        .engine
        .reactivate(
            tenant_id,
            order_id,
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
        ReactivationAnswer {
            reactivation: outcome.reactivation,
            event_uuid: outcome.event_uuid,
            order: outcome.order,
        },
    ))
}

/// A retry under `key` of a request made before the order ended: its workflow no longer
/// answers, so the stored requests, which keep their keys, say what the first answer was
/// (see `orderflow_domain::repeats`). `None` while the workflow runs (it recognises repeats
/// itself) or when the key made nothing.
async fn repeated(
    state: &AppState,
    order: &OrderView,
    key: Option<&str>,
    kind: PendingKind,
    content: &serde_json::Value,
) -> Result<Option<OrderRequest>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    if rules::has_running_workflow(order.state) {
        return Ok(None);
    }
    let (tenant_id, order_id) = (&order.document.tenant_id, &order.document.order_id);
    let mut made = Vec::new();
    for kind in [PendingKind::Cancellation, PendingKind::Reactivation] {
        made.extend(state.store.list_requests(tenant_id, order_id, kind).await?);
    }
    let found = repeats::repeat_after_end(&made, key, kind, content).map_err(rule_error)?;
    Ok(found.cloned())
}

/// `GET /v1/orders/{id}/cancellations/{cancellation_id}`.
#[utoipa::path(get, path = "/v1/orders/{id}/cancellations/{request_id}", tag = "cancellations",
    params(("id" = String, Path, description = "Order id"), ("request_id" = String, Path, description = "Cancellation id")),
    responses((status = 200, body = Cancellation), (status = 404, body = ErrorBody)))]
pub async fn get_cancellation(
    State(state): State<AppState>,
    caller: Caller,
    Path((order_id, id)): Path<(String, String)>,
) -> Result<Json<Cancellation>, ApiError> {
    match find_request(&state, caller, &order_id, &id).await? {
        Some(OrderRequest::Cancellation(c)) => Ok(Json(c)),
        _ => Err(request_not_found("cancellation", &order_id, &id)),
    }
}

/// `GET /v1/orders/{id}/reactivations/{reactivation_id}`.
#[utoipa::path(get, path = "/v1/orders/{id}/reactivations/{request_id}", tag = "cancellations",
    params(("id" = String, Path, description = "Order id"), ("request_id" = String, Path, description = "Reactivation id")),
    responses((status = 200, body = Reactivation), (status = 404, body = ErrorBody)))]
pub async fn get_reactivation(
    State(state): State<AppState>,
    caller: Caller,
    Path((order_id, id)): Path<(String, String)>,
) -> Result<Json<Reactivation>, ApiError> {
    match find_request(&state, caller, &order_id, &id).await? {
        Some(OrderRequest::Reactivation(r)) => Ok(Json(r)),
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
