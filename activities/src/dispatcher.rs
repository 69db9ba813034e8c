//! The [`Dispatcher`] that sends the webhook outbox (`orderflow_store::outbox`) to tenants.
//!
//! It runs in every worker process, any number at once: the store leases each due delivery
//! to one dispatcher. Delivery is at least once: a crash between the POST and the status
//! write sends the event again once the lease expires. A failed attempt is retried with a
//! doubling backoff until the retry window after the first attempt has passed.

use crate::signing::signature_header;
use orderflow_config::Settings;
use orderflow_store::outbox::{LeasedDelivery, Outcome, now_ms};
use orderflow_store::{SecretBox, Store};
use rand::Rng;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// How long a leased delivery belongs to the worker that leased it (longer than the request
/// timeout, so a live sender always finishes first).
const LEASE_MS: i64 = 60_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const BATCH: i64 = 16;
const IDLE_POLL: Duration = Duration::from_millis(250);
const FIRST_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 3_600_000;

/// The wait before attempt `attempts + 1`: 1 s doubling per failed attempt, at most 1 h,
/// plus up to 20 % jitter so that receivers coming back are not hit all at once.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let base = FIRST_BACKOFF_MS
        .saturating_mul(1_i64 << exp)
        .min(MAX_BACKOFF_MS);
    base + rand::thread_rng().gen_range(0..=base / 5)
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
            keys: SecretBox::from_hex(settings.webhook_key.expose())?,
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

    /// Leases and sends one batch of due deliveries; returns how many it attempted.
    pub async fn tick(&self) -> anyhow::Result<usize> {
        let leased = self
            .store
            .lease_due_deliveries(now_ms(), LEASE_MS, BATCH)
            .await?;
        let n = leased.len();
        futures::future::join_all(leased.into_iter().map(|d| self.attempt(d))).await;
        Ok(n)
    }

    async fn attempt(&self, d: LeasedDelivery) {
        let span = tracing::info_span!("webhook.deliver", otel.kind = "client",
            delivery_id = d.delivery_id, webhook_id = %d.webhook_id, order_id = %d.order_id);
        orderflow_telemetry::propagation::continue_trace(&span, d.traceparent.as_deref());
        async {
            let first = d.first_attempt_at.unwrap_or_else(now_ms);
            let outcome = match self.send(&d).await {
                Ok(status) => {
                    orderflow_telemetry::metrics::webhook_delivery("delivered");
                    Outcome::Delivered { status }
                }
                Err((status, error)) => {
                    let attempts = d.attempts + 1;
                    let retry_at = self.retry_at(first, attempts);
                    tracing::info!(delivery_id = d.delivery_id, attempts, %error, give_up = retry_at.is_none(), "webhook delivery failed");
                    orderflow_telemetry::metrics::webhook_delivery(match retry_at {
                        Some(_) => "retrying",
                        None => "failed",
                    });
                    Outcome::Failed {
                        status,
                        error,
                        retry_at,
                    }
                }
            };
            let finished = self.store.finish_delivery(&d, first, now_ms(), outcome);
            if let Err(e) = finished.await {
                tracing::warn!(delivery_id = d.delivery_id, error = %format!("{e:#}"), "recording a webhook attempt");
            }
        }
        .instrument(span)
        .await
    }

    /// When to make attempt `attempts + 1` of a delivery first tried at `first_attempt_at`;
    /// `None` once the retry window has passed.
    fn retry_at(&self, first_attempt_at: i64, attempts: i64) -> Option<i64> {
        let now = now_ms();
        (now - first_attempt_at <= self.retry_window_ms).then(|| now + backoff_ms(attempts))
    }

    /// POSTs the event, signed; the receiver's status, or why it failed.
    async fn send(&self, d: &LeasedDelivery) -> Result<u16, (Option<u16>, String)> {
        let secret = self
            .keys
            .open(&d.webhook_id, &d.secret_enc)
            .map_err(|e| (None, format!("{e:#}")))?;
        let timestamp = now_ms() / 1000;
        let response = self
            .http
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .headers(orderflow_telemetry::trace_headers())
            .header("orderflow-event-id", &d.event_uuid)
            .header("orderflow-timestamp", timestamp.to_string())
            .header(
                "orderflow-signature",
                signature_header(&secret, timestamp, d.body.as_bytes()),
            )
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| (None, format!("{e}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err((Some(status.as_u16()), format!("receiver answered {status}")))
        }
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
