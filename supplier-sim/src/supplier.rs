//! The supplier interface orderflow's activities call: validate, transfer, feasibility, plan,
//! steps, amendments, cancellations, and a subscription's deactivations and reactivations,
//! each a POST that answers in JSON.
//!
//! Every POST goes through [`handle`], which implements the parts a real supplier gets right
//! once for all endpoints: the `Idempotency-Key` (a repeated key replays the stored answer and
//! has no second effect), the `sim.flaky` failures, the unknown-order check and the call log.
//! The endpoint-specific part is [`decide::decide`], a pure function of the state and the
//! request.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tracing::{debug, error, info};

mod decide;

use crate::Shared;
use crate::journal::{CallRecord, Entry};
use crate::knobs::Knobs;
use decide::decide;

/// The supplier operation a request asks for.
#[derive(Clone, Debug)]
enum Op {
    Validate,
    Transfer,
    Feasibility,
    Plan,
    Step(String),
    Amendment,
    Cancellation,
    /// A subscription the tenant deactivated (`true`) or reactivated (`false`).
    Service {
        deactivate: bool,
    },
}

pub async fn transfer(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, Op::Transfer, None, uri, headers, body).await
}

pub async fn validate(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, Op::Validate, Some(id), uri, headers, body).await
}

pub async fn feasibility(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, Op::Feasibility, Some(id), uri, headers, body).await
}

pub async fn plan(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, Op::Plan, Some(id), uri, headers, body).await
}

pub async fn step(
    State(s): State<Arc<Shared>>,
    Path((id, step_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, Op::Step(step_id), Some(id), uri, headers, body).await
}

pub async fn amendment(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, Op::Amendment, Some(id), uri, headers, body).await
}

pub async fn cancellation(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, Op::Cancellation, Some(id), uri, headers, body).await
}

pub async fn deactivate(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = Op::Service { deactivate: true };
    handle(s, op, Some(id), uri, headers, body).await
}

pub async fn reactivate(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = Op::Service { deactivate: false };
    handle(s, op, Some(id), uri, headers, body).await
}

/// `true` for a non-empty string of `[A-Za-z0-9._-]`.
pub(crate) fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Splits a supplier order id `tenant:order` into its parts, if well formed.
pub(crate) fn split_id(id: &str) -> Option<(&str, &str)> {
    let (tenant, order) = id.split_once(':')?;
    (valid_part(tenant) && valid_part(order)).then_some((tenant, order))
}

/// The supplier order id of a transfer, from `order.tenant_id` and `order.order_id`.
fn transfer_id(body: &Map<String, Value>) -> Result<String, String> {
    let order = body
        .get("order")
        .and_then(Value::as_object)
        .ok_or("body must contain an \"order\" object")?;
    let part = |field: &str| {
        order
            .get(field)
            .and_then(Value::as_str)
            .filter(|s| valid_part(s))
            .ok_or(format!("order.{field} must be a string of [A-Za-z0-9._-]"))
    };
    Ok(format!("{}:{}", part("tenant_id")?, part("order_id")?))
}

/// Parses a request body into a JSON object. An empty body counts as `{}` so that bare calls
/// (e.g. from curl) work for endpoints that need nothing but the stored order.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("body must be a JSON object".into()),
        Err(e) => Err(format!("malformed JSON body: {e}")),
    }
}

pub(crate) fn json_response(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

pub(crate) fn error_response(status: u16, message: impl Into<String>) -> Response {
    json_response(status, json!({ "error": message.into() }))
}

async fn handle(
    shared: Arc<Shared>,
    op: Op,
    path_id: Option<String>,
    uri: Uri,
    headers: HeaderMap,
    raw_body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    let parsed = parse_object(&raw_body);
    let order_id = match &op {
        Op::Transfer => parsed.as_ref().ok().and_then(|b| transfer_id(b).ok()),
        _ => path_id.clone(),
    };
    let mut call = CallRecord {
        method: "POST".into(),
        path: path.clone(),
        order_id,
        idempotency_key: key.clone(),
        status: 0,
        replayed: false,
        at: String::new(),
    };

    let Some(key) = key else {
        return log_and_answer(
            &shared,
            call,
            400,
            json!({"error": "missing Idempotency-Key header"}),
        )
        .await;
    };
    // Keys are scoped to the endpoint: a client that (wrongly) reused a key for a different
    // call gets that call processed rather than some other endpoint's answer.
    let scope = format!("POST {path} {key}");
    let key_lock = {
        let mut locks = shared.key_locks.lock().expect("key lock map poisoned");
        locks.entry(scope.clone()).or_default().clone()
    };
    let guard = key_lock.lock_owned().await;

    let response = process(&shared, op, path_id, &scope, parsed, &mut call).await;

    {
        // Forget the per-key lock unless another request for the same key is waiting on it.
        let mut locks = shared.key_locks.lock().expect("key lock map poisoned");
        if Arc::strong_count(tokio::sync::OwnedMutexGuard::mutex(&guard)) == 2 {
            locks.remove(&scope);
        }
    }
    drop(guard);
    response
}

/// Records a call that is answered without being processed (and without storing the answer).
async fn log_and_answer(
    shared: &Shared,
    mut call: CallRecord,
    status: u16,
    body: Value,
) -> Response {
    call.status = status;
    call.at = chrono::Utc::now().to_rfc3339();
    let mut st = shared.state.lock().await;
    if let Err(e) = st.commit(vec![Entry::Call(call)]) {
        error!(error = %e, "journal write failed");
    }
    json_response(status, body)
}

async fn process(
    shared: &Shared,
    op: Op,
    path_id: Option<String>,
    scope: &str,
    parsed: Result<Map<String, Value>, String>,
    call: &mut CallRecord,
) -> Response {
    let mut st = shared.state.lock().await;
    let mut finish = |status: u16, replayed: bool| {
        call.status = status;
        call.replayed = replayed;
        call.at = chrono::Utc::now().to_rfc3339();
        Entry::Call(call.clone())
    };

    if let Some(stored) = st.responses.get(scope).cloned() {
        debug!(scope, status = stored.status, "replaying stored answer");
        let entry = finish(stored.status, true);
        if let Err(e) = st.commit(vec![entry]) {
            error!(error = %e, "journal write failed");
        }
        let mut response = json_response(stored.status, stored.body);
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return response;
    }

    let fail = |st: &mut crate::journal::State, entry: Entry, status: u16, msg: String| {
        if let Err(e) = st.commit(vec![entry]) {
            error!(error = %e, "journal write failed");
        }
        error_response(status, msg)
    };

    let body = match parsed {
        Ok(body) => body,
        Err(msg) => return fail(&mut st, finish(400, false), 400, msg),
    };
    let id = match &op {
        Op::Transfer => match transfer_id(&body) {
            Ok(id) => id,
            Err(msg) => return fail(&mut st, finish(400, false), 400, msg),
        },
        _ => {
            let id = path_id.unwrap_or_default();
            if split_id(&id).is_none() {
                let msg = "order id must be {tenant_id}:{order_id}".to_owned();
                return fail(&mut st, finish(400, false), 400, msg);
            }
            id
        }
    };

    // Knobs come from the order in the request when it carries attributes (it is the latest
    // version orderflow knows), else from the order received by the transfer.
    let body_order = body.get("order").filter(|o| o.is_object());
    let knobs = match body_order {
        Some(o) if o.get("attributes").is_some_and(Value::is_object) => Knobs::from_order(Some(o)),
        _ => Knobs::from_order(st.orders.get(&id)),
    };

    let failures = st.flaky.get(scope).copied().unwrap_or(0);
    if failures < knobs.flaky {
        info!(
            scope,
            attempt = failures + 1,
            of = knobs.flaky,
            status = knobs.flaky_status,
            "simulating a flaky failure"
        );
        let entries = vec![
            Entry::Flaky {
                scope: scope.to_owned(),
                failures: failures + 1,
            },
            finish(knobs.flaky_status, false),
        ];
        if let Err(e) = st.commit(entries) {
            error!(error = %e, "journal write failed");
        }
        return error_response(knobs.flaky_status, "simulated supplier failure (sim.flaky)");
    }

    let operation = match &op {
        Op::Validate => "validate",
        Op::Transfer => "transfer",
        Op::Feasibility => "feasibility",
        Op::Plan => "plan",
        Op::Step(_) => "step",
        _ => "",
    };
    let refused = format!("refused-once:{id}:{operation}");
    if knobs.refuse_once.as_deref() == Some(operation) && !st.flaky.contains_key(&refused) {
        info!(%id, operation, "refusing the first call (sim.refuse_once)");
        let entries = vec![
            Entry::Flaky {
                scope: refused,
                failures: 1,
            },
            finish(422, false),
        ];
        if let Err(e) = st.commit(entries) {
            error!(error = %e, "journal write failed");
        }
        return error_response(422, format!("{operation} refused once (sim.refuse_once)"));
    }

    if !matches!(op, Op::Validate | Op::Transfer) && !st.orders.contains_key(&id) {
        return fail(&mut st, finish(404, false), 404, "unknown order".into());
    }

    let decision = match decide(&st, &op, &id, &body, &knobs) {
        Ok(d) => d,
        Err(msg) => return fail(&mut st, finish(400, false), 400, msg),
    };
    let has_callback = decision
        .effects
        .iter()
        .any(|e| matches!(e, Entry::Callback { .. }));
    let mut entries = decision.effects;
    entries.push(Entry::Response {
        scope: scope.to_owned(),
        status: decision.status,
        body: decision.body.clone(),
    });
    entries.push(finish(decision.status, false));
    if let Err(e) = st.commit(entries) {
        // Nothing was applied; the client's retry (same key) will be processed afresh.
        error!(error = %e, "journal write failed");
        return error_response(500, "supplier could not persist the call");
    }
    drop(st);
    if has_callback {
        shared.outbox_wake.notify_one();
    }
    debug!(scope, status = decision.status, "call processed");

    if let Some(ms) = decision.work_ms {
        // The state lock is released: other orders (and other steps) proceed meanwhile. A retry
        // with the same key waits on the per-key lock and then gets the stored answer.
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    json_response(decision.status, decision.body)
}
