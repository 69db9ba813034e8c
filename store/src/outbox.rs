//! Tenant webhooks: subscriptions and the durable delivery outbox.
//!
//! [`Store::record`] writes one `webhook_deliveries` row per matching webhook in the same
//! transaction as the event ([`enqueue`]), so an event is never recorded without its
//! deliveries, and a replayed record (event already there) enqueues nothing. A dispatcher
//! leases a due delivery with a conditional `UPDATE` that moves `next_attempt_at` forward by
//! the lease, so two dispatchers never send the same attempt. Only the oldest pending
//! delivery of a webhook is ever due, so a webhook receives its events in the order they were
//! recorded.

use crate::{Backend, Store};
use orderflow_domain::webhooks::WebhookDialect;
use serde::Serialize;
use sqlx::Row;

/// Stored `last_error` texts are cut to this many characters.
const MAX_ERROR_LEN: usize = 500;

/// A subscription as the API shows it (never with its secret).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Webhook {
    pub webhook_id: String,
    pub url: String,
    pub topics: Vec<String>,
    /// The interface it was registered through: what its topics name and what it is sent.
    pub dialect: WebhookDialect,
    pub created_at: String,
}

/// One event for one webhook, as `GET /v1/webhooks/{id}/deliveries` shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub delivery_id: i64,
    pub event_uuid: String,
    pub event_type: String,
    pub order_id: String,
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Stores a subscription; `secret_enc` is the secret sealed by [`SecretBox::seal`].
    pub async fn create_webhook(
        &self,
        tenant_id: &str,
        webhook: &Webhook,
        secret_enc: &str,
    ) -> anyhow::Result<()> {
        self.create_webhook_within(tenant_id, webhook, secret_enc, usize::MAX)
            .await?;
        Ok(())
    }

    /// Stores a subscription unless the tenant already has `max` of them; returns whether it
    /// was stored. The count and the insert are one conditional `INSERT … SELECT … WHERE`:
    /// SQLite runs one writer at a time, and on PostgreSQL a transaction-scoped advisory lock
    /// on the tenant makes concurrent creations of one tenant take turns, so that two
    /// requests cannot both see room for one more.
    pub async fn create_webhook_within(
        &self,
        tenant_id: &str,
        webhook: &Webhook,
        secret_enc: &str,
        max: usize,
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('webhooks:' || $1))")
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
        }
        let stored = sqlx::query(
            "INSERT INTO webhooks (webhook_id, tenant_id, url, topics, secret_enc, created_at, dialect)
             SELECT $1, $2, $3, $4, $5, $6, $8
             WHERE (SELECT COUNT(*) FROM webhooks WHERE tenant_id = $2) < $7",
        )
        .bind(&webhook.webhook_id)
        .bind(tenant_id)
        .bind(&webhook.url)
        .bind(serde_json::to_string(&webhook.topics)?)
        .bind(secret_enc)
        .bind(&webhook.created_at)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .bind(webhook.dialect.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(stored == 1)
    }

    /// The tenant's webhooks, oldest first.
    pub async fn list_webhooks(&self, tenant_id: &str) -> anyhow::Result<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT webhook_id, url, topics, dialect, created_at FROM webhooks WHERE tenant_id = $1
             ORDER BY created_at, webhook_id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook_row).collect()
    }

    pub async fn get_webhook(
        &self,
        tenant_id: &str,
        webhook_id: &str,
    ) -> anyhow::Result<Option<Webhook>> {
        let row = sqlx::query(
            "SELECT webhook_id, url, topics, dialect, created_at FROM webhooks
             WHERE tenant_id = $1 AND webhook_id = $2",
        )
        .bind(tenant_id)
        .bind(webhook_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(webhook_row).transpose()
    }

    /// Deletes the tenant's webhook and its outbox: nothing more is sent to it. Returns
    /// whether it existed.
    pub async fn delete_webhook(&self, tenant_id: &str, webhook_id: &str) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1 AND webhook_id = $2")
            .bind(tenant_id)
            .bind(webhook_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 1 {
            sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
                .bind(webhook_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(deleted == 1)
    }

    /// Sends a delivery of the webhook again: a delivery that has ended (DELIVERED or FAILED)
    /// becomes PENDING with a fresh retry window, due at `now_ms`. Like every pending
    /// delivery it waits for the webhook's older ones, so a receiver still gets each order's
    /// events in order. `Ok(None)`: no such delivery; `Ok(Some(false))`: it is pending
    /// already.
    pub async fn redeliver(
        &self,
        webhook_id: &str,
        delivery_id: i64,
        now_ms: i64,
    ) -> anyhow::Result<Option<bool>> {
        let reset = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'PENDING', attempts = 0,
                    first_attempt_at = NULL, next_attempt_at = $1
             WHERE webhook_id = $2 AND delivery_id = $3 AND status <> 'PENDING'",
        )
        .bind(now_ms)
        .bind(webhook_id)
        .bind(delivery_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if reset == 1 {
            return Ok(Some(true));
        }
        let exists = self.get_delivery(webhook_id, delivery_id).await?;
        Ok(exists.map(|_| false))
    }

    /// The webhook's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        webhook_id: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
             WHERE webhook_id = $1 ORDER BY delivery_id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(webhook_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(delivery_of).collect())
    }

    /// One delivery of the webhook.
    pub async fn get_delivery(
        &self,
        webhook_id: &str,
        delivery_id: i64,
    ) -> anyhow::Result<Option<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
             WHERE webhook_id = $1 AND delivery_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(webhook_id)
            .bind(delivery_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(delivery_of))
    }

    /// Due deliveries, each the oldest pending one of its webhook, at most `batch`, leased to
    /// the caller until `now + lease_ms`.
    pub async fn lease_due_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        batch: i64,
    ) -> anyhow::Result<Vec<LeasedDelivery>> {
        let mut leased = Vec::new();
        for candidate in self.due_deliveries(now, batch, &[]).await? {
            if let Some(d) = self.lease_delivery(candidate, now, lease_ms).await? {
                leased.push(d);
            }
        }
        Ok(leased)
    }

    /// Due deliveries, each the oldest pending one of its webhook, at most `limit`, none of the
    /// tenants in `skip_tenants` (a dispatcher's tenants already at their concurrency cap).
    /// Nothing is leased yet: [`Store::lease_delivery`] leases each one the caller can run, so
    /// a dispatcher never holds a delivery it has no slot for.
    pub async fn due_deliveries(
        &self,
        now: i64,
        limit: i64,
        skip_tenants: &[String],
    ) -> anyhow::Result<Vec<DueDelivery>> {
        let skip = (0..skip_tenants.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let skip = if skip.is_empty() {
            String::new()
        } else {
            format!("AND d.tenant_id NOT IN ({skip})")
        };
        let sql = format!(
            "SELECT d.delivery_id, d.webhook_id, d.tenant_id, w.url, w.secret_enc, d.event_uuid,
                    d.body, d.attempts, d.first_attempt_at, d.next_attempt_at, d.order_id,
                    d.traceparent
             FROM webhook_deliveries d JOIN webhooks w ON w.webhook_id = d.webhook_id
             WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1 {skip}
               AND d.delivery_id = (SELECT MIN(x.delivery_id) FROM webhook_deliveries x
                                    WHERE x.webhook_id = d.webhook_id AND x.status = 'PENDING')
             ORDER BY d.next_attempt_at LIMIT $2"
        );
        let mut query = sqlx::query(&sql).bind(now).bind(limit);
        for tenant in skip_tenants {
            query = query.bind(tenant.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| DueDelivery {
                due_at: r.get("next_attempt_at"),
                delivery: LeasedDelivery {
                    delivery_id: r.get("delivery_id"),
                    webhook_id: r.get("webhook_id"),
                    tenant_id: r.get("tenant_id"),
                    url: r.get("url"),
                    secret_enc: r.get("secret_enc"),
                    event_uuid: r.get("event_uuid"),
                    body: r.get("body"),
                    attempts: r.get("attempts"),
                    first_attempt_at: r.get("first_attempt_at"),
                    order_id: r.get("order_id"),
                    traceparent: r.get("traceparent"),
                },
            })
            .collect())
    }

    /// Leases a due delivery to the caller until `now + lease_ms`, with a conditional
    /// `UPDATE` on the `next_attempt_at` it was found with: `None` if another dispatcher
    /// leased (or finished) it first.
    pub async fn lease_delivery(
        &self,
        due: DueDelivery,
        now: i64,
        lease_ms: i64,
    ) -> anyhow::Result<Option<LeasedDelivery>> {
        let won = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $1
             WHERE delivery_id = $2 AND status = 'PENDING' AND next_attempt_at = $3",
        )
        .bind(now + lease_ms)
        .bind(due.delivery.delivery_id)
        .bind(due.due_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok((won == 1).then_some(due.delivery))
    }

    /// Records how an attempt at a leased delivery ended. `first_attempt_at` is when the
    /// delivery's first attempt started (this one's, for a first attempt).
    pub async fn finish_delivery(
        &self,
        delivery: &LeasedDelivery,
        first_attempt_at: i64,
        finished_at: i64,
        outcome: Outcome,
    ) -> anyhow::Result<()> {
        let attempts = delivery.attempts + 1;
        match outcome {
            Outcome::Delivered { status } => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'DELIVERED', attempts = $1,
                         last_status_code = $2, last_error = NULL, first_attempt_at = $3,
                         delivered_at = $4
                     WHERE delivery_id = $5 AND status = 'PENDING'",
                )
                .bind(attempts)
                .bind(status as i64)
                .bind(first_attempt_at)
                .bind(finished_at)
                .bind(delivery.delivery_id)
                .execute(&self.pool)
                .await?;
            }
            Outcome::Failed {
                status,
                error,
                retry_at,
            } => {
                let error: String = error.chars().take(MAX_ERROR_LEN).collect();
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $1, attempts = $2,
                         last_status_code = $3, last_error = $4, first_attempt_at = $5,
                         next_attempt_at = COALESCE($6, next_attempt_at)
                     WHERE delivery_id = $7 AND status = 'PENDING'",
                )
                .bind(if retry_at.is_some() {
                    "PENDING"
                } else {
                    "FAILED"
                })
                .bind(attempts)
                .bind(status.map(i64::from))
                .bind(error)
                .bind(first_attempt_at)
                .bind(retry_at)
                .bind(delivery.delivery_id)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }
}

fn webhook_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Webhook> {
    Ok(Webhook {
        webhook_id: r.get("webhook_id"),
        url: r.get("url"),
        topics: serde_json::from_str(r.get::<&str, _>("topics"))?,
        dialect: WebhookDialect::from_stored(r.get::<&str, _>("dialect")),
        created_at: r.get("created_at"),
    })
}

/// A delivery leased to one dispatcher by [`Store::lease_due_deliveries`].
#[derive(Clone, Debug)]
pub struct LeasedDelivery {
    pub delivery_id: i64,
    pub webhook_id: String,
    /// The tenant the webhook belongs to: what the dispatcher's fairness counts by.
    pub tenant_id: String,
    pub url: String,
    /// The webhook's secret as [`crate::SecretBox::seal`] stored it.
    pub secret_enc: String,
    pub event_uuid: String,
    /// The event, as recorded: the body to send.
    pub body: String,
    /// Attempts before this one.
    pub attempts: i64,
    pub first_attempt_at: Option<i64>,
    pub order_id: String,
    /// The trace of the event's recording, continued by the delivery.
    pub traceparent: Option<String>,
}

/// A due delivery found by [`Store::due_deliveries`], not leased yet.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    /// Its `next_attempt_at` when found: the lease is taken only if it is unchanged.
    due_at: i64,
    pub delivery: LeasedDelivery,
}

/// How an attempt ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Delivered {
        status: u16,
    },
    /// Pending again from `retry_at`; `None`: given up, the delivery is `FAILED`.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<i64>,
    },
}

mod enqueue;
#[cfg(test)]
mod tests;

pub(crate) use enqueue::enqueue;

/// The columns [`delivery_of`] reads.
const DELIVERY_COLUMNS: &str = "delivery_id, event_uuid, event_type, order_id, status, attempts,
    last_status_code, last_error, next_attempt_at, delivered_at";

fn delivery_of(r: &sqlx::any::AnyRow) -> Delivery {
    let status: String = r.get("status");
    Delivery {
        delivery_id: r.get("delivery_id"),
        event_uuid: r.get("event_uuid"),
        event_type: r.get("event_type"),
        order_id: r.get("order_id"),
        next_attempt_at: (status == "PENDING").then(|| rfc3339(r.get("next_attempt_at"))),
        status,
        attempts: r.get("attempts"),
        last_status_code: r.get("last_status_code"),
        last_error: r.get("last_error"),
        delivered_at: r.get::<Option<i64>, _>("delivered_at").map(rfc3339),
    }
}
