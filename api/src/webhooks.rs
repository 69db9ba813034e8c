//! Tenant webhooks: `POST/GET /v1/webhooks`, `GET/DELETE /v1/webhooks/{id}` and
//! `GET /v1/webhooks/{id}/deliveries`. Tenant keys only. The secret is encrypted before it is
//! stored and never shown again; the worker's dispatcher sends the deliveries.
//!
//! A URL is checked against the egress policy (`orderflow_activities::egress`) when it is
//! registered, so a tenant learns at once that a destination is refused (`URL_NOT_ALLOWED`);
//! the dispatcher checks it again at every send. A tenant has at most
//! `max_webhooks_per_tenant` webhooks (`LIMIT_REACHED`).

use crate::AppState;
use crate::answers::{DeliveryList, ErrorBody, WebhookList};
use crate::error::ApiError;
use crate::extract::{StrictJson, tenant_only};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orderflow_activities::egress::{EgressPolicy, Refusal};
use orderflow_config::Caller;
use orderflow_domain::model::EventType;
use orderflow_domain::peppol;
use orderflow_domain::webhooks::WebhookDialect;
use orderflow_store::SecretBox;
use orderflow_store::{Delivery, Webhook};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

const WHAT: &str = "webhooks are managed";
const DELIVERIES_LIMIT: i64 = 100;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// The receiver, an absolute `https://` URL (plain `http://` only where the deployment
    /// allows it) whose host resolves only to public addresses.
    #[schema(pattern = r"^https?://[^\s/?#]+")]
    pub url: String,
    /// Event types (e.g. `STATE_CHANGED`) or `*` for all.
    #[schema(min_items = 1)]
    pub topics: Vec<String>,
    /// 16–256 characters; signs each delivery. Stored encrypted, never shown again.
    #[schema(min_length = 16, max_length = 256)]
    pub secret: String,
}

/// Checks a subscription: an http(s) URL, known topics (or `*`), a 16–256 character secret.
pub fn validate(body: &WebhookBody) -> Result<(), ApiError> {
    check_url("url", &body.url)?;
    check_topics("topics", &body.topics, WebhookDialect::Core)?;
    check_secret("secret", &body.secret)
}

/// `field` holds an absolute http(s) URL (the egress policy decides later whether it may be
/// called).
pub fn check_url(field: &str, url: &str) -> Result<(), ApiError> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err(ApiError::invalid_field(
            field,
            "must be an absolute http:// or https:// URL",
        )),
    }
}

/// At least one topic, each one the dialect knows: an event type or `*` for a core webhook,
/// a Peppol topic for a Peppol one.
pub fn check_topics(
    field: &str,
    topics: &[String],
    dialect: WebhookDialect,
) -> Result<(), ApiError> {
    let (known, expected): (fn(&str) -> bool, &str) = match dialect {
        WebhookDialect::Core => (
            |t| t == "*" || serde_json::from_value::<EventType>(Value::String(t.into())).is_ok(),
            "an event type (or \"*\")",
        ),
        WebhookDialect::Tmf622 => (
            |t| orderflow_domain::tmf622::EVENT_TYPES.contains(&t),
            "a TMF622 event type (ProductOrderCreateEvent, ProductOrderStateChangeEvent, \
             ProductOrderAttributeValueChangeEvent, CancelProductOrderCreateEvent, \
             CancelProductOrderStateChangeEvent)",
        ),
        WebhookDialect::Peppol => (
            |t| peppol::Topic::ALL.iter().any(|k| k.as_str() == t),
            "a Peppol topic (OrderCancellationSent, OrderResponseReceived)",
        ),
    };
    if topics.is_empty() {
        return Err(ApiError::invalid_field(
            field,
            &format!("must name at least one topic: {expected}"),
        ));
    }
    if let Some(topic) = topics.iter().find(|t| !known(t)) {
        return Err(ApiError::invalid_field(
            field,
            &format!("'{topic}' is not {expected}"),
        ));
    }
    Ok(())
}

/// 16–256 characters: long enough to sign with, short enough to store.
pub fn check_secret(field: &str, secret: &str) -> Result<(), ApiError> {
    let len = secret.chars().count();
    if !(16..=256).contains(&len) {
        return Err(ApiError::invalid_field(
            field,
            "must be 16 to 256 characters",
        ));
    }
    Ok(())
}

fn keys(state: &AppState) -> Result<SecretBox, ApiError> {
    if state.settings.webhook_key.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "WEBHOOKS_DISABLED",
            "webhooks are disabled: no webhook_key is configured",
        ));
    }
    SecretBox::from_hex(state.settings.webhook_key.expose()).map_err(ApiError::internal)
}

/// 422 `URL_NOT_ALLOWED`: the message says why and what to use instead.
fn url_not_allowed(refusal: Refusal) -> ApiError {
    let message = refusal.to_string();
    ApiError::unprocessable("URL_NOT_ALLOWED", format!("url: {message}"))
        .with_details(json!({ "fields": [{ "field": "url", "message": message }] }))
}

fn limit_reached(max: usize) -> ApiError {
    ApiError::conflict(
        "LIMIT_REACHED",
        format!(
            "this tenant already has {max} webhooks, the most allowed; delete one \
             (DELETE /v1/webhooks/{{id}}) before adding another"
        ),
    )
    .with_details(json!({ "limit": max }))
}

fn not_found(webhook_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("webhook '{webhook_id}' not found"),
    )
}

/// `POST /v1/webhooks`: 201 with the subscription, without its secret.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookBody,
    responses((status = 201, body = Webhook),
        (status = 409, description = "`LIMIT_REACHED`: the tenant has `max_webhooks_per_tenant` webhooks already", body = ErrorBody),
        (status = 422, description = "`INVALID_FIELD`; `URL_NOT_ALLOWED`: not https (where http is not allowed), or the host is or resolves to a loopback, private, link-local, metadata, multicast or reserved address, or does not resolve", body = ErrorBody)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    StrictJson(body): StrictJson<WebhookBody>,
) -> Result<(StatusCode, Json<Webhook>), ApiError> {
    let tenant_id = tenant_only(caller, WHAT)?;
    validate(&body)?;
    let webhook = register(
        &state,
        &tenant_id,
        body.url,
        body.topics,
        &body.secret,
        WebhookDialect::Core,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(webhook)))
}

/// Stores a checked subscription for any interface: the URL against the egress policy, the
/// secret sealed, within the tenant's `max_webhooks_per_tenant`.
pub async fn register(
    state: &AppState,
    tenant_id: &str,
    url: String,
    topics: Vec<String>,
    secret: &str,
    dialect: WebhookDialect,
) -> Result<Webhook, ApiError> {
    let keys = keys(state)?;
    EgressPolicy::from_settings(&state.settings)
        .check(&url)
        .await
        .map_err(url_not_allowed)?;
    let webhook = Webhook {
        webhook_id: uuid::Uuid::now_v7().to_string(),
        url,
        topics,
        dialect,
        created_at: crate::orders::now(),
    };
    let sealed = keys.seal(&webhook.webhook_id, secret)?;
    let max = state.settings.max_webhooks_per_tenant;
    let stored = state
        .store
        .create_webhook_within(tenant_id, &webhook, &sealed, max)
        .await?;
    if !stored {
        return Err(limit_reached(max));
    }
    Ok(webhook)
}

/// `GET /v1/webhooks`: the caller's subscriptions.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", responses((status = 200, body = WebhookList)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookList>, ApiError> {
    let tenant_id = tenant_only(caller, WHAT)?;
    let webhooks = state.store.list_webhooks(&tenant_id).await?;
    Ok(Json(WebhookList { webhooks }))
}

/// `GET /v1/webhooks/{id}`.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = Webhook), (status = 404, body = ErrorBody)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    let tenant_id = tenant_only(caller, WHAT)?;
    let webhook = state.store.get_webhook(&tenant_id, &webhook_id).await?;
    webhook.map(Json).ok_or_else(|| not_found(&webhook_id))
}

/// `DELETE /v1/webhooks/{id}`: 204; nothing more is sent to it.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant_id = tenant_only(caller, WHAT)?;
    if state.store.delete_webhook(&tenant_id, &webhook_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&webhook_id))
    }
}

/// Checks that the caller is a tenant that owns webhook `webhook_id` (404 otherwise, also for
/// another tenant's).
async fn own_webhook(state: &AppState, caller: Caller, webhook_id: &str) -> Result<(), ApiError> {
    let tenant_id = tenant_only(caller, WHAT)?;
    match state.store.get_webhook(&tenant_id, webhook_id).await? {
        Some(_) => Ok(()),
        None => Err(not_found(webhook_id)),
    }
}

/// `GET /v1/webhooks/{id}/deliveries`: the latest 100, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = DeliveryList), (status = 404, body = ErrorBody)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> Result<Json<DeliveryList>, ApiError> {
    own_webhook(&state, caller, &webhook_id).await?;
    let deliveries = state
        .store
        .list_deliveries(&webhook_id, DELIVERIES_LIMIT)
        .await?;
    Ok(Json(DeliveryList { deliveries }))
}

/// `POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`: sends a delivered or failed
/// delivery again, with a fresh retry window (202); a pending one is already on its way (409).
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), ("delivery_id" = String, Path, description = "Delivery id (a delivery's `delivery_id`)")),
    responses((status = 202, body = Delivery),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`REQUEST_IN_PROGRESS`: the delivery is pending already", body = ErrorBody)))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((webhook_id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    own_webhook(&state, caller, &webhook_id).await?;
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("delivery '{delivery_id}' of webhook '{webhook_id}' not found"),
        )
    };
    let id: i64 = delivery_id.parse().map_err(|_| missing())?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    match state.store.redeliver(&webhook_id, id, now_ms).await? {
        None => Err(missing()),
        Some(false) => Err(ApiError::conflict(
            "REQUEST_IN_PROGRESS",
            format!("delivery {id} is pending already; it will be sent as it falls due"),
        )),
        Some(true) => {
            let delivery = state
                .store
                .get_delivery(&webhook_id, id)
                .await?
                .ok_or_else(missing)?;
            Ok((StatusCode::ACCEPTED, Json(delivery)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(url: &str, topics: &[&str], secret: &str) -> WebhookBody {
        WebhookBody {
            url: url.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            secret: secret.into(),
        }
    }

    fn field(r: Result<(), ApiError>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code, "INVALID_FIELD");
        e.details["fields"][0]["field"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn subscriptions_are_validated() {
        let s = "0123456789abcdef";
        assert!(validate(&body("https://x.test/h", &["*"], s)).is_ok());
        assert!(
            validate(&body(
                "http://127.0.0.1:9/h",
                &["STATE_CHANGED", "ORDER_ACKNOWLEDGED"],
                s
            ))
            .is_ok()
        );
        assert_eq!(field(validate(&body("ftp://x.test/h", &["*"], s))), "url");
        assert_eq!(field(validate(&body("not a url", &["*"], s))), "url");
        assert_eq!(field(validate(&body("https://x.test", &[], s))), "topics");
        assert_eq!(
            field(validate(&body("https://x.test", &["NOPE"], s))),
            "topics"
        );
        assert_eq!(
            field(validate(&body("https://x.test", &["state_changed"], s))),
            "topics"
        );
        assert_eq!(
            field(validate(&body("https://x.test", &["*"], "short"))),
            "secret"
        );
        assert_eq!(
            field(validate(&body("https://x.test", &["*"], &"x".repeat(257)))),
            "secret"
        );
        assert!(validate(&body("https://x.test", &["*"], &"x".repeat(256))).is_ok());
    }
}
