//! A valid order body for the simulator supplier `sim`, shared by the integration tests and
//! the benchmark so that both drive the same kind of order.

use serde_json::{Value, json};

/// An order for supplier `sim` with one line; `knobs` become its attributes (the simulator's
/// `sim.*` settings, such as `sim.steps` or `sim.step_ms`).
pub fn order(order_id: &str, notes: &str, knobs: &[(&str, impl AsRef<str>)]) -> Value {
    let attributes: serde_json::Map<String, Value> = knobs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.as_ref().to_string())))
        .collect();
    json!({
        "order_id": order_id,
        "order_ref": format!("PO-{order_id}"),
        "supplier_id": "sim",
        "order_type": "PROVIDE",
        "customer": { "name": "Acme Ltd" },
        "contact": { "name": "Wile E.", "email": "wile@acme.test" },
        "site": { "address": "1 Desert Road" },
        "requested_date": "2026-12-01",
        "notes": notes,
        "attributes": attributes,
        "lines": [
            { "line_id": "l1", "product_code": "FIBRE-1G", "quantity": 1, "unit_price": "49.99", "action": "ADD" }
        ]
    })
}
