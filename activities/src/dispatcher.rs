//! The [`Dispatcher`] that sends the webhook outbox (`orderflow_store::outbox`) to tenants.
//!
//! It runs in every worker process, any number at once: the store leases each due delivery
//! to one dispatcher. Delivery is at least once: a crash between the POST and the status
//! write sends the event again once the lease expires. A failed attempt is retried with a
//! doubling backoff until the retry window after the first attempt has passed.
//!
//! Fairness: each delivery runs as a task of its own, at most `webhook_max_in_flight` at
//! once and at most `webhook_max_in_flight_per_tenant` for one tenant, and the dispatcher
//! leases only what it has a free slot for, as soon as a slot frees. A tenant whose
//! receivers hang (accept and never answer) or fail holds its own few slots for at most the
//! request timeout; other tenants' deliveries keep flowing past it.
//!
//! Egress: the destination is checked at every send ([`crate::egress`]): an IP literal
//! before the request, a name by the client's [`GuardedResolver`](crate::egress::GuardedResolver),
//! so a name rebound to a refused address after registration connects nowhere. A refused
//! destination fails the attempt with `url_not_allowed` and is retried like any other
//! failure until the retry window ends (the operator may have changed the policy, and it
//! costs no connection). What is stored as `last_error` is one of the coarse categories of
//! [`failure_category`], never a library's text; the detail goes to the log.

use crate::egress::{AddressRefused, DnsFailed, EgressPolicy, caused_by, guarded_client};
use crate::signing::{signature_header, standard_signature_header};
use orderflow_config::Settings;
use orderflow_store::outbox::{LeasedDelivery, Outcome, now_ms};
use orderflow_store::{SecretBox, Store};
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

/// How long a leased delivery belongs to the worker that leased it (longer than the request
/// timeout, so a live sender always finishes first).
const LEASE_MS: i64 = 60_000;
/// The whole attempt, connection to the end of the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A receiver that does not accept the connection in this long is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Due deliveries asked for per free slot, so that candidates of tenants at their cap
/// leave enough others to fill the slots.
const CANDIDATES_PER_SLOT: usize = 4;
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
    policy: EgressPolicy,
    retry_window_ms: i64,
    slots: Arc<Slots>,
}

/// Deliveries in flight, in all and per tenant, against their caps.
#[derive(Debug)]
struct Slots {
    max: usize,
    per_tenant: usize,
    busy: Mutex<(usize, HashMap<String, usize>)>,
}

/// One delivery's slot, given back when its task ends (however it ends).
struct Slot {
    slots: Arc<Slots>,
    tenant_id: String,
}

impl Slots {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<String, usize>)> {
        self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Free slots in all, and the tenants with none left.
    fn room(&self) -> (usize, Vec<String>) {
        let busy = self.lock();
        let full = busy
            .1
            .iter()
            .filter(|(_, n)| **n >= self.per_tenant)
            .map(|(t, _)| t.clone())
            .collect();
        (self.max.saturating_sub(busy.0), full)
    }

    fn has_room(&self, tenant_id: &str) -> bool {
        let busy = self.lock();
        busy.0 < self.max && busy.1.get(tenant_id).copied().unwrap_or(0) < self.per_tenant
    }

    /// Takes a slot. Only the dispatcher's loop takes slots (tasks only give them back), so
    /// a [`Slots::has_room`] before the lease still holds after it.
    fn take(self: &Arc<Self>, tenant_id: &str) -> Slot {
        let mut busy = self.lock();
        busy.0 += 1;
        *busy.1.entry(tenant_id.to_string()).or_default() += 1;
        Slot {
            slots: self.clone(),
            tenant_id: tenant_id.to_string(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.slots.lock();
        busy.0 = busy.0.saturating_sub(1);
        if let Some(n) = busy.1.get_mut(&self.tenant_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                busy.1.remove(&self.tenant_id);
            }
        }
    }
}

impl Dispatcher {
    /// `None` when webhooks are disabled (no `webhook_key`).
    pub fn new(store: Store, settings: &Settings) -> anyhow::Result<Option<Dispatcher>> {
        if settings.webhook_key.is_empty() {
            return Ok(None);
        }
        let policy = EgressPolicy::from_settings(settings);
        Ok(Some(Dispatcher {
            store,
            keys: SecretBox::from_hex(settings.webhook_key.expose())?,
            http: http_client(policy)?,
            policy,
            retry_window_ms: (settings.webhook_retry_hours * 3_600_000.0) as i64,
            slots: Arc::new(Slots {
                max: settings.webhook_max_in_flight.max(1),
                per_tenant: settings.webhook_max_in_flight_per_tenant.max(1),
                busy: Mutex::default(),
            }),
        }))
    }

    /// Sends due deliveries until `stop` turns true; the deliveries in flight are finished
    /// first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!("webhook dispatcher running");
        let this = Arc::new(self);
        let mut tasks = JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            let started = match this.start_due(&mut tasks).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "webhook dispatcher");
                    0
                }
            };
            if started == 0 {
                // Nothing due, or no free slot: look again when a delivery ends or after
                // the poll interval.
                tokio::select! {
                    _ = stop.changed() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                }
            }
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!("webhook dispatcher stopped");
    }

    /// Leases as many due deliveries as there are free slots for, each of a tenant with a
    /// free slot, and starts each as a task; returns how many it started.
    async fn start_due(self: &Arc<Self>, tasks: &mut JoinSet<()>) -> anyhow::Result<usize> {
        let (free, full) = self.slots.room();
        if free == 0 {
            return Ok(0);
        }
        let now = now_ms();
        let limit = i64::try_from(free * CANDIDATES_PER_SLOT).unwrap_or(i64::MAX);
        let due = self.store.due_deliveries(now, limit, &full).await?;
        let mut started = 0;
        for candidate in due {
            if !self.slots.has_room(&candidate.delivery.tenant_id) {
                continue;
            }
            let Some(d) = self.store.lease_delivery(candidate, now, LEASE_MS).await? else {
                continue;
            };
            let slot = self.slots.take(&d.tenant_id);
            let this = self.clone();
            tasks.spawn(async move {
                this.attempt(d).await;
                drop(slot);
            });
            started += 1;
        }
        Ok(started)
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
                        error: error.to_string(),
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

    /// POSTs the event, signed; the receiver's status, or why it failed as a category of
    /// [`failure_category`] (with the status when the receiver answered).
    async fn send(&self, d: &LeasedDelivery) -> Result<u16, (Option<u16>, &'static str)> {
        if let Err(refusal) = self.policy.check_literal(&d.url) {
            tracing::warn!(webhook_id = %d.webhook_id, %refusal, "webhook destination refused");
            return Err((None, "url_not_allowed"));
        }
        let secret = self.keys.open(&d.webhook_id, &d.secret_enc).map_err(|e| {
            tracing::warn!(webhook_id = %d.webhook_id, error = %format!("{e:#}"), "webhook secret");
            (None, "secret_unreadable")
        })?;
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
            // Standard Webhooks: the same event id, so a resend is recognisable as one.
            .header("webhook-id", &d.event_uuid)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                standard_signature_header(&secret, &d.event_uuid, timestamp, d.body.as_bytes()),
            )
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| {
                let category = failure_category(&e);
                tracing::info!(webhook_id = %d.webhook_id, category, error = ?e, "webhook request");
                (None, category)
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else if status.is_redirection() {
            Err((Some(status.as_u16()), "redirect_refused"))
        } else {
            Err((Some(status.as_u16()), "http_status"))
        }
    }
}

/// The dispatcher's client: every name through the egress policy's resolver, no redirects
/// followed, a short connect timeout and a total one.
fn http_client(policy: EgressPolicy) -> reqwest::Result<reqwest::Client> {
    guarded_client(policy)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The coarse category a failed request is recorded as (`last_error`): `url_not_allowed`
/// (every address refused by the policy), `dns_failed`, `timeout`, `tls_failed`,
/// `connect_failed`, `redirect_refused` or `request_failed`. Besides these, a send records
/// `http_status` (the status is stored beside it) and `secret_unreadable`.
pub fn failure_category(error: &reqwest::Error) -> &'static str {
    if caused_by::<AddressRefused>(error) {
        "url_not_allowed"
    } else if caused_by::<DnsFailed>(error) {
        "dns_failed"
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_redirect() {
        "redirect_refused"
    } else if error.is_connect() && is_tls(error) {
        "tls_failed"
    } else if error.is_connect() {
        "connect_failed"
    } else {
        "request_failed"
    }
}

/// Whether a connection failed in its TLS handshake. rustls is not a dependency of
/// orderflow's own, so this reads the causes' texts; it only picks a category.
fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string().to_ascii_lowercase();
        if ["certificate", "tls", "handshake", "alert"]
            .iter()
            .any(|w| text.contains(w))
        {
            return true;
        }
        next = e.source();
    }
    false
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

    const DEV: EgressPolicy = EgressPolicy {
        allow_http: true,
        allow_private_networks: true,
    };

    async fn category_of(policy: EgressPolicy, url: &str) -> &'static str {
        let client = http_client(policy).unwrap();
        failure_category(&client.post(url).send().await.unwrap_err())
    }

    /// Answers every request with `answer`, counting them.
    async fn server(
        answer: &'static str,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (url, hits)
    }

    #[tokio::test]
    async fn redirects_are_answers_not_followed() {
        let (target, hits) = server("HTTP/1.1 204 No Content\r\n\r\n").await;
        let redirect: &'static str = Box::leak(
            format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}/\r\ncontent-length: 0\r\n\r\n")
                .into_boxed_str(),
        );
        let (url, _) = server(redirect).await;
        let answer = http_client(DEV).unwrap().post(&url).send().await.unwrap();
        assert_eq!(answer.status(), 307);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn failed_requests_are_recorded_as_coarse_categories() {
        let dev = DEV;
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        assert_eq!(
            category_of(dev, &format!("http://127.0.0.1:{port}/")).await,
            "connect_failed"
        );
        assert_eq!(
            category_of(
                EgressPolicy::default(),
                &format!("http://localhost:{port}/")
            )
            .await,
            "url_not_allowed"
        );
        assert_eq!(
            category_of(dev, "http://no-such-host.invalid/").await,
            "dns_failed"
        );
    }
}
