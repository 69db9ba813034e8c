//! The order database: the order as the tenant sees it and its gapless event log.
//!
//! Written through [`Store::record`] (by the workflow's `store.record` activity) and
//! [`Store::insert_received`] (by the API when it accepts an order), read by the API.
//! Every write is idempotent: events are keyed by `(tenant, order, seq)` and the order row
//! only moves forward (`last_seq` grows), so a retried or reordered write changes nothing.
//!
//! Drafts (SPEC §3) are the exception: a draft has no workflow, so the API owns its row
//! ([`Store::insert_draft`], [`Store::update_draft`], [`Store::delete_draft`]) until it is
//! placed ([`Store::claim_draft`]). Every draft write is conditional on the row still being a
//! DRAFT, so it can never touch an order that has been placed.

use anyhow::Context;
use orderflow_workflows::activities::RecordInput;
use orderflow_workflows::cancellation::OrderRequest;
use orderflow_workflows::model::{Amendment, OrderEvent, OrderState, OrderView};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: SqlitePool,
}

/// Filters of `GET /v1/orders`.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub tenant_id: Option<String>,
    pub state: Option<String>,
    pub supplier_id: Option<String>,
    pub limit: i64,
}

impl Store {
    /// Opens (creating if needed) the database and runs the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        if !url.starts_with("sqlite:") {
            anyhow::bail!(
                "unsupported ORDERFLOW_DATABASE_URL '{url}': this build supports sqlite://PATH"
            );
        }
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid database url {url}"))?
            .create_if_missing(true)
            // WAL lets the API read while the worker writes; the busy timeout absorbs the
            // short write locks of other processes sharing the file.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        // The API and the worker may open a new file at the same moment: switching it to WAL
        // takes a lock, and two migrators race for the same version row. The loser waits
        // and tries again, and then finds the work done.
        let mut attempt = 0;
        loop {
            match Store::open(options.clone()).await {
                Ok(store) => return Ok(store),
                Err(e) if attempt < 50 && is_startup_race(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.context(format!("opening database {url}"))),
            }
        }
    }

    async fn open(options: SqliteConnectOptions) -> anyhow::Result<Store> {
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Store { pool })
    }

    /// Persists one change: the event (once) with its webhook deliveries, and the order row
    /// (if newer), atomically.
    pub async fn record(&self, input: &RecordInput) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        let e = &input.event;
        let event_type = serde_json::to_value(e.event_type)?;
        let event_type = event_type.as_str().unwrap_or_default();
        let body = serde_json::to_string(e)?;
        let inserted = sqlx::query(
            "INSERT INTO order_events (tenant_id, order_id, seq, event_uuid, event_type, occurred_at, body)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&e.tenant_id)
        .bind(&e.order_id)
        .bind(e.seq as i64)
        .bind(&e.event_uuid)
        .bind(event_type)
        .bind(&e.occurred_at)
        .bind(&body)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The webhook outbox (SPEC §6), in the same transaction: only for an event this call
        // inserted, so a retried or replayed record never enqueues twice.
        if inserted == 1 {
            crate::webhooks::enqueue(&mut tx, e, event_type, &body).await?;
        }
        upsert_order(&mut tx, &input.view).await?;
        if let Some(a) = &input.amendment {
            sqlx::query(
                "INSERT INTO amendments (tenant_id, order_id, amendment_id, state, body, last_seq)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (tenant_id, order_id, amendment_id) DO UPDATE SET
                     state = excluded.state, body = excluded.body, last_seq = excluded.last_seq
                 WHERE excluded.last_seq > amendments.last_seq",
            )
            .bind(&e.tenant_id)
            .bind(&e.order_id)
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
                 VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (tenant_id, order_id, request_id) DO UPDATE SET
                     state = excluded.state, body = excluded.body, last_seq = excluded.last_seq
                 WHERE excluded.last_seq > order_requests.last_seq",
            )
            .bind(&e.tenant_id)
            .bind(&e.order_id)
            .bind(r.id())
            .bind(r.kind())
            .bind(serde_json::to_value(r.state())?.as_str().unwrap_or_default())
            .bind(serde_json::to_string(r)?)
            .bind(e.seq as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A cancellation or reactivation of the order, by id.
    pub async fn get_request(
        &self,
        tenant_id: &str,
        order_id: &str,
        request_id: &str,
    ) -> anyhow::Result<Option<OrderRequest>> {
        let row = sqlx::query(
            "SELECT body FROM order_requests WHERE tenant_id = ? AND order_id = ? AND request_id = ?",
        )
        .bind(tenant_id)
        .bind(order_id)
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(serde_json::from_str(r.get::<&str, _>("body"))?))
            .transpose()
    }

    pub async fn get_amendment(
        &self,
        tenant_id: &str,
        order_id: &str,
        amendment_id: &str,
    ) -> anyhow::Result<Option<Amendment>> {
        let row = sqlx::query(
            "SELECT body FROM amendments WHERE tenant_id = ? AND order_id = ? AND amendment_id = ?",
        )
        .bind(tenant_id)
        .bind(order_id)
        .bind(amendment_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(serde_json::from_str(r.get::<&str, _>("body"))?))
            .transpose()
    }

    /// Stores a just-accepted order (state START, no event yet) so that a read right after
    /// `201 Created` finds it. Never overwrites what the workflow already wrote.
    pub async fn insert_received(&self, view: &OrderView) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        upsert_order(&mut tx, view).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a new draft (a view in state DRAFT, `last_seq` 0). Returns `false`, writing
    /// nothing, when the tenant already has an order with that id: a row with `last_seq` 0
    /// never replaces an existing row.
    pub async fn insert_draft(&self, draft: &OrderView) -> anyhow::Result<bool> {
        anyhow::ensure!(
            draft.state == OrderState::Draft,
            "insert_draft: not a draft"
        );
        let mut tx = self.pool.begin().await?;
        let inserted = upsert_order(&mut tx, draft).await? == 1;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Replaces a draft's view (its document and `updated_at`). Returns `false`, writing
    /// nothing, unless the row exists and is still a DRAFT.
    pub async fn update_draft(&self, draft: &OrderView) -> anyhow::Result<bool> {
        anyhow::ensure!(
            draft.state == OrderState::Draft,
            "update_draft: not a draft"
        );
        replace_unrecorded(&self.pool, draft, OrderState::Draft).await
    }

    /// Claims a draft for placing: in one transaction, moves its row from DRAFT to START
    /// (`updated_at` = `placed_at`) and returns the START view, whose document is the one to
    /// place. `None` when the order is missing or not a DRAFT (already placed or claimed).
    ///
    /// The conditional write comes first, so the transaction holds the write lock before it
    /// reads the draft: a concurrent PUT either lands before (and its document is placed) or
    /// finds the order no longer a DRAFT.
    pub async fn claim_draft(
        &self,
        tenant_id: &str,
        order_id: &str,
        placed_at: &str,
    ) -> anyhow::Result<Option<OrderView>> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "UPDATE orders SET state = ?, updated_at = ?
             WHERE tenant_id = ? AND order_id = ? AND state = ? RETURNING view",
        )
        .bind(OrderState::Start.as_str())
        .bind(placed_at)
        .bind(tenant_id)
        .bind(order_id)
        .bind(OrderState::Draft.as_str())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let draft: OrderView = serde_json::from_str(row.get::<&str, _>("view"))?;
        let placed = OrderView {
            state: OrderState::Start,
            updated_at: placed_at.to_string(),
            ..draft
        };
        sqlx::query("UPDATE orders SET view = ? WHERE tenant_id = ? AND order_id = ?")
            .bind(serde_json::to_string(&placed)?)
            .bind(tenant_id)
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(placed))
    }

    /// Undoes [`Store::claim_draft`] when the workflow could not be started: the row becomes
    /// `draft` again, but only while it is still START with nothing recorded (`last_seq` 0).
    /// Returns whether it did.
    pub async fn unclaim_draft(&self, draft: &OrderView) -> anyhow::Result<bool> {
        anyhow::ensure!(
            draft.state == OrderState::Draft,
            "unclaim_draft: not a draft"
        );
        replace_unrecorded(&self.pool, draft, OrderState::Start).await
    }

    /// Deletes a draft. Returns `false`, deleting nothing, unless the row exists and is
    /// still a DRAFT. A draft has no events, amendments or workflow, so the id is free again.
    pub async fn delete_draft(&self, tenant_id: &str, order_id: &str) -> anyhow::Result<bool> {
        let deleted =
            sqlx::query("DELETE FROM orders WHERE tenant_id = ? AND order_id = ? AND state = ?")
                .bind(tenant_id)
                .bind(order_id)
                .bind(OrderState::Draft.as_str())
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(deleted == 1)
    }

    pub async fn get_order(
        &self,
        tenant_id: &str,
        order_id: &str,
    ) -> anyhow::Result<Option<OrderView>> {
        let row = sqlx::query("SELECT view FROM orders WHERE tenant_id = ? AND order_id = ?")
            .bind(tenant_id)
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(serde_json::from_str(r.get::<&str, _>("view"))?))
            .transpose()
    }

    /// Orders matching the filter, newest first.
    pub async fn list_orders(&self, filter: &OrderFilter) -> anyhow::Result<Vec<OrderView>> {
        let rows = sqlx::query(
            "SELECT view FROM orders
             WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR state = ?2)
               AND (?3 IS NULL OR supplier_id = ?3)
             ORDER BY created_at DESC, order_id DESC LIMIT ?4",
        )
        .bind(&filter.tenant_id)
        .bind(&filter.state)
        .bind(&filter.supplier_id)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(r.get::<&str, _>("view"))?))
            .collect()
    }

    /// The order's events with `seq > after_seq`, in `seq` order.
    pub async fn events(
        &self,
        tenant_id: &str,
        order_id: &str,
        after_seq: u64,
    ) -> anyhow::Result<Vec<OrderEvent>> {
        let rows = sqlx::query(
            "SELECT body FROM order_events WHERE tenant_id = ? AND order_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(tenant_id)
        .bind(order_id)
        .bind(after_seq as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(r.get::<&str, _>("body"))?))
            .collect()
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

fn is_startup_race(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("database is locked") || text.contains("_sqlx_migrations")
}

/// Inserts the order row, or moves it forward if `view` is newer (`last_seq` grows).
/// Returns the number of rows written (0 when the stored row is as new or newer).
async fn upsert_order(tx: &mut sqlx::SqliteConnection, view: &OrderView) -> anyhow::Result<u64> {
    let d = &view.document;
    let written = sqlx::query(
        "INSERT INTO orders (tenant_id, order_id, workflow_id, supplier_id, order_ref, state, revision,
                             last_seq, view, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, order_id) DO UPDATE SET
             order_ref = excluded.order_ref, state = excluded.state, revision = excluded.revision,
             last_seq = excluded.last_seq, view = excluded.view, updated_at = excluded.updated_at
         WHERE excluded.last_seq > orders.last_seq",
    )
    .bind(&d.tenant_id)
    .bind(&d.order_id)
    .bind(d.workflow_id())
    .bind(&d.supplier_id)
    .bind(&d.order_ref)
    .bind(view.state.as_str())
    .bind(view.revision as i64)
    .bind(view.last_seq as i64)
    .bind(serde_json::to_string(view)?)
    .bind(&view.created_at)
    .bind(&view.updated_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(written)
}

/// Replaces the row of an order nothing has been recorded for yet (`last_seq` 0), if it is
/// in state `expected`. Returns whether it did.
async fn replace_unrecorded(
    pool: &SqlitePool,
    view: &OrderView,
    expected: OrderState,
) -> anyhow::Result<bool> {
    let d = &view.document;
    let written = sqlx::query(
        "UPDATE orders SET supplier_id = ?, order_ref = ?, state = ?, view = ?, updated_at = ?
         WHERE tenant_id = ? AND order_id = ? AND state = ? AND last_seq = 0",
    )
    .bind(&d.supplier_id)
    .bind(&d.order_ref)
    .bind(view.state.as_str())
    .bind(serde_json::to_string(view)?)
    .bind(&view.updated_at)
    .bind(&d.tenant_id)
    .bind(&d.order_id)
    .bind(expected.as_str())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(written == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderflow_workflows::model::{OrderDocument, OrderType};

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (Store::connect(&url).await.unwrap(), dir)
    }

    fn draft(order_id: &str, order_ref: &str) -> OrderView {
        let document = OrderDocument::new("acme", order_id, order_ref, "sim", OrderType::Provide);
        OrderView {
            state: OrderState::Draft,
            ..OrderView::received(document, "2026-01-01T00:00:00.000Z".into())
        }
    }

    #[tokio::test]
    async fn a_draft_is_inserted_once_edited_and_deleted_while_it_is_a_draft() {
        let (store, _dir) = store().await;
        assert!(store.insert_draft(&draft("d1", "PO-1")).await.unwrap());
        assert!(!store.insert_draft(&draft("d1", "PO-other")).await.unwrap());
        assert_eq!(
            store.get_order("acme", "d1").await.unwrap().unwrap(),
            draft("d1", "PO-1")
        );

        assert!(store.update_draft(&draft("d1", "PO-2")).await.unwrap());
        let stored = store.get_order("acme", "d1").await.unwrap().unwrap();
        assert_eq!(stored.document.order_ref, "PO-2");
        assert!(!store.update_draft(&draft("nope", "PO-2")).await.unwrap());

        assert!(store.delete_draft("acme", "d1").await.unwrap());
        assert!(!store.delete_draft("acme", "d1").await.unwrap());
        assert_eq!(store.get_order("acme", "d1").await.unwrap(), None);
        // The id is free again.
        assert!(store.insert_draft(&draft("d1", "PO-3")).await.unwrap());
    }

    #[tokio::test]
    async fn a_placed_order_is_not_a_draft_any_more() {
        let (store, _dir) = store().await;
        // An order placed directly (START, last_seq 0) is never taken for a draft.
        let mut received = draft("p1", "PO-1");
        received.state = OrderState::Start;
        store.insert_received(&received).await.unwrap();
        assert!(!store.insert_draft(&draft("p1", "PO-1")).await.unwrap());
        assert!(!store.update_draft(&draft("p1", "PO-2")).await.unwrap());
        assert!(!store.delete_draft("acme", "p1").await.unwrap());
        assert_eq!(
            store.claim_draft("acme", "p1", "later").await.unwrap(),
            None
        );

        store.insert_draft(&draft("d1", "PO-1")).await.unwrap();
        let placed = store
            .claim_draft("acme", "d1", "2026-01-02T00:00:00.000Z")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(placed.state, OrderState::Start);
        assert_eq!(placed.updated_at, "2026-01-02T00:00:00.000Z");
        assert_eq!(placed.document, draft("d1", "PO-1").document);
        assert_eq!(
            store.get_order("acme", "d1").await.unwrap(),
            Some(placed.clone())
        );
        let listed = store
            .list_orders(&OrderFilter {
                state: Some("START".into()),
                limit: 10,
                ..OrderFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        // Claimed: no second claim, no edit, no delete.
        assert_eq!(store.claim_draft("acme", "d1", "x").await.unwrap(), None);
        assert!(!store.update_draft(&draft("d1", "PO-2")).await.unwrap());
        assert!(!store.delete_draft("acme", "d1").await.unwrap());

        // Unclaiming restores the draft while nothing has been recorded...
        let back = OrderView {
            state: OrderState::Draft,
            ..placed.clone()
        };
        assert!(store.unclaim_draft(&back).await.unwrap());
        assert_eq!(store.get_order("acme", "d1").await.unwrap(), Some(back));
        // ...and never once the workflow has written.
        store.claim_draft("acme", "d1", "x").await.unwrap().unwrap();
        let mut recorded = placed.clone();
        recorded.state = OrderState::Submitted;
        recorded.last_seq = 1;
        store.insert_received(&recorded).await.unwrap();
        let back = OrderView {
            state: OrderState::Draft,
            ..placed
        };
        assert!(!store.unclaim_draft(&back).await.unwrap());
        assert_eq!(
            store.get_order("acme", "d1").await.unwrap().unwrap().state,
            OrderState::Submitted
        );
    }
}
