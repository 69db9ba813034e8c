//! `UNSOLICITED_CEASE`: the one callback that opens an order rather than acting on one.

use super::Callback;
use crate::AppState;
use crate::answers::CallbackAnswer;
use crate::error::ApiError;
use axum::Json;
use axum::http::StatusCode;
use orderflow_domain::ids::{OrderId, SupplierId, TenantId};
use orderflow_domain::model::{OrderDocument, OrderType, OrderView};
use orderflow_domain::rules;
use serde_json::json;

/// `UNSOLICITED_CEASE`: the supplier raises a cease of a tenant's service. orderflow opens it as
/// an order of that tenant (`unsolicited: true`, already transferred), which the tenant sees
/// but can never amend. A repeat of the same cease answers 200 with the existing order.
pub(super) async fn unsolicited_cease(
    state: &AppState,
    supplier_id: &str,
    callback: Callback,
) -> Result<(StatusCode, Json<CallbackAnswer>), ApiError> {
    // One answer for an unknown tenant and one that does not take ceases from this
    // supplier, so that a supplier cannot probe which tenants exist.
    if !state
        .settings
        .allows_unsolicited_cease(&callback.tenant_id, supplier_id)
    {
        return Err(ApiError::unprocessable(
            "UNKNOWN_TENANT",
            format!(
                "tenant '{}' is not configured to take unsolicited ceases from supplier '{supplier_id}'",
                callback.tenant_id
            ),
        ));
    }
    if let Some(existing) = state
        .store
        .get_order(&callback.tenant_id, &callback.order_id)
        .await?
    {
        return if existing.document.unsolicited && existing.document.supplier_id == supplier_id {
            Ok((
                StatusCode::OK,
                Json(CallbackAnswer {
                    order: Some(existing),
                    ..CallbackAnswer::accepted()
                }),
            ))
        } else {
            Err(ApiError::duplicate_order(&callback.order_id))
        };
    }
    let order_ref = callback
        .order_ref
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| format!("CEASE-{}", callback.order_id));
    let order = OrderDocument {
        unsolicited: true,
        notes: callback.reason,
        attributes: callback.attributes,
        ..OrderDocument::new(
            TenantId::unchecked(callback.tenant_id.as_str()),
            OrderId::unchecked(callback.order_id.as_str()),
            &order_ref,
            SupplierId::unchecked(supplier_id),
            OrderType::Cease,
        )
    };
    if let Err(errors) = rules::validate_order(&order) {
        return Err(ApiError::unprocessable(
            "VALIDATION_FAILED",
            "the unsolicited cease names an invalid order",
        )
        .with_details(json!({ "fields": errors })));
    }
    let mut view = OrderView::received(order, crate::orders::now());
    view.transferred = true;
    let started = crate::orders::start_workflow(state, &mut view).await;
    match started {
        // The same cease delivered twice at once: the other delivery started it.
        Err(e) if e.code == "DUPLICATE_ORDER" => {
            return Ok((StatusCode::OK, Json(CallbackAnswer::accepted())));
        }
        other => other?,
    }
    state.store.insert_received(&view).await?;
    Ok((
        StatusCode::CREATED,
        Json(CallbackAnswer {
            order: Some(view),
            ..CallbackAnswer::accepted()
        }),
    ))
}
