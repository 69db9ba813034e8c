//! What the store tells the metrics: order transitions and decided requests as they are
//! recorded (once per event, so retried and replayed records count nothing), and gauges of
//! orders by state and of the webhook outbox, read from the database on an interval.

use crate::Store;
use orderflow_domain::calls::RecordInput;
use orderflow_domain::model::{OrderState, RequestState};
use orderflow_telemetry::metrics;
use sqlx::Row;
use std::time::Duration;
use tokio::sync::watch;

/// How often the gauges are read from the store.
pub const GAUGE_INTERVAL: Duration = Duration::from_secs(10);

/// Counts what one newly inserted event changed.
pub(crate) fn recorded(input: &RecordInput) {
    let event = &input.event;
    if event.previous_state != Some(event.state) {
        tracing::info!(
            to_state = event.state.as_str(),
            seq = event.seq,
            "order state changed"
        );
        metrics::transition(event.state.as_str());
    }
    let decided = |state: RequestState| !matches!(state, RequestState::Pending);
    if let Some(a) = input.amendment.as_ref().filter(|a| decided(a.state)) {
        metrics::request_decided("AMENDMENT", a.state.as_str());
    }
    for r in input.requests.iter().filter(|r| decided(r.state())) {
        metrics::request_decided(r.kind(), r.state().as_str());
    }
}

/// Refreshes the gauges every [`GAUGE_INTERVAL`] until `stop` turns true.
pub async fn refresh_gauges(store: Store, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = refresh(&store).await {
            tracing::warn!(error = %format!("{e:#}"), "reading order and webhook gauges");
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(GAUGE_INTERVAL) => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

async fn refresh(store: &Store) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let rows = sqlx::query(
        "SELECT state, COUNT(*) AS n, MIN(updated_at) AS oldest FROM orders GROUP BY state",
    )
    .fetch_all(&store.pool)
    .await?;
    // Every state gets a sample, 0 when no order is in it, so alerts see it drop to 0.
    for state in OrderState::ALL {
        let row = rows
            .iter()
            .find(|r| r.get::<String, _>("state") == state.as_str());
        let count = row.map_or(0, |r| r.get::<i64, _>("n")) as u64;
        let age = row
            .and_then(|r| r.get::<Option<String>, _>("oldest"))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map_or(0.0, |t| (now - t.to_utc()).as_seconds_f64().max(0.0));
        metrics::orders_in_state(state.as_str(), count, age);
    }
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM webhook_deliveries
         WHERE status = 'PENDING'",
    )
    .fetch_one(&store.pool)
    .await?;
    let oldest: Option<i64> = row.get("oldest");
    let age = oldest.map_or(0.0, |ms| {
        ((crate::outbox::now_ms() - ms) as f64 / 1000.0).max(0.0)
    });
    metrics::webhook_backlog(row.get::<i64, _>("n") as u64, age);
    Ok(())
}
