//! Inputs of every supplier call, built as the workflow builds them, and the client the
//! contract tests send them with.

use super::super::wire::{self, Request};
use orderflow_domain::model::OrderDocument;
use orderflow_workflows::activities::{AmendCall, CancelCall, NoticeCall, SupplierCall};
use serde_json::{Value, json};

pub(super) fn document(order_id: &str, attributes: Value) -> OrderDocument {
    serde_json::from_value(json!({
        "order_id": order_id, "order_ref": format!("PO-{order_id}"), "tenant_id": "acme",
        "supplier_id": "sim", "order_type": "PROVIDE", "currency": "EUR",
        "requested_date": "2027-01-15", "attributes": attributes,
        "lines": [{"line_id": "l1", "product_code": "FIBRE-1G", "quantity": 2,
                   "unit_price": "49.90", "action": "ADD", "tax_rate": "20"}],
    }))
    .expect("an order document")
}

/// The input of a call about order `acme:{order_id}`, carrying `document` when given.
pub(super) fn call(order_id: &str, step: &str, document: Option<OrderDocument>) -> SupplierCall {
    let workflow_id = format!("order/acme/{order_id}");
    SupplierCall {
        supplier_id: "sim".into(),
        idempotency_key: orderflow_domain::rules::idempotency_key(&workflow_id, 2, step, 0),
        target: format!("acme:{order_id}"),
        order_ref: format!("PO-{order_id}"),
        revision: 2,
        order: document,
        // As `Order::call`: a plan step (not a stage call, nor a request's `kind/id`) names itself.
        step_id: (!step.contains('/') && !orderflow_domain::calls::STAGE_CALLS.contains(&step))
            .then(|| step.to_string()),
    }
}

pub(super) fn amend_call(order_id: &str) -> AmendCall {
    AmendCall {
        call: call(order_id, "amend/a-1", None),
        amendment_id: "a-1".into(),
        changes: json!({"notes": "ring first", "contact": null}),
    }
}

pub(super) fn cancel_call(order_id: &str, reason_code: Option<&str>) -> CancelCall {
    CancelCall {
        call: call(order_id, "cancel/c-1", None),
        cancellation_id: "c-1".into(),
        reason: "moving house".into(),
        reason_code: reason_code.map(String::from),
    }
}

pub(super) fn notice_call(order_id: &str, kind: &str, reason: Option<&str>) -> NoticeCall {
    let step = format!("{kind}/r-1");
    serde_json::from_value(json!({
        "call": call(order_id, &step, None),
        "notice": {"kind": kind.to_uppercase(), "request_id": "r-1",
                   "effective_at": "2027-01-01T00:00:00Z", "reason": reason},
    }))
    .expect("a notice call")
}

/// One request of every kind orderflow sends (and the variants of optional fields).
pub(super) fn requests() -> Vec<(Request, String)> {
    let doc = || Some(document("po-1", json!({"sim.steps": "2"})));
    let requests = vec![
        wire::validate(&call("po-1", "validate", doc())),
        wire::transfer(&call("po-1", "transfer", doc())),
        wire::feasibility(&call("po-1", "feasibility", None)),
        wire::plan(&call("po-1", "plan", None)),
        wire::step(&call("po-1", "step-1", None)),
        wire::amend(&amend_call("po-1")),
        wire::cancel(&cancel_call("po-1", Some("CUSTOMER_RETAINED"))),
        wire::cancel(&cancel_call("po-1", None)),
        wire::notify(&notice_call("po-1", "deactivate", Some("moving"))),
        wire::notify(&notice_call("po-1", "reactivate", None)),
    ];
    let keys = [
        "validate",
        "transfer",
        "feasibility",
        "plan",
        "step-1",
        "amend",
        "cancel",
        "cancel",
        "deactivate",
        "reactivate",
    ];
    requests.into_iter().zip(keys.map(String::from)).collect()
}

pub(super) fn client(base_url: &str) -> crate::supplier::SupplierClient {
    let supplier = orderflow_config::SupplierSettings {
        id: "sim".into(),
        base_url: base_url.into(),
        secret: super::sim::SECRET.into(),
        concurrent_amendments: false,
        peppol: None,
    };
    crate::supplier::SupplierClient::new(vec![supplier], std::time::Duration::from_secs(10))
        .unwrap()
}
