//! The outbox's writer: the deliveries of an event, in the transaction that records it.

use super::now_ms;
use crate::Backend;
use orderflow_domain::model::{OrderEvent, OrderView};
use orderflow_domain::webhooks::{WebhookDialect, body_for};
use sqlx::Row;

/// Writes the deliveries of a just-inserted event: for each webhook of the event's tenant,
/// those [`body_for`] gives for its dialect and topics (none, one, or several). Call only in
/// the transaction that inserted the event; the unique `(webhook_id, event_uuid)` keeps it
/// idempotent anyway.
///
/// Delivery ids must follow commit order, because only a webhook's oldest pending delivery
/// is ever due: an id taken by a transaction that commits later would be overtaken. SQLite
/// runs one write transaction at a time; on PostgreSQL the tenant's webhook rows are locked
/// (`FOR UPDATE`) before any id is taken, so the event transactions of one tenant with
/// webhooks take their ids, and commit, one after the other.
pub(crate) async fn enqueue(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    event: &OrderEvent,
    view: &OrderView,
    event_type: &str,
    body: &str,
) -> anyhow::Result<u64> {
    let webhooks = sqlx::query(&format!(
        "SELECT webhook_id, topics, dialect FROM webhooks WHERE tenant_id = $1 ORDER BY webhook_id{}",
        backend.for_update()
    ))
    .bind(event.tenant_id.as_str())
    .fetch_all(&mut *tx)
    .await?;
    let now = now_ms();
    let mut written = 0;
    for w in webhooks {
        let topics: Vec<String> = serde_json::from_str(w.get::<&str, _>("topics"))?;
        let dialect = WebhookDialect::from_stored(w.get::<&str, _>("dialect"));
        for (delivery_uuid, body) in body_for(dialect, &topics, event, view, event_type, body) {
            written += sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, tenant_id, order_id, event_uuid, event_type,
                                                 body, status, attempts, created_at, next_attempt_at,
                                                 traceparent)
                 VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', 0, $7, $7, $8)
                 ON CONFLICT (webhook_id, event_uuid) DO NOTHING",
            )
            .bind(w.get::<&str, _>("webhook_id"))
            .bind(event.tenant_id.as_str())
            .bind(event.order_id.as_str())
            .bind(&delivery_uuid)
            .bind(event_type)
            .bind(&body)
            .bind(now)
            .bind(orderflow_telemetry::propagation::current_traceparent())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
    }
    Ok(written)
}
