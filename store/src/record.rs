//! The workflow's writes: one change at a time, each idempotent. Events are keyed by
//! `(tenant, order, seq)` and the order row only moves forward (`last_seq` grows), so a
//! retried or reordered write changes nothing; another event under a known `seq` is refused. The API writes the row of a just-accepted order
//! the same way, so that a read right after `201 Created` finds it.

use crate::Store;
use orderflow_domain::calls::RecordInput;
use orderflow_domain::model::{OrderEvent, OrderView};
use sqlx::AnyConnection;

impl Store {
    /// Persists one change: the event (once) with its webhook deliveries, and the order row
    /// (if newer), atomically.
    #[tracing::instrument(name = "store.record", skip_all, fields(seq = input.event.seq))]
    pub async fn record(&self, input: &RecordInput) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        let e = &input.event;
        let event_type = serde_json::to_value(e.event_type)?;
        let event_type = event_type.as_str().unwrap_or_default();
        let body = serde_json::to_string(e)?;
        let inserted = sqlx::query(
            "INSERT INTO order_events (tenant_id, order_id, seq, event_uuid, event_type, occurred_at, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(e.tenant_id.as_str())
        .bind(e.order_id.as_str())
        .bind(e.seq as i64)
        .bind(&e.event_uuid)
        .bind(event_type)
        .bind(&e.occurred_at)
        .bind(&body)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The webhook outbox, in the same transaction: only for an event this call
        // inserted, so a retried or replayed record never enqueues twice.
        if inserted == 1 {
            crate::outbox::enqueue(&mut tx, self.backend, e, &input.view, event_type, &body)
                .await?;
        } else {
            refuse_other_content(&mut tx, e, event_type).await?;
        }
        upsert_order(&mut tx, &input.view).await?;
        if let Some(a) = &input.amendment {
            sqlx::query(
                "INSERT INTO amendments (tenant_id, order_id, amendment_id, state, body, last_seq)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, order_id, amendment_id) DO UPDATE SET
                     state = excluded.state, body = excluded.body, last_seq = excluded.last_seq
                 WHERE excluded.last_seq > amendments.last_seq",
            )
            .bind(e.tenant_id.as_str())
            .bind(e.order_id.as_str())
            .bind(&a.amendment_id)
            .bind(serde_json::to_value(a.state)?.as_str().unwrap_or_default())
            .bind(serde_json::to_string(a)?)
            .bind(e.seq as i64)
            .execute(&mut *tx)
            .await?;
        }
        for r in &input.requests {
            sqlx::query(
                "INSERT INTO order_requests (tenant_id, order_id, request_id, kind, state, body, last_seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (tenant_id, order_id, request_id) DO UPDATE SET
                     state = excluded.state, body = excluded.body, last_seq = excluded.last_seq
                 WHERE excluded.last_seq > order_requests.last_seq",
            )
            .bind(e.tenant_id.as_str())
            .bind(e.order_id.as_str())
            .bind(r.id())
            .bind(r.kind())
            .bind(serde_json::to_value(r.state())?.as_str().unwrap_or_default())
            .bind(serde_json::to_string(r)?)
            .bind(e.seq as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if inserted == 1 {
            crate::observe::recorded(input);
        }
        Ok(())
    }

    /// Stores a just-accepted order (state START, no event yet) so that a read right after
    /// `201 Created` finds it. Never overwrites what the workflow already wrote.
    pub async fn insert_received(&self, view: &OrderView) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        upsert_order(&mut tx, view).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A repeat of a recorded event (a retried record) must be the same event, the same id and
/// type: another event under a known `seq` means two writers disagree about the order's
/// history (a diverged replay, an order id reused), which must stop the write rather than be
/// dropped silently. (The body is not compared byte for byte: a worker of a newer version
/// retrying the record may serialize the same event with a field more.)
async fn refuse_other_content(
    tx: &mut AnyConnection,
    e: &OrderEvent,
    event_type: &str,
) -> anyhow::Result<()> {
    let stored: Option<(String, String)> = sqlx::query_as(
        "SELECT event_uuid, event_type FROM order_events
         WHERE tenant_id = $1 AND order_id = $2 AND seq = $3",
    )
    .bind(e.tenant_id.as_str())
    .bind(e.order_id.as_str())
    .bind(e.seq as i64)
    .fetch_optional(&mut *tx)
    .await?;
    match stored {
        Some((uuid, stored)) if uuid == e.event_uuid && stored == event_type => Ok(()),
        Some((uuid, stored)) => anyhow::bail!(
            "event {} of order {}/{} is already recorded as another event ({stored} {uuid}, now \
             {event_type} {}): refusing to rewrite the order's history",
            e.seq,
            e.tenant_id,
            e.order_id,
            e.event_uuid
        ),
        // Conflicted on the event id alone: the same event under another seq.
        None => anyhow::bail!(
            "event {} is already recorded under another seq than {} for order {}/{}",
            e.event_uuid,
            e.seq,
            e.tenant_id,
            e.order_id
        ),
    }
}

/// Inserts the order row, or moves it forward if `view` is newer (`last_seq` grows).
/// Returns the number of rows written (0 when the stored row is as new or newer).
pub(crate) async fn upsert_order(tx: &mut AnyConnection, view: &OrderView) -> anyhow::Result<u64> {
    let d = &view.document;
    let written = sqlx::query(
        "INSERT INTO orders (tenant_id, order_id, workflow_id, supplier_id, order_ref, state, revision,
                             last_seq, view, created_at, updated_at, gateway_state,
                             pending_request)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (tenant_id, order_id) DO UPDATE SET
             order_ref = excluded.order_ref, state = excluded.state, revision = excluded.revision,
             last_seq = excluded.last_seq, view = excluded.view, updated_at = excluded.updated_at,
             gateway_state = excluded.gateway_state, pending_request = excluded.pending_request
         WHERE excluded.last_seq > orders.last_seq",
    )
    .bind(d.tenant_id.as_str())
    .bind(d.order_id.as_str())
    .bind(d.workflow_id())
    .bind(d.supplier_id.as_str())
    .bind(&d.order_ref)
    .bind(view.state.as_str())
    .bind(view.revision as i64)
    .bind(view.last_seq as i64)
    .bind(serde_json::to_string(view)?)
    .bind(&view.created_at)
    .bind(&view.updated_at)
    .bind(view.gateway_state.as_str())
    .bind(pending_column(view))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(written)
}

/// The `pending_request` column: the kind of the open request, or `NONE`.
pub(crate) fn pending_column(view: &OrderView) -> &'static str {
    view.pending_kind().map_or("NONE", |k| k.as_str())
}
