//! The OpenAPI 3.1 document served at `/openapi.json`. Paths and schemas come from the
//! handlers' `#[utoipa::path]` annotations and the wire types; the router is built from the
//! same annotated handlers (`lib.rs`), so every endpoint is documented by construction.

use utoipa::OpenApi;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "orderflow",
        description = "Order fulfilment on Temporal: tenants place, amend and cancel orders with \
            suppliers and hear about every change. Authenticate with `Authorization: Bearer \
            <key>` (a tenant's API key or the operator token). Every error has the shape \
            `{\"error\": {\"code\", \"message\", \"details\"}}`; the codes are listed in the README."
    ),
    security(("bearer" = [])),
    tags(
        (name = "orders", description = "Submit, read and list orders and their events"),
        (name = "drafts", description = "Orders saved with `\"place\": false`"),
        (name = "amendments", description = "Change an order: a restart from SUBMITTED before the plan runs, a patch the supplier decides once it does"),
        (name = "cancellations", description = "Cancel an order (at once before transfer, by the supplier after), or deactivate and reactivate a subscription"),
        (name = "webhooks", description = "Every order event, POSTed signed to the tenant's subscribed URLs, at least once and in order"),
        (name = "operators", description = "Operator commands (operator token only)"),
        (name = "suppliers", description = "Supplier callbacks, HMAC-signed"),
        (name = "health", description = "Readiness"),
        (name = "marketplace", description = "Seed 002's interface: marketplace states, `cancel_by_consumer` and `request_cancelation`, deleting a draft"),
        (name = "peppol", description = "Seed 003's interface: Order Cancellations, their UBL OrderCancellation and OrderResponse documents, webhooks on Peppol topics"),
        (name = "subscriptions", description = "Seed 004's interface: cancel and reactivate a subscription at an `effective_date`"),
        (name = "tmf622", description = "Seed 000's interface, TM Forum TMF622 Product Ordering v5: productOrder, cancelProductOrder, the notification hub"),
    )
)]
pub struct ApiDoc;

/// What every operation shares, stated once (applied to the document with all routes): the
/// bearer scheme, 401 for operations that take a bearer token, and a default error response
/// (400 malformed input, 413 too large, 503 engine unavailable, …) with the one error body.
pub fn conventions(doc: &mut Document) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A tenant's API key or the operator token"))
                .build(),
        ),
    );
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            // `security(())` (an empty requirement) marks the operations without a token.
            let public = op
                .security
                .as_ref()
                .is_some_and(|s| s.contains(&SecurityRequirement::default()));
            let responses = &mut op.responses.responses;
            if !public {
                responses
                    .entry("401".into())
                    .or_insert_with(|| error("`UNAUTHORIZED`: missing or unknown bearer token"));
            }
            responses
                .entry("default".into())
                .or_insert_with(|| error("Any other error; `error.code` says which"));
        }
    }
}
