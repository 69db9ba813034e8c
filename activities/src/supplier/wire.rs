//! The supplier calls on the wire: what each call sends (its path and JSON body) and how its
//! answer is read. The activities send exactly these requests, and the contract test
//! (`contract_tests.rs`) checks them, and the simulator's answers, against
//! `docs/supplier-openapi.json`, so that the document cannot drift from what is sent.

use super::{permanent, required};
use orderflow_workflows::activities::{
    AmendAnswer, AmendCall, CancelAnswer, CancelCall, NoticeCall, PlanProposal, StepOutcome,
    SupplierCall, Verdict,
};
use serde_json::{Value, json};
use temporalio_sdk::activities::ActivityError;

/// One supplier call: always a `POST` of `body` to `path` below the supplier's base URL.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub path: String,
    pub body: Value,
}

fn order_path(call: &SupplierCall, suffix: &str) -> String {
    format!("/orders/{}{suffix}", call.supplier_order_id())
}

/// `{"order": …}`: the document for validation and transfer, else the order's ids.
fn with_order(call: &SupplierCall, path: String) -> Request {
    Request {
        path,
        body: json!({ "order": call.order_json() }),
    }
}

pub fn validate(call: &SupplierCall) -> Request {
    with_order(call, order_path(call, "/validate"))
}

pub fn transfer(call: &SupplierCall) -> Request {
    with_order(call, "/orders".to_string())
}

pub fn feasibility(call: &SupplierCall) -> Request {
    with_order(call, order_path(call, "/feasibility"))
}

pub fn plan(call: &SupplierCall) -> Request {
    with_order(call, order_path(call, "/plan"))
}

pub fn step(call: &SupplierCall) -> Request {
    let step_id = call.step_id.clone().unwrap_or_default();
    with_order(call, order_path(call, &format!("/steps/{step_id}")))
}

pub fn amend(input: &AmendCall) -> Request {
    Request {
        path: order_path(&input.call, "/amendments"),
        body: json!({
            "amendment_id": input.amendment_id,
            "changes": input.changes,
            "order": input.call.order_json(),
        }),
    }
}

pub fn cancel(input: &CancelCall) -> Request {
    Request {
        path: order_path(&input.call, "/cancellations"),
        body: json!({
            "cancellation_id": input.cancellation_id,
            "reason": input.reason,
            "reason_code": input.reason_code,
            "order": input.call.order_json(),
        }),
    }
}

/// `/deactivate` or `/reactivate`: the subscription changed; the body names the request.
pub fn notify(input: &NoticeCall) -> Request {
    let n = &input.notice;
    Request {
        path: order_path(&input.call, &format!("/{}", n.kind.as_str())),
        body: json!({
            "request_id": n.request_id,
            "effective_at": n.effective_at,
            "reason": n.reason,
        }),
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: Value, path: &str) -> Result<T, ActivityError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        // The detail goes to the log: a failure message ends up in the order's events.
        tracing::warn!(%path, error = %e, %body, "supplier answer not understood");
        permanent(
            "SupplierProtocolError",
            format!("supplier answer to POST {path} is not understood"),
        )
    })
}

fn verdict(
    body: &Value,
    field: &str,
    pass: impl Fn(&Value) -> bool,
    path: &str,
) -> Result<Verdict, ActivityError> {
    let value = required(body, field, path)?;
    Ok(Verdict {
        passed: pass(value),
        reason: body
            .get("reason")
            .and_then(Value::as_str)
            .map(orderflow_domain::limits::clip),
    })
}

/// A validation passed if `result` is `"PASS"`; anything else fails it.
pub fn read_validation(body: &Value, path: &str) -> Result<Verdict, ActivityError> {
    verdict(body, "result", |v| v == "PASS", path)
}

/// Feasible if `feasible` is `true`; anything else is not.
pub fn read_feasibility(body: &Value, path: &str) -> Result<Verdict, ActivityError> {
    verdict(body, "feasible", |v| v == &Value::Bool(true), path)
}

pub fn read_plan(body: Value, path: &str) -> Result<PlanProposal, ActivityError> {
    let plan: PlanProposal = decode(body, path)?;
    if let Err(problem) = orderflow_domain::limits::check_plan(&plan) {
        return Err(permanent(
            "SupplierProtocolError",
            format!("the supplier proposed a plan orderflow cannot take: {problem}"),
        ));
    }
    Ok(plan)
}

pub fn read_step(body: &Value, path: &str) -> Result<StepOutcome, ActivityError> {
    match required(body, "status", path)?.as_str() {
        Some("DONE") => Ok(StepOutcome::Done),
        Some("ACCEPTED") => Ok(StepOutcome::Accepted),
        _ => {
            tracing::warn!(%path, %body, "unexpected step status");
            Err(permanent(
                "SupplierProtocolError",
                format!("unexpected step status from supplier on POST {path}"),
            ))
        }
    }
}

/// `ACCEPT`, `REJECT` or `PENDING`; an unknown decision does not decode: a permanent
/// protocol error.
pub fn read_amend(body: Value, path: &str) -> Result<AmendAnswer, ActivityError> {
    decode(body, path)
}

/// `AP`, `RE` or `PENDING`; an unknown response code does not decode: a permanent protocol
/// error.
pub fn read_cancel(body: Value, path: &str) -> Result<CancelAnswer, ActivityError> {
    decode(body, path)
}
