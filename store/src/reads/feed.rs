//! The tenant's change feed (`GET /v1/events`): every event of every order of the tenant,
//! each exactly once, in a stable order, for systems that poll instead of taking webhooks.
//!
//! The order is the order of the transactions that recorded the events, read only where no
//! older transaction can still commit: a cursor must never pass an event that is still
//! being written. SQLite has one writer at a time, so rowids grow in commit order. PostgreSQL
//! commits in any order, so each event keeps the id of the transaction that wrote it
//! (`feed_txid`) and the feed reads only events older than the oldest transaction still
//! running (the snapshot's `xmin`); events of one transaction follow `feed_id`. A transaction
//! left open elsewhere in the database holds the feed back; it never reorders it.

use crate::{Backend, Store};
use orderflow_domain::model::OrderEvent;
use sqlx::Row;

/// Where a page of the feed ended: `(feed_txid, feed_id)` on PostgreSQL, `(rowid, 0)` on
/// SQLite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedPosition(pub i64, pub i64);

/// One page of the feed, and where the next one starts (the position of its last event, or
/// the cursor it was read from when it is empty, so a poller keeps its place).
#[derive(Clone, Debug)]
pub struct FeedPage {
    pub events: Vec<OrderEvent>,
    pub next: FeedPosition,
}

impl Store {
    /// Up to `limit` events of the tenant after `after`.
    pub async fn feed(
        &self,
        tenant_id: &str,
        after: FeedPosition,
        limit: i64,
    ) -> anyhow::Result<FeedPage> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT rowid AS a, 0 AS b, body FROM order_events
                 WHERE tenant_id = $1 AND rowid > $2 AND $3 = $3
                 ORDER BY rowid LIMIT $4"
            }
            Backend::Postgres => {
                "SELECT feed_txid AS a, feed_id AS b, body FROM order_events
                 WHERE tenant_id = $1
                   AND (feed_txid > $2 OR (feed_txid = $2 AND feed_id > $3))
                   AND feed_txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
                 ORDER BY feed_txid, feed_id LIMIT $4"
            }
        };
        let rows = sqlx::query(sql)
            .bind(tenant_id)
            .bind(after.0)
            .bind(after.1)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut next = after;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            events.push(serde_json::from_str(r.get::<&str, _>("body"))?);
            next = FeedPosition(r.get::<i64, _>("a"), r.get::<i64, _>("b"));
        }
        Ok(FeedPage { events, next })
    }
}
