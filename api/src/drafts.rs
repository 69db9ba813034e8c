//! Drafts: an order created with `"place": false`. A draft is only a row in
//! the order database (state DRAFT, no events, no workflow, nothing sent to the supplier)
//! until it is placed. `PUT` replaces it, `DELETE` removes it, `POST …/place` starts its
//! workflow through the same path as a directly placed order.
//!
//! Every write is conditional on the row still being a DRAFT (see the draft functions of
//! `orderflow_store::drafts`), so a request racing a `place` never changes a placed order.

use crate::AppState;
use crate::answers::ErrorBody;
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::orders::{self, NewOrder, load, now};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orderflow_config::Caller;
use orderflow_domain::model::{OrderState, OrderView};

/// Stores a new draft for the received order `view` (the DRAFT half of `POST /v1/orders`).
pub async fn insert(state: &AppState, view: OrderView) -> Result<OrderView, ApiError> {
    let draft = view.in_state(OrderState::Draft);
    if !state.store.insert_draft(&draft).await? {
        return Err(ApiError::duplicate_order(&draft.document.order_id));
    }
    Ok(draft)
}

/// Drafts belong to the tenant: the operator token gets 403.
fn tenant(caller: Caller, what: &str) -> Result<String, ApiError> {
    crate::extract::tenant_only(caller, &format!("drafts are {what}"))
}

/// 409 `NOT_DRAFT`: the order has been placed; `instead` says what to do.
fn not_draft(order: &OrderView, instead: &str) -> ApiError {
    let id = &order.document.order_id;
    ApiError::conflict(
        "NOT_DRAFT",
        format!(
            "order '{id}' is in state {} and no longer a draft; {}",
            order.state,
            instead.replace("{id}", id)
        ),
    )
}

/// After a conditional write found nothing to change: 404 if the order is gone, else 409.
async fn refused(state: &AppState, tenant_id: &str, order_id: &str, instead: &str) -> ApiError {
    match load(state, tenant_id, order_id).await {
        Ok(order) => not_draft(&order, instead),
        Err(e) => e,
    }
}

const USE_PATCH: &str = "change a placed order with an amendment: PATCH /v1/orders/{id}";
const USE_CANCEL: &str = "a placed order is cancelled with POST /v1/orders/{id}/cancel";
const ALREADY_PLACED: &str = "it has already been placed";

/// `PUT /v1/orders/{id}`: replaces the draft's document with the body (same shape as
/// `POST /v1/orders`). 200 with the draft. `"place": true` is refused (422): a draft is placed
/// with `POST /v1/orders/{id}/place`; `"place": false` is accepted, as it stays a draft.
#[utoipa::path(put, path = "/v1/orders/{id}", tag = "drafts", request_body = NewOrder,
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "The updated draft", body = OrderView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_DRAFT`: placed orders change by PATCH", body = ErrorBody),
        (status = 422, description = "`PLACE_NOT_ALLOWED`, `ORDER_ID_MISMATCH`, `VALIDATION_FAILED`", body = ErrorBody)))]
pub async fn update_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    StrictJson(mut body): StrictJson<NewOrder>,
) -> Result<Json<OrderView>, ApiError> {
    let tenant_id = tenant(caller, "edited")?;
    if body.place == Some(true) {
        return Err(ApiError::unprocessable(
            "PLACE_NOT_ALLOWED",
            format!(
                "PUT only edits a draft; place it with POST /v1/orders/{order_id}/place \
                 (remove 'place' from the body)"
            ),
        ));
    }
    if body.order_id.as_ref().is_some_and(|id| *id != order_id) {
        return Err(ApiError::unprocessable(
            "ORDER_ID_MISMATCH",
            format!("the body's order_id must be the order's id '{order_id}' (or be left out)"),
        ));
    }
    body.order_id = Some(order_id.clone());
    let current = load(&state, &tenant_id, &order_id).await?;
    if current.state != OrderState::Draft {
        return Err(not_draft(&current, USE_PATCH));
    }
    let draft = OrderView {
        updated_at: now(),
        ..current
    }
    .with_document(body.into_document(&state, tenant_id.clone())?);
    if !state.store.update_draft(&draft).await? {
        return Err(refused(&state, &tenant_id, &order_id, USE_PATCH).await);
    }
    Ok(Json(draft))
}

/// `POST /v1/orders/{id}/place`: 200 with the order in START; its workflow has started.
///
/// Claims the row first (DRAFT → START, atomically), then starts the workflow. If the engine
/// is unavailable the row goes back to DRAFT and the answer is 503. A row in START with
/// nothing recorded (`last_seq` 0) is an order being placed (a place that stopped after its
/// claim, or one in progress): placing it again starts the workflow if it is missing, so a
/// retried place finishes the job. Any other state is 409 `NOT_DRAFT`.
#[utoipa::path(post, path = "/v1/orders/{id}/place", tag = "drafts",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, description = "Placed: state START, its workflow started", body = OrderView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_DRAFT`", body = ErrorBody),
        (status = 503, description = "`ENGINE_UNAVAILABLE`: still a draft, place again", body = ErrorBody)))]
pub async fn place_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let tenant_id = tenant(caller, "placed")?;
    let (mut view, claimed) = match state
        .store
        .claim_draft(&tenant_id, &order_id, &now())
        .await?
    {
        Some(view) => (view, true),
        None => {
            let current = load(&state, &tenant_id, &order_id).await?;
            if current.state != OrderState::Start || current.last_seq != 0 {
                return Err(not_draft(&current, ALREADY_PLACED));
            }
            (current, false)
        }
    };
    match orders::start_workflow(&state, &mut view).await {
        Ok(()) => {}
        // Only placing this row starts this workflow id, so it is running already: placed.
        Err(e) if e.code == "DUPLICATE_ORDER" => {}
        // Not started: the order is a draft again. Only undo our own claim; a row found in
        // START may have a running workflow whose start merely went unanswered.
        Err(e) if e.code == "ENGINE_UNAVAILABLE" && claimed => {
            let draft = view.in_state(OrderState::Draft);
            state.store.unclaim_draft(&draft).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    }
    Ok(Json(view))
}

/// `DELETE /v1/orders/{id}`: 204 and the draft is gone (the id may be used again).
#[utoipa::path(delete, path = "/v1/orders/{id}", tag = "drafts",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_DRAFT`: placed orders are cancelled", body = ErrorBody)))]
pub async fn delete_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant_id = tenant(caller, "deleted")?;
    if state.store.delete_draft(&tenant_id, &order_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refused(&state, &tenant_id, &order_id, USE_CANCEL).await)
    }
}
