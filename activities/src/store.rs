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
//!
//! Two backends, one set of statements: the pool is sqlx's `Any`, which passes SQL through
//! unchanged, and every statement is written in the subset both SQLite and PostgreSQL accept
//! (`$n` placeholders, `ON CONFLICT … DO UPDATE … WHERE`, `RETURNING`, BIGINT-sized integers).
//! Where they must differ, [`Backend`] says so in one place. Each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`) with the same versions.

use anyhow::Context;
use orderflow_workflows::activities::RecordInput;
use orderflow_workflows::cancellation::OrderRequest;
use orderflow_workflows::model::{Amendment, OrderEvent, OrderState, OrderView};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Row};
use std::str::FromStr;
use std::time::Duration;

/// The SQLite migrations. Never edit one that has shipped: sqlx refuses to open a database
/// whose applied migrations changed (their checksums are pinned by a test).
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
/// The PostgreSQL migrations: the same versions and tables in PostgreSQL's types.
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per process. Several workers and API instances share one PostgreSQL, whose
/// default limit is 100 connections.
const MAX_CONNECTIONS: u32 = 8;

/// Which database a [`Store`] talks to, from the scheme of its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://PATH`: one file, one machine (the embedded default).
    Sqlite,
    /// `postgres://…` or `postgresql://…`: shared by workers and APIs on several machines.
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> anyhow::Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!(
                "unsupported database URL '{url}': use sqlite://PATH or postgres://USER@HOST/DB"
            )
        }
    }

    /// Appended to a `SELECT` that must lock its rows until the transaction ends. SQLite
    /// needs nothing: a write transaction already holds the whole database.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
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
    /// Opens the database (creating a SQLite file if needed) and runs the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let store = match backend {
            Backend::Sqlite => Store::open_sqlite(url).await,
            Backend::Postgres => Store::open_postgres(url).await,
        };
        store.with_context(|| format!("opening database {}", redacted(url)))
    }

    async fn open_sqlite(url: &str) -> anyhow::Result<Store> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("invalid database url {url}"))?
            .create_if_missing(true)
            // WAL lets the API read while the worker writes. It is a property of the file,
            // set once here; the pool's connections then only need their own settings.
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30));
        // The API and the worker may open a new file at the same moment: switching it to WAL
        // takes a lock, and two migrators race for the same version row. The loser waits
        // and tries again, and then finds the work done.
        let mut attempt = 0;
        loop {
            let opened = async {
                options.connect().await?.close().await?;
                let pool = AnyPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // The busy timeout absorbs the short write locks of other
                            // processes sharing the file.
                            conn.execute("PRAGMA busy_timeout = 30000").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                SQLITE_MIGRATIONS
                    .run(&pool)
                    .await
                    .context("running database migrations")?;
                anyhow::Ok(pool)
            }
            .await;
            match opened {
                Ok(pool) => {
                    return Ok(Store {
                        pool,
                        backend: Backend::Sqlite,
                    });
                }
                Err(e) if attempt < 50 && is_startup_race(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn open_postgres(url: &str) -> anyhow::Result<Store> {
        // A server still starting (a fresh container) is waited for; any other error, such
        // as a refused password, ends the start at once with the server's own words, which
        // the pool would hide behind "timed out".
        let start = std::time::Instant::now();
        loop {
            match AnyConnection::connect(url).await {
                Ok(conn) => {
                    conn.close().await?;
                    break;
                }
                Err(e) if worth_waiting_for(&e) && start.elapsed() < Duration::from_secs(30) => {
                    tracing::warn!(error = %e, "database not reachable yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        // sqlx holds an advisory lock while it migrates, so processes starting together
        // apply each migration once.
        POSTGRES_MIGRATIONS
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Store {
            pool,
            backend: Backend::Postgres,
        })
    }

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
            crate::webhooks::enqueue(&mut tx, self.backend, e, event_type, &body).await?;
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
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
        if inserted == 1 {
            crate::observe::recorded(input);
        }
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
            "SELECT body FROM order_requests WHERE tenant_id = $1 AND order_id = $2 AND request_id = $3",
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
            "SELECT body FROM amendments WHERE tenant_id = $1 AND order_id = $2 AND amendment_id = $3",
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
    /// The conditional write comes first, so the transaction holds the write lock (SQLite) or
    /// the row lock (PostgreSQL) before it reads the draft: a concurrent PUT either lands
    /// before (and its document is placed) or finds the order no longer a DRAFT.
    pub async fn claim_draft(
        &self,
        tenant_id: &str,
        order_id: &str,
        placed_at: &str,
    ) -> anyhow::Result<Option<OrderView>> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "UPDATE orders SET state = $1, updated_at = $2
             WHERE tenant_id = $3 AND order_id = $4 AND state = $5 RETURNING view",
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
        sqlx::query("UPDATE orders SET view = $1 WHERE tenant_id = $2 AND order_id = $3")
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
            sqlx::query("DELETE FROM orders WHERE tenant_id = $1 AND order_id = $2 AND state = $3")
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
        let row = sqlx::query("SELECT view FROM orders WHERE tenant_id = $1 AND order_id = $2")
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
             WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR state = $2)
               AND ($3 IS NULL OR supplier_id = $3)
             ORDER BY created_at DESC, order_id DESC LIMIT $4",
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
            "SELECT body FROM order_events WHERE tenant_id = $1 AND order_id = $2 AND seq > $3 ORDER BY seq",
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

/// A connection error that goes away once the server is up: nothing listening or answering
/// yet, or PostgreSQL still starting (SQLSTATE 57P03). Not a refused certificate or password.
fn worth_waiting_for(error: &sqlx::Error) -> bool {
    use std::io::ErrorKind;
    match error {
        sqlx::Error::Io(e) => !matches!(
            e.kind(),
            ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::PermissionDenied
        ),
        sqlx::Error::Database(e) => e.code().as_deref() == Some("57P03"),
        _ => false,
    }
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// A migrator that lost the race: locked out, or (SQLite has no `ADD COLUMN IF NOT EXISTS`)
/// adding a column the winner's committed migration just added.
fn is_startup_race(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("database is locked")
        || text.contains("_sqlx_migrations")
        || text.contains("duplicate column name")
}

/// Inserts the order row, or moves it forward if `view` is newer (`last_seq` grows).
/// Returns the number of rows written (0 when the stored row is as new or newer).
async fn upsert_order(tx: &mut AnyConnection, view: &OrderView) -> anyhow::Result<u64> {
    let d = &view.document;
    let written = sqlx::query(
        "INSERT INTO orders (tenant_id, order_id, workflow_id, supplier_id, order_ref, state, revision,
                             last_seq, view, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
    pool: &AnyPool,
    view: &OrderView,
    expected: OrderState,
) -> anyhow::Result<bool> {
    let d = &view.document;
    let written = sqlx::query(
        "UPDATE orders SET supplier_id = $1, order_ref = $2, state = $3, view = $4, updated_at = $5
         WHERE tenant_id = $6 AND order_id = $7 AND state = $8 AND last_seq = 0",
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
    use crate::test_support::on_both_backends;
    use orderflow_workflows::model::{OrderDocument, OrderType};

    on_both_backends!(
        a_draft_is_inserted_once_edited_and_deleted_while_it_is_a_draft,
        a_placed_order_is_not_a_draft_any_more,
        orders_list_newest_first_in_byte_order_with_optional_filters,
    );

    #[test]
    fn the_backend_follows_the_url_scheme() {
        assert_eq!(Backend::of_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        for url in [
            "postgres://u@h/db",
            "postgresql://u:p@h:5433/db?sslmode=require",
        ] {
            assert_eq!(Backend::of_url(url).unwrap(), Backend::Postgres);
        }
        assert!(Backend::of_url("mysql://h/db").is_err());
        assert!(Backend::of_url("orderflow.db").is_err());
        assert_eq!(
            redacted("postgres://orderflow:s3cret@db:5432/orderflow"),
            "postgres://orderflow:***@db:5432/orderflow"
        );
    }

    /// sqlx refuses to open a database whose applied migrations changed, so shipped
    /// migrations are frozen: add a new file instead of editing one.
    #[test]
    fn shipped_migrations_are_unchanged() {
        let checksums = |m: &Migrator| -> Vec<(i64, String)> {
            m.iter()
                .map(|m| (m.version, hex::encode(&m.checksum)))
                .collect()
        };
        assert_eq!(
            checksums(&SQLITE_MIGRATIONS),
            [
                (1, "bf51471341266eab217ec9ae9b537ef8eebd77b4434b866b18cef527c67d5d03c11110362e132c2950d42385e590bbff"),
                (2, "c8acea457400662ed3c005584229f294adca441c8480ab0427ebc49302708c0c1e8ccb354ce8189c1509519fdfedb879"),
                (3, "631661977f4b3ee1990d6262b0b690425acbbf84c070600f8e6539ea8bbda21f2845dd8cb65be2b0da10be2bc5c3f7db"),
                (4, "8796b7137ffb555dd3829f2dc5bc0a5310972fcdfc1b762c0cf3cd25ad00aafa21d0ab35ed99e37521c3a55f0709ca04"),
                (5, "02fdb41741b45ed5cb42aee8add48c1104e94c5c5c91b362bc4b6832750cb6de897d37a0be2e87ad9dc06c7226c73232"),
            ]
            .map(|(v, c)| (v, c.to_string()))
        );
        assert_eq!(
            checksums(&POSTGRES_MIGRATIONS),
            [
                (1, "12a9937b33d35399f9cbae39ae07e7b776343d57b4e99fadd105d104bb6f64e2026b5fe10cd797656b4205d039b275bf"),
                (2, "34c86308ecf9054b0ce8ed747765acedbeb8fe7a732408c95c038d58491ed3a1d54c78812bf84c1aaa8442be99bc6b79"),
                (3, "851042ba386150c2f7041a964363b194f00a6f9fdb3736b57be6e70c8c0c6e6ce32a9698679d2abd714c02c90ea26824"),
                (4, "a51a4ad347f3ce55f5c822e6167e9b326ee05f46daef3e3bd738779b72569fe2738b371bb9c265f020d45b42d08ecade"),
                (5, "02fdb41741b45ed5cb42aee8add48c1104e94c5c5c91b362bc4b6832750cb6de897d37a0be2e87ad9dc06c7226c73232"),
            ]
            .map(|(v, c)| (v, c.to_string()))
        );
    }

    fn draft(order_id: &str, order_ref: &str) -> OrderView {
        let document = OrderDocument::new("acme", order_id, order_ref, "sim", OrderType::Provide);
        OrderView {
            state: OrderState::Draft,
            ..OrderView::received(document, "2026-01-01T00:00:00.000Z".into())
        }
    }

    async fn orders_list_newest_first_in_byte_order_with_optional_filters(store: Store) {
        let at = |day: u32| format!("2026-01-0{day}T00:00:00.000Z");
        for (tenant, id, supplier, state, day) in [
            ("acme", "b", "sim", OrderState::Submitted, 1),
            ("acme", "B", "sim", OrderState::Submitted, 1),
            ("acme", "a", "other", OrderState::Start, 1),
            ("acme", "_z", "sim", OrderState::Submitted, 1),
            ("acme", "old", "sim", OrderState::Submitted, 0),
            ("globex", "g", "sim", OrderState::Submitted, 2),
        ] {
            let document = OrderDocument::new(tenant, id, "PO", supplier, OrderType::Provide);
            let mut view = OrderView::received(document, at(day));
            view.state = state;
            store.insert_received(&view).await.unwrap();
        }
        let list = |tenant: Option<&str>, state: Option<&str>, supplier: Option<&str>| {
            let filter = OrderFilter {
                tenant_id: tenant.map(Into::into),
                state: state.map(Into::into),
                supplier_id: supplier.map(Into::into),
                limit: 100,
            };
            let store = store.clone();
            async move {
                let orders = store.list_orders(&filter).await.unwrap();
                orders
                    .into_iter()
                    .map(|o| o.document.order_id)
                    .collect::<Vec<_>>()
            }
        };
        // Newest first; ties by order id in byte order, whatever the database's collation.
        assert_eq!(
            list(Some("acme"), None, None).await,
            ["b", "a", "_z", "B", "old"]
        );
        assert_eq!(list(None, None, None).await[0], "g");
        assert_eq!(
            list(Some("acme"), Some("SUBMITTED"), Some("sim")).await,
            ["b", "_z", "B", "old"]
        );
        assert_eq!(list(None, None, Some("other")).await, ["a"]);
        assert_eq!(list(None, Some("START"), None).await, ["a"]);
        let two = OrderFilter {
            limit: 2,
            ..OrderFilter::default()
        };
        assert_eq!(store.list_orders(&two).await.unwrap().len(), 2);
    }

    async fn a_draft_is_inserted_once_edited_and_deleted_while_it_is_a_draft(store: Store) {
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

    async fn a_placed_order_is_not_a_draft_any_more(store: Store) {
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
