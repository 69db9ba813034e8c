//! `orderflow-supplier-sim` — a real HTTP supplier used by orderflow's tests, `orderflow dev`
//! and the benchmarks.
//!
//! It is deliberately a *real* server rather than an in-process mock: orderflow's activities talk
//! to it over HTTP exactly as they would to a production supplier, so retries, idempotency keys,
//! timeouts and signed callbacks are all exercised end to end.
//!
//! Behaviour per order is steered by `sim.*` keys in the order's `attributes` (see [`knobs`]).
//! Everything the simulator remembers — orders, stored answers per idempotency key, flaky
//! counters, started steps, the call log and the callback outbox — is kept in an append-only
//! JSON-lines journal under `data_dir`, so that a restarted simulator behaves like a supplier
//! that was merely unreachable for a while, not like one that lost its memory.

mod admin;
mod journal;
mod knobs;
mod outbox;
mod supplier;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tracing::info;

use crate::journal::State;
use crate::outbox::WorkerHandle;

/// Configuration of one simulator instance.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Directory holding the journal; created if missing. Reusing it across restarts is what
    /// makes the simulator remember orders, answers and pending callbacks.
    pub data_dir: PathBuf,
    /// Full URL the callbacks are POSTed to, e.g.
    /// `http://127.0.0.1:8080/v1/supplier/sim/callbacks`.
    pub callback_url: String,
    /// Shared secret used to sign callbacks (see [`sign`]).
    pub secret: String,
}

/// Everything the handlers and the outbox worker share.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    /// All durable state. A tokio mutex because handlers hold it across journal writes; it is
    /// never held across a step's simulated work or a callback delivery.
    pub(crate) state: tokio::sync::Mutex<State>,
    /// One async lock per idempotency scope, so that a client retry arriving while the first
    /// attempt is still "working" (e.g. sleeping `sim.step_ms`) waits for it and then gets the
    /// stored answer, instead of producing a second effect.
    pub(crate) key_locks:
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Wakes the outbox worker when a callback is scheduled.
    pub(crate) outbox_wake: Arc<tokio::sync::Notify>,
    /// Tells the outbox worker to stop; also fired when the last handle to this state is dropped.
    pub(crate) outbox_stop: Arc<tokio::sync::Notify>,
    pub(crate) http: reqwest::Client,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The router (and with it every handle on the state) is gone: nothing can schedule new
        // callbacks any more, so let the worker of an `app()`-built instance exit promptly.
        self.outbox_stop.notify_one();
    }
}

/// Opens (or recovers) the state in `config.data_dir` and returns the simulator's router.
///
/// The callback outbox worker is spawned here with `tokio::spawn`; it keeps delivering pending
/// callbacks for as long as the returned router (or a clone of it) is alive.
pub async fn app(config: SimConfig) -> anyhow::Result<Router> {
    let (router, _worker) = build(config).await?;
    Ok(router)
}

/// Serves the simulator on `listener` (bind it to `127.0.0.1:0` for a random port) until
/// `shutdown` resolves, then shuts down gracefully and stops the callback worker.
///
/// Unlike [`app`], this waits for the outbox worker to stop before returning, so a new instance
/// can be started on the same `data_dir` right afterwards (as the restart tests do).
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (router, worker) = build(config).await?;
    let addr = listener.local_addr()?;
    info!(%addr, "supplier simulator listening");
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    worker.stop().await;
    info!(%addr, "supplier simulator stopped");
    result.map_err(Into::into)
}

/// Signature helper: lower-case hex of HMAC-SHA256(`secret`, `"{timestamp}.{body}"`).
///
/// The timestamp is part of the signed material so that a captured callback cannot be replayed
/// later with a fresh timestamp header; the receiver checks both.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn build(config: SimConfig) -> anyhow::Result<(Router, WorkerHandle)> {
    let data_dir = config.data_dir.clone();
    let state = tokio::task::spawn_blocking(move || State::open(&data_dir)).await??;
    info!(
        data_dir = %config.data_dir.display(),
        orders = state.orders.len(),
        calls = state.calls.len(),
        pending_callbacks = state.outbox_len(),
        "supplier simulator state recovered"
    );
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let shared = Arc::new(Shared {
        config,
        state: tokio::sync::Mutex::new(state),
        key_locks: Default::default(),
        outbox_wake: Arc::new(tokio::sync::Notify::new()),
        outbox_stop: Arc::new(tokio::sync::Notify::new()),
        http,
    });
    let worker = outbox::spawn(&shared);
    Ok((router(shared), worker))
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/orders", post(supplier::transfer))
        .route("/orders/{id}/validate", post(supplier::validate))
        .route("/orders/{id}/feasibility", post(supplier::feasibility))
        .route("/orders/{id}/plan", post(supplier::plan))
        .route("/orders/{id}/steps/{step_id}", post(supplier::step))
        .route("/orders/{id}/amendments", post(supplier::amendment))
        .route("/orders/{id}/cancellations", post(supplier::cancellation))
        .route("/orders/{id}/deactivate", post(supplier::deactivate))
        .route("/orders/{id}/reactivate", post(supplier::reactivate))
        .route("/admin/orders/{id}/{action}", post(admin::order_action))
        .route("/admin/unsolicited-cease", post(admin::unsolicited_cease))
        .route("/admin/calls", get(admin::calls))
        .with_state(shared)
}
