//! The notification `hub`: `POST /hub` registers a listener, `DELETE /hub/{id}` removes it.
//! A hub is a webhook of dialect `tmf622` (listed and inspected with the core
//! `/v1/webhooks`), so its notifications are durable, ordered, retried, SSRF-checked and
//! signed like every delivery; the envelopes come from `orderflow_domain::tmf622`.

use crate::AppState;
use crate::answers::ErrorBody;
use crate::error::ApiError;
use crate::extract::{StrictJson, tenant_only};
use crate::webhooks;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orderflow_config::Caller;
use orderflow_domain::tmf622::{BASE, EVENT_TYPES};
use orderflow_domain::webhooks::WebhookDialect;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

const WHAT: &str = "hubs are managed";

/// `POST /hub` (TMF622 `Hub_FVO`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct HubCreate {
    /// The listener's URL: https with a public host (as every orderflow webhook).
    pub callback: String,
    /// `eventType=A,B` (or `eventType=A&eventType=B`) for some notification types; none:
    /// every type.
    pub query: Option<String>,
    /// 16–256 characters to sign the deliveries with (orderflow's and the Standard Webhooks
    /// headers); none: they are signed with a secret orderflow keeps to itself.
    pub secret: Option<String>,
}

/// The event types a hub `query` asks for.
fn event_types(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    let query = query.unwrap_or("").trim();
    if query.is_empty() {
        return Ok(EVENT_TYPES.iter().map(|t| t.to_string()).collect());
    }
    let mut types = Vec::new();
    for part in query.split('&') {
        match part.split_once('=') {
            Some(("eventType", names)) => {
                types.extend(names.split(',').map(|n| n.trim().to_string()))
            }
            _ => {
                return Err(ApiError::unprocessable(
                    "INVALID_FIELD",
                    format!("query: '{part}' is not supported; use eventType=<type>[,<type>…]"),
                ));
            }
        }
    }
    webhooks::check_topics("query", &types, WebhookDialect::Tmf622)?;
    Ok(types)
}

/// `POST /hub`: 201 with the registration.
#[utoipa::path(post, path = "/tmf-api/productOrderingManagement/v5/hub", tag = "tmf622",
    request_body = HubCreate,
    responses((status = 201, description = "The Hub", body = Object),
        (status = 409, description = "`LIMIT_REACHED`", body = ErrorBody),
        (status = 422, description = "`INVALID_FIELD`, `URL_NOT_ALLOWED`", body = ErrorBody)))]
pub async fn create_hub(
    State(state): State<AppState>,
    caller: Caller,
    StrictJson(body): StrictJson<HubCreate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant_id = tenant_only(caller, WHAT)?;
    webhooks::check_url("callback", &body.callback)?;
    let topics = event_types(body.query.as_deref())?;
    let secret = match body.secret {
        Some(secret) => {
            webhooks::check_secret("secret", &secret)?;
            secret
        }
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let hub = webhooks::register(
        &state,
        &tenant_id,
        body.callback.clone(),
        topics,
        &secret,
        WebhookDialect::Tmf622,
    )
    .await?;
    let mut answer = json!({
        "id": hub.webhook_id,
        "href": format!("{BASE}/hub/{}", hub.webhook_id),
        "callback": body.callback,
        "@type": "Hub",
    });
    if let Some(query) = body.query {
        answer["query"] = json!(query);
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `DELETE /hub/{id}`: 204; nothing more is sent to it.
#[utoipa::path(delete, path = "/tmf-api/productOrderingManagement/v5/hub/{id}", tag = "tmf622",
    params(("id" = String, Path, description = "The Hub id")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody)))]
pub async fn delete_hub(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant_id = tenant_only(caller, WHAT)?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("hub '{id}' not found"),
        )
    };
    // Only a hub: a core or Peppol webhook is removed through its own interface.
    match state.store.get_webhook(&tenant_id, &id).await? {
        Some(w) if w.dialect == WebhookDialect::Tmf622 => {}
        _ => return Err(not_found()),
    }
    if !state.store.delete_webhook(&tenant_id, &id).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_names_event_types_or_none_means_all() {
        assert_eq!(event_types(None).unwrap().len(), EVENT_TYPES.len());
        assert_eq!(event_types(Some(" ")).unwrap().len(), EVENT_TYPES.len());
        let two = "eventType=ProductOrderStateChangeEvent,CancelProductOrderCreateEvent";
        assert_eq!(
            event_types(Some(two)).unwrap(),
            [
                "ProductOrderStateChangeEvent",
                "CancelProductOrderCreateEvent"
            ]
        );
        let repeated = "eventType=ProductOrderCreateEvent&eventType=ProductOrderStateChangeEvent";
        assert_eq!(event_types(Some(repeated)).unwrap().len(), 2);
        for bad in ["eventType=OrderShipped", "state=completed", "eventType"] {
            let e = event_types(Some(bad)).unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FIELD"),
                "{bad}"
            );
        }
    }
}
