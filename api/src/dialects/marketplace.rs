//! The marketplace dialect (seed 002) at `/compat/marketplace`: an order read with the
//! marketplace's state names, the two cancellation methods as `state_event`s of
//! `PATCH /orders/{id}`, and `DELETE` of a draft. Each maps onto the core cancellation and
//! draft handling; which method fits the order is the domain's rule
//! (`orderflow_domain::cancellation::check_method`), checked by the workflow like any other.

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
use orderflow_config::Caller;
use orderflow_domain::cancellation::{CancelMethod, Cancellation};
use orderflow_domain::marketplace;
use orderflow_domain::model::{OrderLine, OrderState, OrderView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PATCH /compat/marketplace/orders/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketplacePatch {
    pub order: StateEvent,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateEvent {
    /// `cancel_by_consumer` (placed, not yet with the supplier) or `request_cancelation`
    /// (transferred: the supplier decides).
    pub state_event: String,
    /// Why; recorded on the cancellation (default: the state event's name).
    pub reason: Option<String>,
}

/// An order as the marketplace shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarketplaceOrder {
    /// The orderflow order id.
    pub id: String,
    /// `draft`, `placed`, `transfer_failed`, `canceled_by_consumer`, `canceled_by_supplier`,
    /// or the orderflow state in lower case (e.g. `execution`, `complete`).
    pub state: String,
    /// The orderflow state, for clients that read both.
    pub orderflow_state: OrderState,
    pub order_ref: String,
    pub supplier_id: String,
    pub lines: Vec<OrderLine>,
    pub created_at: String,
    pub updated_at: String,
    /// The cancellation this request made, on a `PATCH` answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelation: Option<Cancellation>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarketplaceAnswer {
    pub order: MarketplaceOrder,
}

impl MarketplaceAnswer {
    fn of(view: &OrderView, cancelation: Option<Cancellation>) -> MarketplaceAnswer {
        let d = &view.document;
        MarketplaceAnswer {
            order: MarketplaceOrder {
                id: d.order_id.to_string(),
                state: marketplace::state(view),
                orderflow_state: view.state,
                order_ref: d.order_ref.clone(),
                supplier_id: d.supplier_id.to_string(),
                lines: d.lines.clone(),
                created_at: view.created_at.clone(),
                updated_at: view.updated_at.clone(),
                cancelation,
            },
        }
    }
}

/// `GET /compat/marketplace/orders/{id}`: the order with its marketplace state.
#[utoipa::path(get, path = "/compat/marketplace/orders/{id}", tag = "marketplace",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = MarketplaceAnswer), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Json<MarketplaceAnswer>, ApiError> {
    let tenant_id = tenant(caller)?;
    let view = load(&state, &tenant_id, &order_id).await?;
    Ok(Json(MarketplaceAnswer::of(&view, None)))
}

/// `PATCH /compat/marketplace/orders/{id}`: `cancel_by_consumer` cancels at once without the
/// supplier (only while placed or transfer_failed, else 409 `USE_REQUEST_CANCELATION`);
/// `request_cancelation` asks the supplier (only once transferred, else 409
/// `USE_CANCEL_BY_CONSUMER`): 202 while it decides, then `canceled_by_supplier` if it accepts.
#[utoipa::path(patch, path = "/compat/marketplace/orders/{id}", tag = "marketplace",
    request_body = MarketplacePatch,
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "Cancelled by consumer, or decided at once", body = MarketplaceAnswer),
        (status = 202, description = "The supplier decides", body = MarketplaceAnswer),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`USE_REQUEST_CANCELATION`, `USE_CANCEL_BY_CONSUMER`, `NOT_CANCELLABLE`, `REQUEST_IN_PROGRESS`", body = ErrorBody),
        (status = 422, description = "`INVALID_STATE_EVENT`", body = ErrorBody)))]
pub async fn patch_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<MarketplacePatch>,
) -> Result<(StatusCode, Json<MarketplaceAnswer>), ApiError> {
    let tenant_id = tenant(caller)?;
    let key = idempotency_key(&headers)?;
    let event = body.order.state_event.as_str();
    let method = match event {
        "cancel_by_consumer" => CancelMethod::Consumer,
        "request_cancelation" => CancelMethod::Supplier,
        _ => {
            return Err(ApiError::unprocessable(
                "INVALID_STATE_EVENT",
                "state_event must be 'cancel_by_consumer' or 'request_cancelation'",
            ));
        }
    };
    let cancel = CancelBody {
        reason: body
            .order
            .reason
            .unwrap_or_else(|| format!("marketplace: {event}")),
        reason_code: None,
        effective_date: None,
        effective_at: None,
    };
    let (status, answer) =
        cancellations::cancel(&state, &tenant_id, &order_id, key, cancel, Some(method)).await?;
    Ok((
        status,
        Json(MarketplaceAnswer::of(
            &answer.order,
            Some(answer.cancellation),
        )),
    ))
}

/// `DELETE /compat/marketplace/orders/{id}`: deletes a draft (204); a placed order is
/// cancelled instead (409 `NOT_DRAFT`).
#[utoipa::path(delete, path = "/compat/marketplace/orders/{id}", tag = "marketplace",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_DRAFT`", body = ErrorBody)))]
pub async fn delete_order(
    state: State<AppState>,
    caller: Caller,
    order_id: Path<String>,
) -> Result<StatusCode, ApiError> {
    crate::drafts::delete_draft(state, caller, order_id).await
}
