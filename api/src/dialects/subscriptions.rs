//! The subscriptions dialect (seed 004) at `/compat/subscriptions`: cancel a recurring order
//! with `{"order": {"effective_date"}}` and reactivate it with `{"account": {"effective_date"}}`.
//! A date today or earlier acts now, a later one is scheduled: the core cancellation and
//! reactivation rules, answered in the seed's shape. The seed asks for no reason, so the one
//! recorded names the dialect.

use crate::AppState;
use crate::amendments::{idempotency_key, tenant};
use crate::answers::ErrorBody;
use crate::cancellations::{self, CancelBody, ReactivateBody};
use crate::error::ApiError;
use crate::extract::StrictJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use orderflow_config::Caller;
use orderflow_domain::model::{OrderState, OrderView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Effective {
    /// The day (YYYY-MM-DD, in the order's time zone) it takes effect; today or earlier is now.
    #[schema(format = Date)]
    pub effective_date: String,
}

/// `POST /compat/subscriptions/orders/{id}/cancel`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCancel {
    pub order: Effective,
}

/// `POST /compat/subscriptions/orders/{id}/reactivate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionReactivate {
    pub account: Effective,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedValue {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionLine {
    pub item_id: String,
    pub item_name: String,
    pub item_order_quantity: String,
    pub item_price: String,
    pub discount: String,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
}

/// An order as the subscription API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionOrder {
    /// `ACTIVE` (a cancellation scheduled, or none) or `INACTIVE`; the orderflow state for an
    /// order that is not a running subscription.
    pub status: String,
    pub id: String,
    pub name: String,
    pub customer_purchase_order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<NamedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<NamedValue>,
    pub created_on: String,
    pub last_updated_on: String,
    pub lines: Vec<SubscriptionLine>,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
}

impl SubscriptionOrder {
    fn of(view: &OrderView) -> SubscriptionOrder {
        let d = &view.document;
        let status = match view.state {
            OrderState::Active => "ACTIVE".to_string(),
            OrderState::Inactive => "INACTIVE".to_string(),
            other => other.as_str().to_string(),
        };
        let lines = d
            .lines
            .iter()
            .map(|line| {
                let amounts = view
                    .amounts
                    .lines
                    .iter()
                    .find(|a| a.line_id == line.line_id.as_str());
                let amount = |pick: fn(&orderflow_domain::money::LineAmounts) -> &String| {
                    amounts.map(pick).cloned().unwrap_or_default()
                };
                SubscriptionLine {
                    item_id: line.line_id.to_string(),
                    item_name: line.product_code.clone(),
                    item_order_quantity: line.quantity.to_string(),
                    item_price: line.unit_price.to_string(),
                    discount: line
                        .discount
                        .as_ref()
                        .map_or_else(|| "0".to_string(), |p| p.to_string()),
                    subtotal: amount(|a| &a.subtotal),
                    tax: amount(|a| &a.tax),
                    total: amount(|a| &a.total),
                }
            })
            .collect();
        SubscriptionOrder {
            status,
            id: d.order_id.to_string(),
            name: d.order_ref.clone(),
            customer_purchase_order_id: d.order_ref.clone(),
            currency: d.currency.clone().map(|name| NamedValue { name }),
            time_zone: d.time_zone.clone().map(|name| NamedValue { name }),
            created_on: view.created_at.clone(),
            last_updated_on: view.updated_at.clone(),
            lines,
            subtotal: view.amounts.subtotal.clone(),
            tax: view.amounts.tax.clone(),
            total: view.amounts.total.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionCancelAnswer {
    /// The event that recorded the cancellation (deactivated, or scheduled).
    pub event_uuid: Option<String>,
    pub order: SubscriptionOrder,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionReactivateAnswer {
    /// The event that recorded the reactivation (reactivated, or scheduled).
    pub event_uuid: Option<String>,
}

/// `POST /compat/subscriptions/orders/{id}/cancel`: `INACTIVE` now if the date is today or
/// earlier, else `ACTIVE` with the cancellation scheduled.
#[utoipa::path(post, path = "/compat/subscriptions/orders/{id}/cancel", tag = "subscriptions",
    request_body = SubscriptionCancel,
    params(("id" = String, Path, description = "Order id"), crate::amendments::IdempotencyKey),
    responses((status = 200, body = SubscriptionCancelAnswer),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_CANCELLABLE`", body = ErrorBody),
        (status = 422, description = "`INVALID_FIELD`", body = ErrorBody)))]
pub async fn cancel_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<SubscriptionCancel>,
) -> Result<Json<SubscriptionCancelAnswer>, ApiError> {
    let tenant_id = tenant(caller)?;
    let key = idempotency_key(&headers)?;
    let cancel = CancelBody {
        reason: "subscriptions: cancel".to_string(),
        reason_code: None,
        effective_date: Some(body.order.effective_date),
        effective_at: None,
    };
    let (_, answer) =
        cancellations::cancel(&state, &tenant_id, &order_id, key, cancel, None).await?;
    Ok(Json(SubscriptionCancelAnswer {
        event_uuid: answer.event_uuid,
        order: SubscriptionOrder::of(&answer.order),
    }))
}

/// `POST /compat/subscriptions/orders/{id}/reactivate`: `ACTIVE` again now if the date is
/// today or earlier, else the reactivation is scheduled.
#[utoipa::path(post, path = "/compat/subscriptions/orders/{id}/reactivate", tag = "subscriptions",
    request_body = SubscriptionReactivate,
    params(("id" = String, Path, description = "Order id"), crate::amendments::IdempotencyKey),
    responses((status = 200, body = SubscriptionReactivateAnswer),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_REACTIVATABLE`", body = ErrorBody),
        (status = 422, description = "`INVALID_FIELD`", body = ErrorBody)))]
pub async fn reactivate_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<SubscriptionReactivate>,
) -> Result<Json<SubscriptionReactivateAnswer>, ApiError> {
    let tenant_id = tenant(caller)?;
    let key = idempotency_key(&headers)?;
    let reactivate = ReactivateBody {
        reason: Some("subscriptions: reactivate".to_string()),
        effective_date: Some(body.account.effective_date),
        effective_at: None,
    };
    let (_, answer) =
        cancellations::reactivate(&state, &tenant_id, &order_id, key, reactivate).await?;
    Ok(Json(SubscriptionReactivateAnswer {
        event_uuid: answer.event_uuid,
    }))
}
