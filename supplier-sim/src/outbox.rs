//! The durable callback outbox and its delivery worker.
//!
//! A callback is first journaled (with the time it becomes due), then delivered by the worker
//! with retries until orderflow answers 2xx. This is what makes callbacks survive both an
//! unreachable orderflow and a restart of the simulator: a real supplier does not forget that it
//! owes you a "step done" just because your API was down. The `callback_id` is fixed when the
//! callback is created, so orderflow can deduplicate redeliveries (delivery is at-least-once).

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, error, info, warn};

use crate::Shared;
use crate::journal::Entry;

/// Deliveries in flight at once: enough for benchmarks, bounded so a burst of due callbacks
/// does not open thousands of connections to orderflow.
const MAX_IN_FLIGHT: usize = 64;
/// First retry delay; doubled per failed attempt.
const BACKOFF_START_MS: i64 = 200;
/// Ceiling of the retry delay.
const BACKOFF_CAP_MS: i64 = 10_000;
/// How long the worker sleeps when nothing is scheduled (it is woken earlier by new work).
const IDLE_WAIT: Duration = Duration::from_secs(60);

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Delay before retry number `attempts` (1-based): 200 ms, 400 ms, … capped at 10 s.
pub(crate) fn backoff_ms(attempts: u32) -> i64 {
    let shift = attempts.saturating_sub(1).min(16);
    (BACKOFF_START_MS << shift).min(BACKOFF_CAP_MS)
}

/// Builds a callback for supplier order `id` (`tenant:order`), due at `due_ms`.
///
/// The body carries the tenant's own `order_id` (not the `tenant:order` form), the order's
/// `order_ref` when known, and the type-specific fields in `extra` (a JSON object).
/// Returns the callback id and the journal entry that schedules it.
pub(crate) fn new_callback(
    kind: &str,
    id: &str,
    order: Option<&Value>,
    due_ms: i64,
    extra: Value,
) -> (String, Entry) {
    let callback_id = uuid::Uuid::now_v7().to_string();
    let (tenant_id, order_id) = id.split_once(':').unwrap_or(("", id));
    let mut body = json!({
        "callback_id": callback_id,
        "type": kind,
        "tenant_id": tenant_id,
        "order_id": order_id,
    });
    let fields = body.as_object_mut().expect("callback body is an object");
    if let Some(order_ref) = order
        .and_then(|o| o.get("order_ref"))
        .and_then(Value::as_str)
    {
        fields.insert("order_ref".into(), json!(order_ref));
    }
    if let Value::Object(extra) = extra {
        fields.extend(extra);
    }
    (
        callback_id.clone(),
        Entry::Callback {
            callback_id,
            due_ms,
            body,
        },
    )
}

/// Handle on the outbox worker, used by [`crate::serve`] to stop it on shutdown.
pub(crate) struct WorkerHandle {
    stop: Arc<Notify>,
    join: JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops the worker and waits until it and its in-flight deliveries are gone, so nothing
    /// writes to the journal any more. Aborted deliveries stay in the outbox and are redelivered
    /// by the next instance.
    pub(crate) async fn stop(self) {
        self.stop.notify_one();
        if let Err(e) = self.join.await {
            error!(error = %e, "callback worker ended abnormally");
        }
    }
}

pub(crate) fn spawn(shared: &Arc<Shared>) -> WorkerHandle {
    // The worker holds only a weak reference so that it never keeps the state alive on its own.
    let weak = Arc::downgrade(shared);
    let wake = shared.outbox_wake.clone();
    let stop = shared.outbox_stop.clone();
    let join = tokio::spawn(run(weak, wake, stop.clone()));
    WorkerHandle { stop, join }
}

async fn run(weak: Weak<Shared>, wake: Arc<Notify>, stop: Arc<Notify>) {
    let mut deliveries = JoinSet::new();
    loop {
        while deliveries.try_join_next().is_some() {}
        let next_due = {
            let Some(shared) = weak.upgrade() else {
                break;
            };
            let room = MAX_IN_FLIGHT.saturating_sub(deliveries.len());
            let (due, next_due) = shared.state.lock().await.take_due(now_ms(), room);
            for (callback_id, body) in due {
                deliveries.spawn(deliver(shared.clone(), callback_id, body));
            }
            next_due
        };
        let at_capacity = deliveries.len() >= MAX_IN_FLIGHT;
        let wait = next_due.map_or(IDLE_WAIT, |at| {
            Duration::from_millis((at - now_ms()).max(0) as u64)
        });
        tokio::select! {
            _ = stop.notified() => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait), if !at_capacity => {}
            Some(_) = deliveries.join_next(), if !deliveries.is_empty() => {}
        }
    }
    deliveries.shutdown().await;
    debug!("callback worker stopped");
}

enum Outcome {
    Delivered,
    /// Permanently refused (4xx other than 408/429): retrying cannot help.
    Dropped(String),
    Retry(String),
}

/// One delivery attempt. The signature is computed afresh each time because it covers the
/// timestamp, and receivers reject stale timestamps.
async fn deliver(shared: Arc<Shared>, callback_id: String, body: Value) {
    let bytes = serde_json::to_vec(&body).expect("a JSON value serialises");
    let timestamp = chrono::Utc::now().timestamp();
    let signature = crate::sign(&shared.config.secret, timestamp, &bytes);
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("?");
    let result = shared
        .http
        .post(&shared.config.callback_url)
        .header("content-type", "application/json")
        .header("orderflow-timestamp", timestamp.to_string())
        .header("orderflow-signature", format!("v1={signature}"))
        .body(bytes)
        .send()
        .await;
    let outcome = match result {
        Ok(resp) => {
            let status = resp.status();
            if status.is_success() {
                Outcome::Delivered
            } else {
                let text = resp.text().await.unwrap_or_default();
                let what = format!(
                    "HTTP {status}: {}",
                    text.chars().take(300).collect::<String>()
                );
                let code = status.as_u16();
                if status.is_client_error() && code != 408 && code != 429 {
                    Outcome::Dropped(what)
                } else {
                    Outcome::Retry(what)
                }
            }
        }
        Err(e) => Outcome::Retry(e.to_string()),
    };

    let mut st = shared.state.lock().await;
    let done = |delivered| {
        vec![Entry::CallbackDone {
            callback_id: callback_id.clone(),
            delivered,
        }]
    };
    match outcome {
        Outcome::Delivered => {
            info!(%callback_id, kind, "callback delivered");
            if let Err(e) = st.commit(done(true)) {
                // Keep it in the outbox: a redelivery is harmless, a lost callback is not.
                error!(%callback_id, error = %e, "journal write failed; callback will be resent");
                st.retry_later(&callback_id, now_ms(), backoff_ms);
            }
        }
        Outcome::Dropped(why) => {
            warn!(%callback_id, kind, reason = %why, "callback refused permanently; dropping it");
            if let Err(e) = st.commit(done(false)) {
                error!(%callback_id, error = %e, "journal write failed");
                st.retry_later(&callback_id, now_ms(), backoff_ms);
            }
        }
        Outcome::Retry(why) => {
            let attempt = st.attempts(&callback_id) + 1;
            st.retry_later(&callback_id, now_ms(), backoff_ms);
            if attempt == 1 || attempt % 10 == 0 {
                warn!(%callback_id, kind, attempt, reason = %why, "callback delivery failed; will retry");
            } else {
                debug!(%callback_id, kind, attempt, reason = %why, "callback delivery failed; will retry");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1), 200);
        assert_eq!(backoff_ms(2), 400);
        assert_eq!(backoff_ms(3), 800);
        assert_eq!(backoff_ms(6), 6400);
        assert_eq!(backoff_ms(7), 10_000);
        assert_eq!(backoff_ms(1000), 10_000);
    }

    #[test]
    fn callback_uses_tenant_order_id() {
        let order = json!({"order_ref": "PO-9"});
        let (id, entry) = new_callback(
            "STEP_DONE",
            "acme:ord-1",
            Some(&order),
            5,
            json!({"step_id": "step-2"}),
        );
        let Entry::Callback {
            callback_id,
            due_ms,
            body,
        } = entry
        else {
            panic!("not a callback entry");
        };
        assert_eq!(id, callback_id);
        assert_eq!(due_ms, 5);
        assert_eq!(body["tenant_id"], "acme");
        assert_eq!(body["order_id"], "ord-1");
        assert_eq!(body["order_ref"], "PO-9");
        assert_eq!(body["step_id"], "step-2");
        assert_eq!(body["type"], "STEP_DONE");
        assert_eq!(body["callback_id"], id.as_str());
    }
}
