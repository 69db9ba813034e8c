//! Tenant webhooks (SPEC §6): subscriptions, the durable delivery outbox, and the
//! [`Dispatcher`] that sends it.
//!
//! [`Store::record`] writes one `webhook_deliveries` row per matching webhook in the same
//! transaction as the event ([`enqueue`]), so an event is never recorded without its
//! deliveries, and a replayed record (event already there) enqueues nothing. The dispatcher
//! runs in every worker process; it claims a due delivery with a conditional `UPDATE` that
//! moves `next_attempt_at` forward by a lease, so two workers never send the same attempt.
//! Only the oldest pending delivery of a webhook is ever due, so a webhook receives its
//! events in the order they were recorded. Delivery is at least once: a crash between the
//! POST and the status write sends the event again once the lease expires.

use crate::config::Settings;
use crate::secrets::SecretBox;
use crate::signing::signature_header;
use crate::store::{Backend, Store};
use orderflow_workflows::model::OrderEvent;
use rand::Rng;
use serde::Serialize;
use sqlx::Row;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// How long a claimed delivery belongs to the worker that claimed it (longer than the
/// request timeout, so a live sender always finishes first).
const LEASE_MS: i64 = 60_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const BATCH: i64 = 16;
const IDLE_POLL: Duration = Duration::from_millis(250);
const FIRST_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 3_600_000;
/// Stored `last_error` texts are cut to this many characters.
const MAX_ERROR_LEN: usize = 500;

/// A subscription as the API shows it (never with its secret).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Webhook {
    pub webhook_id: String,
    pub url: String,
    pub topics: Vec<String>,
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

/// Writes the deliveries of a just-inserted event: one per webhook of the event's tenant
/// whose topics contain `*` or the event's type. Call only in the transaction that inserted
/// the event; the unique `(webhook_id, event_uuid)` keeps it idempotent anyway.
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
    event_type: &str,
    body: &str,
) -> anyhow::Result<u64> {
    let webhooks = sqlx::query(&format!(
        "SELECT webhook_id, topics FROM webhooks WHERE tenant_id = $1 ORDER BY webhook_id{}",
        backend.for_update()
    ))
    .bind(&event.tenant_id)
    .fetch_all(&mut *tx)
    .await?;
    let now = now_ms();
    let mut written = 0;
    for w in webhooks {
        let topics: Vec<String> = serde_json::from_str(w.get::<&str, _>("topics"))?;
        if !topics.iter().any(|t| t == "*" || t == event_type) {
            continue;
        }
        written += sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, tenant_id, order_id, event_uuid, event_type,
                                             body, status, attempts, created_at, next_attempt_at,
                                             traceparent)
             VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', 0, $7, $7, $8)
             ON CONFLICT (webhook_id, event_uuid) DO NOTHING",
        )
        .bind(w.get::<&str, _>("webhook_id"))
        .bind(&event.tenant_id)
        .bind(&event.order_id)
        .bind(&event.event_uuid)
        .bind(event_type)
        .bind(body)
        .bind(now)
        .bind(orderflow_telemetry::propagation::current_traceparent())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    Ok(written)
}

impl Store {
    /// Stores a subscription; `secret_enc` is the secret sealed by [`SecretBox::seal`].
    pub async fn create_webhook(
        &self,
        tenant_id: &str,
        webhook: &Webhook,
        secret_enc: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO webhooks (webhook_id, tenant_id, url, topics, secret_enc, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&webhook.webhook_id)
        .bind(tenant_id)
        .bind(&webhook.url)
        .bind(serde_json::to_string(&webhook.topics)?)
        .bind(secret_enc)
        .bind(&webhook.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The tenant's webhooks, oldest first.
    pub async fn list_webhooks(&self, tenant_id: &str) -> anyhow::Result<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT webhook_id, url, topics, created_at FROM webhooks WHERE tenant_id = $1
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
            "SELECT webhook_id, url, topics, created_at FROM webhooks
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

    /// The webhook's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        webhook_id: &str,
        limit: i64,
    ) -> anyhow::Result<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT delivery_id, event_uuid, event_type, order_id, status, attempts,
                    last_status_code, last_error, next_attempt_at, delivered_at
             FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY delivery_id DESC LIMIT $2",
        )
        .bind(webhook_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let status: String = r.get("status");
                Delivery {
                    delivery_id: r.get("delivery_id"),
                    event_uuid: r.get("event_uuid"),
                    event_type: r.get("event_type"),
                    order_id: r.get("order_id"),
                    next_attempt_at: (status == "PENDING")
                        .then(|| rfc3339(r.get("next_attempt_at"))),
                    status,
                    attempts: r.get("attempts"),
                    last_status_code: r.get("last_status_code"),
                    last_error: r.get("last_error"),
                    delivered_at: r.get::<Option<i64>, _>("delivered_at").map(rfc3339),
                }
            })
            .collect())
    }
}

fn webhook_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Webhook> {
    Ok(Webhook {
        webhook_id: r.get("webhook_id"),
        url: r.get("url"),
        topics: serde_json::from_str(r.get::<&str, _>("topics"))?,
        created_at: r.get("created_at"),
    })
}

/// The wait before attempt `attempts + 1`: 1 s doubling per failed attempt, at most 1 h,
/// plus up to 20 % jitter so that receivers coming back are not hit all at once.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let base = FIRST_BACKOFF_MS
        .saturating_mul(1_i64 << exp)
        .min(MAX_BACKOFF_MS);
    base + rand::thread_rng().gen_range(0..=base / 5)
}

/// A delivery this dispatcher holds the lease of.
struct Claimed {
    delivery_id: i64,
    webhook_id: String,
    url: String,
    secret_enc: String,
    event_uuid: String,
    body: String,
    attempts: i64,
    first_attempt_at: Option<i64>,
    order_id: String,
    /// The trace of the event's recording, continued by the delivery.
    traceparent: Option<String>,
}

/// How an attempt ended.
enum Outcome {
    Delivered(u16),
    Failed { status: Option<u16>, error: String },
}

/// Sends the webhook outbox. One per worker process; any number may run at once.
pub struct Dispatcher {
    store: Store,
    keys: SecretBox,
    http: reqwest::Client,
    retry_window_ms: i64,
}

impl Dispatcher {
    /// `None` when webhooks are disabled (no `webhook_key`).
    pub fn new(store: Store, settings: &Settings) -> anyhow::Result<Option<Dispatcher>> {
        if settings.webhook_key.is_empty() {
            return Ok(None);
        }
        Ok(Some(Dispatcher {
            store,
            keys: SecretBox::from_hex(&settings.webhook_key)?,
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            retry_window_ms: (settings.webhook_retry_hours * 3_600_000.0) as i64,
        }))
    }

    /// Sends due deliveries until `stop` turns true; a batch in flight is finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!("webhook dispatcher running");
        loop {
            if *stop.borrow() {
                break;
            }
            let sent = match self.tick().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "webhook dispatcher");
                    0
                }
            };
            if sent == 0 {
                tokio::select! {
                    _ = stop.changed() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
        }
        tracing::info!("webhook dispatcher stopped");
    }

    /// Claims and sends one batch of due deliveries; returns how many it attempted.
    pub async fn tick(&self) -> anyhow::Result<usize> {
        let claimed = self.claim(now_ms()).await?;
        let n = claimed.len();
        futures::future::join_all(claimed.into_iter().map(|c| self.attempt(c))).await;
        Ok(n)
    }

    /// Due deliveries, each the oldest pending one of its webhook, leased to this process.
    async fn claim(&self, now: i64) -> anyhow::Result<Vec<Claimed>> {
        let rows = sqlx::query(
            "SELECT d.delivery_id, d.webhook_id, w.url, w.secret_enc, d.event_uuid, d.body,
                    d.attempts, d.first_attempt_at, d.next_attempt_at, d.order_id, d.traceparent
             FROM webhook_deliveries d JOIN webhooks w ON w.webhook_id = d.webhook_id
             WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1
               AND d.delivery_id = (SELECT MIN(x.delivery_id) FROM webhook_deliveries x
                                    WHERE x.webhook_id = d.webhook_id AND x.status = 'PENDING')
             ORDER BY d.next_attempt_at LIMIT $2",
        )
        .bind(now)
        .bind(BATCH)
        .fetch_all(&self.store.pool)
        .await?;
        let mut claimed = Vec::new();
        for r in rows {
            let delivery_id: i64 = r.get("delivery_id");
            let leased = sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = $1
                 WHERE delivery_id = $2 AND status = 'PENDING' AND next_attempt_at = $3",
            )
            .bind(now + LEASE_MS)
            .bind(delivery_id)
            .bind(r.get::<i64, _>("next_attempt_at"))
            .execute(&self.store.pool)
            .await?
            .rows_affected();
            if leased == 1 {
                claimed.push(Claimed {
                    delivery_id,
                    webhook_id: r.get("webhook_id"),
                    url: r.get("url"),
                    secret_enc: r.get("secret_enc"),
                    event_uuid: r.get("event_uuid"),
                    body: r.get("body"),
                    attempts: r.get("attempts"),
                    first_attempt_at: r.get("first_attempt_at"),
                    order_id: r.get("order_id"),
                    traceparent: r.get("traceparent"),
                });
            }
        }
        Ok(claimed)
    }

    async fn attempt(&self, c: Claimed) {
        let span = tracing::info_span!("webhook.deliver", otel.kind = "client",
            delivery_id = c.delivery_id, webhook_id = %c.webhook_id, order_id = %c.order_id);
        orderflow_telemetry::propagation::continue_trace(&span, c.traceparent.as_deref());
        async {
            let started = now_ms();
            let outcome = self.send(&c).await;
            if let Err(e) = self.finish(&c, started, outcome).await {
                tracing::warn!(delivery_id = c.delivery_id, error = %format!("{e:#}"), "recording a webhook attempt");
            }
        }
        .instrument(span)
        .await
    }

    async fn send(&self, c: &Claimed) -> Outcome {
        let secret = match self.keys.open(&c.webhook_id, &c.secret_enc) {
            Ok(s) => s,
            Err(e) => {
                return Outcome::Failed {
                    status: None,
                    error: format!("{e:#}"),
                };
            }
        };
        let timestamp = now_ms() / 1000;
        let result = self
            .http
            .post(&c.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .headers(orderflow_telemetry::trace_headers())
            .header("orderflow-event-id", &c.event_uuid)
            .header("orderflow-timestamp", timestamp.to_string())
            .header(
                "orderflow-signature",
                signature_header(&secret, timestamp, c.body.as_bytes()),
            )
            .body(c.body.clone())
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => {
                Outcome::Delivered(response.status().as_u16())
            }
            Ok(response) => Outcome::Failed {
                status: Some(response.status().as_u16()),
                error: format!("receiver answered {}", response.status()),
            },
            Err(e) => Outcome::Failed {
                status: None,
                error: format!("{e}"),
            },
        }
    }

    async fn finish(&self, c: &Claimed, started: i64, outcome: Outcome) -> anyhow::Result<()> {
        let now = now_ms();
        let first = c.first_attempt_at.unwrap_or(started);
        let attempts = c.attempts + 1;
        match outcome {
            Outcome::Delivered(status) => {
                orderflow_telemetry::metrics::webhook_delivery("delivered");
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'DELIVERED', attempts = $1,
                         last_status_code = $2, last_error = NULL, first_attempt_at = $3,
                         delivered_at = $4
                     WHERE delivery_id = $5 AND status = 'PENDING'",
                )
                .bind(attempts)
                .bind(status as i64)
                .bind(first)
                .bind(now)
                .bind(c.delivery_id)
                .execute(&self.store.pool)
                .await?;
            }
            Outcome::Failed { status, error } => {
                let give_up = now - first > self.retry_window_ms;
                let error: String = error.chars().take(MAX_ERROR_LEN).collect();
                tracing::info!(delivery_id = c.delivery_id, attempts, %error, give_up, "webhook delivery failed");
                orderflow_telemetry::metrics::webhook_delivery(if give_up {
                    "failed"
                } else {
                    "retrying"
                });
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = $1, attempts = $2,
                         last_status_code = $3, last_error = $4, first_attempt_at = $5,
                         next_attempt_at = $6
                     WHERE delivery_id = $7 AND status = 'PENDING'",
                )
                .bind(if give_up { "FAILED" } else { "PENDING" })
                .bind(attempts)
                .bind(status.map(i64::from))
                .bind(error)
                .bind(first)
                .bind(now + backoff_ms(attempts))
                .bind(c.delivery_id)
                .execute(&self.store.pool)
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_up_to_an_hour_with_jitter() {
        for (attempts, base) in [(1, 1_000), (2, 2_000), (3, 4_000), (13, 3_600_000)] {
            for _ in 0..20 {
                let b = backoff_ms(attempts);
                assert!(b >= base && b <= base + base / 5, "{attempts}: {b}");
            }
        }
        assert!(backoff_ms(i64::MAX) <= MAX_BACKOFF_MS * 6 / 5);
    }
}

#[cfg(test)]
mod outbox_tests {
    use super::*;
    use crate::config::DEV_WEBHOOK_KEY;
    use crate::test_support::on_both_backends;
    use orderflow_workflows::activities::RecordInput;
    use orderflow_workflows::model::{EventType, OrderDocument, OrderState, OrderType, OrderView};

    on_both_backends!(
        events_enqueue_once_per_matching_webhook_of_their_tenant,
        only_the_oldest_pending_delivery_of_a_webhook_is_claimed_and_only_once,
        concurrent_and_repeated_records_write_each_event_and_delivery_once,
        concurrent_dispatchers_claim_each_due_delivery_once,
    );

    /// Several workers record events of one tenant at once, and a retried record can run
    /// next to its original: every event and delivery is written once, nothing deadlocks,
    /// and each order's events are queued in the order they were recorded.
    async fn concurrent_and_repeated_records_write_each_event_and_delivery_once(store: Store) {
        subscribe(&store, "acme", "all", &["*"]).await;
        let orders: Vec<String> = (0..6).map(|i| format!("o{i}")).collect();
        let writers = orders.iter().map(|order| {
            let store = store.clone();
            let order = order.clone();
            async move {
                for seq in 1..=4 {
                    let input = record_for("acme", &order, seq, EventType::StateChanged);
                    let (a, b) = tokio::join!(store.record(&input), store.record(&input));
                    a.unwrap();
                    b.unwrap();
                }
            }
        });
        futures::future::join_all(writers).await;
        let deliveries = store.list_deliveries("all", 1000).await.unwrap();
        assert_eq!(deliveries.len(), 24);
        for order in &orders {
            // Newest first: seq 4, 3, 2, 1.
            let uuids: Vec<&str> = deliveries
                .iter()
                .filter(|d| &d.order_id == order)
                .map(|d| d.event_uuid.as_str())
                .collect();
            let expected: Vec<String> = (1..=4)
                .rev()
                .map(|s| format!("acme-{order}-e{s}"))
                .collect();
            assert_eq!(uuids, expected);
            assert_eq!(store.events("acme", order, 0).await.unwrap().len(), 4);
            let row = store.get_order("acme", order).await.unwrap().unwrap();
            assert_eq!(row.last_seq, 4);
        }
    }

    async fn concurrent_dispatchers_claim_each_due_delivery_once(store: Store) {
        for i in 0..6 {
            subscribe(&store, "acme", &format!("w{i}"), &["*"]).await;
        }
        store
            .record(&record("acme", 1, EventType::OrderAcknowledged))
            .await
            .unwrap();
        let settings = Settings::default();
        let dispatchers: Vec<Dispatcher> = (0..4)
            .map(|_| Dispatcher::new(store.clone(), &settings).unwrap().unwrap())
            .collect();
        let now = now_ms() + 1;
        let claims = futures::future::join_all(dispatchers.iter().map(|d| d.claim(now))).await;
        let mut claimed: Vec<String> = claims
            .into_iter()
            .flat_map(|c| c.unwrap())
            .map(|c| c.webhook_id)
            .collect();
        claimed.sort();
        assert_eq!(claimed, ["w0", "w1", "w2", "w3", "w4", "w5"]);
    }

    fn record(tenant: &str, seq: u64, event_type: EventType) -> RecordInput {
        record_for(tenant, "o1", seq, event_type)
    }

    fn record_for(tenant: &str, order_id: &str, seq: u64, event_type: EventType) -> RecordInput {
        let document = OrderDocument::new(tenant, order_id, "PO-1", "sim", OrderType::Provide);
        let mut view = OrderView::received(document, "2026-01-01T00:00:00.000Z".into());
        view.last_seq = seq;
        RecordInput {
            view,
            event: OrderEvent {
                event_uuid: format!("{tenant}-{order_id}-e{seq}"),
                order_id: order_id.into(),
                tenant_id: tenant.into(),
                seq,
                event_type,
                state: OrderState::Submitted,
                previous_state: None,
                request_id: None,
                revision: 1,
                occurred_at: "2026-01-01T00:00:00.000Z".into(),
                detail: serde_json::Value::Null,
            },
            amendment: None,
            requests: vec![],
        }
    }

    async fn subscribe(store: &Store, tenant: &str, id: &str, topics: &[&str]) {
        let keys = SecretBox::from_hex(DEV_WEBHOOK_KEY).unwrap();
        let webhook = Webhook {
            webhook_id: id.into(),
            url: "http://127.0.0.1:9/none".into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        };
        let sealed = keys.seal(id, "0123456789abcdef").unwrap();
        store
            .create_webhook(tenant, &webhook, &sealed)
            .await
            .unwrap();
    }

    async fn events_enqueue_once_per_matching_webhook_of_their_tenant(store: Store) {
        subscribe(&store, "acme", "all", &["*", "STATE_CHANGED"]).await;
        subscribe(&store, "acme", "steps", &["PLAN_STEP_COMPLETED"]).await;
        subscribe(&store, "globex", "other", &["*"]).await;
        store
            .record(&record("acme", 1, EventType::OrderAcknowledged))
            .await
            .unwrap();
        store
            .record(&record("acme", 2, EventType::PlanStepCompleted))
            .await
            .unwrap();
        // A retried record enqueues nothing more.
        store
            .record(&record("acme", 2, EventType::PlanStepCompleted))
            .await
            .unwrap();
        let types = |d: Vec<Delivery>| d.into_iter().map(|d| d.event_type).collect::<Vec<_>>();
        assert_eq!(
            types(store.list_deliveries("all", 100).await.unwrap()),
            ["PLAN_STEP_COMPLETED", "ORDER_ACKNOWLEDGED"]
        );
        assert_eq!(
            types(store.list_deliveries("steps", 100).await.unwrap()),
            ["PLAN_STEP_COMPLETED"]
        );
        assert!(
            store
                .list_deliveries("other", 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.delete_webhook("acme", "all").await.unwrap());
        assert!(!store.delete_webhook("globex", "steps").await.unwrap());
        assert!(store.list_deliveries("all", 100).await.unwrap().is_empty());
    }

    async fn only_the_oldest_pending_delivery_of_a_webhook_is_claimed_and_only_once(store: Store) {
        subscribe(&store, "acme", "all", &["*"]).await;
        store
            .record(&record("acme", 1, EventType::OrderAcknowledged))
            .await
            .unwrap();
        store
            .record(&record("acme", 2, EventType::StateChanged))
            .await
            .unwrap();
        let settings = Settings::default();
        let one = Dispatcher::new(store.clone(), &settings).unwrap().unwrap();
        let two = Dispatcher::new(store.clone(), &settings).unwrap().unwrap();
        let now = now_ms() + 1;
        let claimed = one.claim(now).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].event_uuid, "acme-o1-e1");
        assert_eq!(
            claimed[0].body,
            serde_json::to_string(&record("acme", 1, EventType::OrderAcknowledged).event).unwrap()
        );
        // Leased: the other dispatcher gets nothing, and the later event waits its turn.
        assert!(two.claim(now).await.unwrap().is_empty());
        // A failed attempt backs off; a lease that ran out can be claimed again.
        let c = claimed.into_iter().next().unwrap();
        one.finish(
            &c,
            now,
            Outcome::Failed {
                status: Some(500),
                error: "x".into(),
            },
        )
        .await
        .unwrap();
        let d = store.list_deliveries("all", 100).await.unwrap();
        assert_eq!(
            (d[1].status.as_str(), d[1].attempts, d[1].last_status_code),
            ("PENDING", 1, Some(500))
        );
        assert!(two.claim(now).await.unwrap().is_empty());
        let again = two.claim(now + 2_000).await.unwrap();
        assert_eq!(again[0].event_uuid, "acme-o1-e1");
        two.finish(&again[0], now + 2_000, Outcome::Delivered(204))
            .await
            .unwrap();
        let next = one.claim(now + LEASE_MS * 2).await.unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].event_uuid, "acme-o1-e2");
        let d = store.list_deliveries("all", 100).await.unwrap();
        assert_eq!((d[1].status.as_str(), d[1].attempts), ("DELIVERED", 2));
        assert!(d[1].delivered_at.is_some() && d[1].next_attempt_at.is_none());
    }
}
