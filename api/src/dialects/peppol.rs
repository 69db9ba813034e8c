//! The Peppol dialect (seed 003) at `/compat/peppol`: a buyer's Order Cancellation of an
//! order, the UBL documents of the exchange, and webhooks on Peppol's topics. The path's
//! `partyId` must be the caller's own participant id (configuration: `tenants[].
//! peppol_participant_id`), else 404 like any order that is not the caller's; `documentId` is
//! the order id. The cancellation is the core one (its rules pick the path): a request the
//! supplier may refuse, so it is answered 202 whatever happens next.

mod ubl;

use crate::AppState;
use crate::amendments::{idempotency_key, tenant};
use crate::answers::ErrorBody;
use crate::cancellations::{self, CancelBody};
use crate::error::ApiError;
use crate::extract::{OptionalJson, StrictJson};
use crate::orders::load;
use crate::webhooks;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderflow_config::{Caller, Settings};
use orderflow_domain::cancellation::{Cancellation, OrderRequest};
use orderflow_domain::model::{OrderView, RequestState};
use orderflow_domain::requests::{PendingKind, ResponseCode};
use orderflow_domain::webhooks::WebhookDialect;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST …/purchaseOrder/{documentId}/cancel`: an optional reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeppolCancel {
    /// The `CancellationNote` of the Order Cancellation (default: `peppol: order
    /// cancellation`).
    pub reason: Option<String>,
}

/// The cancellation as Peppol's client follows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeppolCancellation {
    pub document_id: String,
    pub cancellation_id: String,
    /// `PENDING` while the supplier decides; `ACCEPTED` or `REJECTED` once it answered (or
    /// `ACCEPTED` at once if the supplier never had the order); `EXPIRED` or `FAILED` when no
    /// answer came.
    pub state: RequestState,
    /// The supplier's Order Response code once it answered: `AP` or `RE`.
    pub response_code: Option<ResponseCode>,
}

/// `POST /compat/peppol/api/v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeppolWebhookBody {
    /// Where to POST the notifications: an https URL with a public host.
    pub action: String,
    /// Peppol topics: `OrderCancellationSent`, `OrderResponseReceived`.
    #[schema(min_items = 1)]
    pub topics: Vec<String>,
    /// 16–256 characters; signs each delivery like every orderflow webhook.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeppolWebhook {
    pub id: String,
    pub action: String,
    pub topics: Vec<String>,
}

/// The caller's tenant, if `party_id` is its participant id; otherwise nothing is here.
/// (The message does not repeat the id: it may be another tenant's.)
fn party(state: &AppState, caller: Caller, party_id: &str) -> Result<String, ApiError> {
    let tenant_id = tenant(caller)?;
    match state.settings.peppol_participant_id(&tenant_id) {
        Some(own) if own == party_id => Ok(tenant_id),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "the path's partyId is not this API key's Peppol participant id",
        )),
    }
}

/// `POST /compat/peppol/api/v1/{partyId}/purchaseOrder/{documentId}/cancel`: sends the Order
/// Cancellation. 202: a request, final only with the supplier's `AP`.
#[utoipa::path(post, path = "/compat/peppol/api/v1/{partyId}/purchaseOrder/{documentId}/cancel",
    tag = "peppol", request_body(content = Option<PeppolCancel>),
    params(("partyId" = String, Path, description = "The caller's Peppol participant id"),
        ("documentId" = String, Path, description = "The order id"),
        crate::amendments::IdempotencyKey),
    responses((status = 202, body = PeppolCancellation),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_CANCELLABLE`, `REQUEST_IN_PROGRESS`", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path((party_id, document_id)): Path<(String, String)>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<PeppolCancel>,
) -> Result<(StatusCode, Json<PeppolCancellation>), ApiError> {
    let tenant_id = party(&state, caller, &party_id)?;
    let key = idempotency_key(&headers)?;
    let cancel = CancelBody {
        reason: body
            .reason
            .unwrap_or_else(|| "peppol: order cancellation".to_string()),
        reason_code: None,
        effective_date: None,
        effective_at: None,
    };
    let (_, answer) =
        cancellations::cancel(&state, &tenant_id, &document_id, key, cancel, None).await?;
    let c = answer.cancellation;
    Ok((
        StatusCode::ACCEPTED,
        Json(PeppolCancellation {
            document_id,
            cancellation_id: c.cancellation_id,
            state: c.state,
            response_code: c.response_code,
        }),
    ))
}

/// The order and its latest cancellation, for the documents.
async fn latest(
    state: &AppState,
    caller: Caller,
    party_id: &str,
    document_id: &str,
) -> Result<(OrderView, Cancellation), ApiError> {
    let tenant_id = party(state, caller, party_id)?;
    let order = load(state, &tenant_id, document_id).await?;
    let requests = state
        .store
        .list_requests(&tenant_id, document_id, PendingKind::Cancellation)
        .await?;
    let last = requests.into_iter().rev().find_map(|r| match r {
        OrderRequest::Cancellation(c) => Some(c),
        _ => None,
    });
    let Some(c) = last else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("order '{document_id}' has no cancellation"),
        ));
    };
    Ok((order, c))
}

/// The buyer (the tenant) and the seller (the order's supplier) as Peppol parties; 409
/// `PEPPOL_NOT_CONFIGURED` if the supplier has none.
fn parties<'a>(
    settings: &'a Settings,
    order: &'a OrderView,
    party_id: &'a str,
) -> Result<(ubl::Party<'a>, ubl::Party<'a>), ApiError> {
    let d = &order.document;
    let supplier = settings.supplier(d.supplier_id.as_str());
    let Some(seller) = supplier.and_then(|s| s.peppol.as_ref()) else {
        return Err(ApiError::conflict(
            "PEPPOL_NOT_CONFIGURED",
            format!(
                "supplier '{}' has no Peppol party in orderflow's configuration \
                 (suppliers[].peppol): ask the operator to add it",
                d.supplier_id
            ),
        ));
    };
    let buyer_name = d
        .customer
        .as_ref()
        .and_then(|c| c.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or(d.tenant_id.as_str());
    Ok((
        ubl::Party {
            participant_id: party_id,
            name: buyer_name,
            country: None,
        },
        ubl::Party {
            participant_id: &seller.participant_id,
            name: d.supplier_id.as_str(),
            country: Some(&seller.country),
        },
    ))
}

fn xml(document: std::io::Result<String>) -> Result<Response, ApiError> {
    let body = document.map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], body).into_response())
}

/// The day of an RFC 3339 time.
fn day(at: &str) -> &str {
    at.get(..10).unwrap_or(at)
}

/// `GET …/purchaseOrder/{documentId}/cancellation`: the UBL OrderCancellation of the order's
/// latest cancellation.
#[utoipa::path(get, path = "/compat/peppol/api/v1/{partyId}/purchaseOrder/{documentId}/cancellation",
    tag = "peppol",
    params(("partyId" = String, Path, description = "The caller's Peppol participant id"),
        ("documentId" = String, Path, description = "The order id")),
    responses((status = 200, content_type = "application/xml", body = String,
            description = "UBL 2.1 OrderCancellation, Peppol BIS Advanced Ordering 3.0"),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`PEPPOL_NOT_CONFIGURED`", body = ErrorBody)))]
pub async fn get_cancellation(
    State(state): State<AppState>,
    caller: Caller,
    Path((party_id, document_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (order, c) = latest(&state, caller, &party_id, &document_id).await?;
    let (buyer, seller) = parties(&state.settings, &order, &party_id)?;
    xml(ubl::OrderCancellation {
        id: &c.cancellation_id,
        issue_date: day(&c.requested_at),
        note: &c.reason,
        order_id: &document_id,
        buyer,
        seller,
    }
    .to_xml())
}

/// `GET …/purchaseOrder/{documentId}/response`: the supplier's UBL OrderResponse to the
/// latest cancellation, `AP` or `RE`; 404 until it has answered.
#[utoipa::path(get, path = "/compat/peppol/api/v1/{partyId}/purchaseOrder/{documentId}/response",
    tag = "peppol",
    params(("partyId" = String, Path, description = "The caller's Peppol participant id"),
        ("documentId" = String, Path, description = "The order id")),
    responses((status = 200, content_type = "application/xml", body = String,
            description = "UBL 2.1 OrderResponse, Peppol BIS Advanced Ordering 3.0"),
        (status = 404, description = "No cancellation, or the supplier has not answered it", body = ErrorBody),
        (status = 409, description = "`PEPPOL_NOT_CONFIGURED`", body = ErrorBody)))]
pub async fn get_response(
    State(state): State<AppState>,
    caller: Caller,
    Path((party_id, document_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (order, c) = latest(&state, caller, &party_id, &document_id).await?;
    let (code, decided_at) = match (c.response_code, &c.decided_at) {
        (Some(ResponseCode::Accepted), Some(at)) => ("AP", at),
        (Some(ResponseCode::Rejected), Some(at)) => ("RE", at),
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!(
                    "cancellation {} of order '{document_id}' has no Order Response: it is {}",
                    c.cancellation_id,
                    c.state.as_str()
                ),
            ));
        }
    };
    let (buyer, seller) = parties(&state.settings, &order, &party_id)?;
    let id = format!("{}-response", c.cancellation_id);
    xml(ubl::OrderResponse {
        id: &id,
        issue_date: day(decided_at),
        code,
        note: c.decision_reason.as_deref(),
        // The BIS requires a currency; an order placed without one is answered in euros.
        currency: order.document.currency.as_deref().unwrap_or("EUR"),
        order_id: &document_id,
        buyer,
        seller,
    }
    .to_xml())
}

/// `POST /compat/peppol/api/v1/webhooks`: notifications on Peppol's topics, through the same
/// durable, checked and signed webhook machinery as the core API's (`GET`/`DELETE
/// /v1/webhooks/{id}` list and remove it).
#[utoipa::path(post, path = "/compat/peppol/api/v1/webhooks", tag = "peppol",
    request_body = PeppolWebhookBody,
    responses((status = 201, body = PeppolWebhook),
        (status = 409, description = "`LIMIT_REACHED`", body = ErrorBody),
        (status = 422, description = "`INVALID_FIELD`, `URL_NOT_ALLOWED`", body = ErrorBody)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    StrictJson(body): StrictJson<PeppolWebhookBody>,
) -> Result<(StatusCode, Json<PeppolWebhook>), ApiError> {
    let tenant_id = crate::extract::tenant_only(caller, "webhooks are managed")?;
    let topics: Vec<String> = body
        .topics
        .iter()
        .map(|t| {
            serde_json::to_value(t)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        })
        .collect::<Option<_>>()
        .unwrap_or_default();
    webhooks::check_url("action", &body.action)?;
    webhooks::check_topics("topics", &topics, WebhookDialect::Peppol)?;
    webhooks::check_secret("secret", &body.secret)?;
    let w = webhooks::register(
        &state,
        &tenant_id,
        body.action,
        body.topics,
        &body.secret,
        WebhookDialect::Peppol,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(PeppolWebhook {
            id: w.webhook_id,
            action: w.url,
            topics: w.topics,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderflow_domain::ids::{OrderId, SupplierId, TenantId};
    use orderflow_domain::model::{OrderDocument, OrderType};

    fn order() -> OrderView {
        let mut d = OrderDocument::new(
            TenantId::parse("acme").unwrap(),
            OrderId::parse("po-1").unwrap(),
            "PO-1",
            SupplierId::parse("sim").unwrap(),
            OrderType::Provide,
        );
        d.customer = Some(serde_json::json!({ "name": "Acme Ltd" }));
        OrderView::received(d, "2026-12-03T10:00:00Z".into())
    }

    #[test]
    fn the_parties_are_the_tenant_and_the_orders_supplier_if_it_has_a_peppol_party() {
        let settings = Settings::dev();
        let order = order();
        let (buyer, seller) = parties(&settings, &order, "9915:acme").unwrap();
        assert_eq!(
            (buyer.participant_id, buyer.name),
            ("9915:acme", "Acme Ltd")
        );
        assert_eq!(
            (seller.participant_id, seller.country),
            ("9915:sim", Some("NL"))
        );

        let mut bare = Settings::dev();
        bare.suppliers[0].peppol = None;
        let e = parties(&bare, &order, "9915:acme").err().unwrap();
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::CONFLICT, "PEPPOL_NOT_CONFIGURED")
        );
        assert!(e.message.contains("suppliers[].peppol"), "{}", e.message);
    }
}
