//! The order database: the order as the tenant sees it and its gapless event log.
//!
//! Written only through [`Store::record`] (by the workflow's `store.record` activity) and
//! [`Store::insert_received`] (by the API when it accepts an order), read by the API.
//! Every write is idempotent: events are keyed by `(tenant, order, seq)` and the order row
//! only moves forward (`last_seq` grows), so a retried or reordered write changes nothing.

use anyhow::Context;
use orderflow_workflows::activities::RecordInput;
use orderflow_workflows::cancellation::OrderRequest;
use orderflow_workflows::model::{Amendment, OrderEvent, OrderView};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
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

    /// Persists one change: the event (once) and the order row (if newer), atomically.
    pub async fn record(&self, input: &RecordInput) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        let e = &input.event;
        sqlx::query(
            "INSERT INTO order_events (tenant_id, order_id, seq, event_uuid, event_type, occurred_at, body)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&e.tenant_id)
        .bind(&e.order_id)
        .bind(e.seq as i64)
        .bind(&e.event_uuid)
        .bind(serde_json::to_value(e.event_type)?.as_str().unwrap_or_default())
        .bind(&e.occurred_at)
        .bind(serde_json::to_string(e)?)
        .execute(&mut *tx)
        .await?;
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

async fn upsert_order(tx: &mut sqlx::SqliteConnection, view: &OrderView) -> anyhow::Result<()> {
    let d = &view.document;
    sqlx::query(
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
    .await?;
    Ok(())
}
