//! Admin endpoints: make the supplier act on its own (cancel, amend, hold, resume, raise an
//! unsolicited cease) and inspect the calls it received. They are for tests and operators, so
//! they need no idempotency key and are not themselves listed in `GET /admin/calls`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::{error, info};

use crate::Shared;
use crate::outbox::{new_callback, now_ms};
use crate::supplier::{error_response, json_response, parse_object, split_id, valid_part};

/// `POST /admin/orders/{id}/{cancel|amend|hold|resume}`.
///
/// `{id}` is the supplier order id `tenant:order`; a bare tenant order id is also accepted when
/// exactly one tenant has an order with that id (handy when driving the simulator by hand).
pub async fn order_action(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(msg) => return error_response(400, msg),
    };
    let reason = |default: &str| {
        body.get("reason")
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let (kind, extra) = match action.as_str() {
        "cancel" => (
            "SUPPLIER_CANCEL",
            json!({"reason": reason("cancelled by the supplier")}),
        ),
        "amend" => match body.get("changes") {
            Some(changes @ Value::Object(_)) => ("SUPPLIER_AMEND", json!({"changes": changes})),
            _ => return error_response(400, "body must contain a \"changes\" object"),
        },
        "hold" => ("HOLD", json!({"reason": reason("held by the supplier")})),
        "resume" => match body.get("reason").and_then(Value::as_str) {
            Some(r) => ("RESUME", json!({"reason": r})),
            None => ("RESUME", json!({})),
        },
        _ => return error_response(404, format!("unknown admin action {action:?}")),
    };

    let mut st = shared.state.lock().await;
    let resolved = if split_id(&id).is_some() {
        st.orders.contains_key(&id).then(|| id.clone())
    } else {
        let suffix = format!(":{id}");
        let mut matches = st.orders.keys().filter(|k| k.ends_with(&suffix));
        match (matches.next(), matches.next()) {
            (Some(only), None) => Some(only.clone()),
            (Some(_), Some(_)) => {
                return error_response(
                    409,
                    format!("order id {id:?} is ambiguous; use tenant_id:order_id"),
                );
            }
            _ => None,
        }
    };
    let Some(id) = resolved else {
        return error_response(404, "unknown order");
    };
    let (callback_id, entry) = new_callback(kind, &id, st.orders.get(&id), now_ms(), extra);
    if let Err(e) = st.commit(vec![entry]) {
        error!(error = %e, "journal write failed");
        return error_response(500, "could not persist the callback");
    }
    drop(st);
    shared.outbox_wake.notify_one();
    info!(order = %id, kind, %callback_id, "supplier-initiated callback scheduled");
    json_response(202, json!({"callback_id": callback_id}))
}

/// `POST /admin/unsolicited-cease` with `{tenant_id, order_id, order_ref}`: the supplier raises
/// a cease for a service the tenant did not ask to cease (the order need not be known here).
pub async fn unsolicited_cease(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match parse_object(&body) {
        Ok(b) => b,
        Err(msg) => return error_response(400, msg),
    };
    let part = |field: &str| {
        body.get(field)
            .and_then(Value::as_str)
            .filter(|s| valid_part(s))
    };
    let (Some(tenant_id), Some(order_id)) = (part("tenant_id"), part("order_id")) else {
        return error_response(
            400,
            "body must contain tenant_id and order_id as strings of [A-Za-z0-9._-]",
        );
    };
    let mut extra = serde_json::Map::new();
    for field in ["order_ref", "reason"] {
        if let Some(v) = body.get(field).and_then(Value::as_str) {
            extra.insert(field.into(), json!(v));
        }
    }
    // Attributes (e.g. `sim.*` knobs) the raised order should carry.
    if let Some(attributes @ Value::Object(_)) = body.get("attributes") {
        extra.insert("attributes".into(), attributes.clone());
    }
    let id = format!("{tenant_id}:{order_id}");
    // The supplier raised this order itself, so it knows it from now on (later calls about
    // it, such as its plan steps, are answered like any transferred order's).
    let mut order = extra.clone();
    order.insert("order_id".into(), json!(order_id));
    order.insert("tenant_id".into(), json!(tenant_id));
    order.insert("unsolicited".into(), json!(true));
    let mut st = shared.state.lock().await;
    let (callback_id, entry) = new_callback(
        "UNSOLICITED_CEASE",
        &id,
        st.orders.get(&id),
        now_ms(),
        Value::Object(extra),
    );
    let known = crate::journal::Entry::Order {
        id: id.clone(),
        order: Value::Object(order),
    };
    if let Err(e) = st.commit(vec![known, entry]) {
        error!(error = %e, "journal write failed");
        return error_response(500, "could not persist the callback");
    }
    drop(st);
    shared.outbox_wake.notify_one();
    info!(order = %id, %callback_id, "unsolicited cease scheduled");
    json_response(202, json!({"callback_id": callback_id}))
}

/// `GET /admin/calls[?order_id=]`: every supplier call received, oldest first. The filter
/// matches the `tenant:order` form, or the bare tenant order id.
pub async fn calls(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let filter = query.get("order_id").filter(|f| !f.is_empty());
    let st = shared.state.lock().await;
    let list: Vec<_> = st
        .calls
        .iter()
        .filter(|c| match (filter, &c.order_id) {
            (None, _) => true,
            (Some(f), Some(id)) => id == f || id.split_once(':').is_some_and(|(_, o)| o == f),
            (Some(_), None) => false,
        })
        .collect();
    Json(list).into_response()
}
