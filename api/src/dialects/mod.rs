//! Dialects: other systems' interfaces onto the same orders. Each is a translation, its own
//! module with its request and answer types, onto the handlers of the core API (and so the
//! same workflow Updates, rules, events and webhooks); none decides anything itself.
//! `docs/dialects.md` describes each with examples.

pub mod marketplace;
pub mod peppol;
pub mod subscriptions;
pub mod tmf622;

use crate::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Every dialect's routes, under its own base path and OpenAPI tag.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            marketplace::get_order,
            marketplace::patch_order,
            marketplace::delete_order
        ))
        .routes(routes!(peppol::cancel))
        .routes(routes!(peppol::get_cancellation))
        .routes(routes!(peppol::get_response))
        .routes(routes!(peppol::create_webhook))
        .routes(routes!(subscriptions::cancel_order))
        .routes(routes!(subscriptions::reactivate_order))
        .routes(routes!(
            tmf622::orders::create_product_order,
            tmf622::orders::list_product_orders
        ))
        .routes(routes!(
            tmf622::orders::get_product_order,
            tmf622::orders::patch_product_order
        ))
        .routes(routes!(tmf622::cancel::create_cancel))
        .routes(routes!(tmf622::cancel::get_cancel))
        .routes(routes!(tmf622::hub::create_hub))
        .routes(routes!(tmf622::hub::delete_hub))
}
