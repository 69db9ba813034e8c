//! A ProductOrder and a CancelProductOrder as TMF622 v5 JSON, from orderflow's order view
//! and cancellation. One rendering serves the dialect's answers and its notifications.

use super::{BASE, action, cancel_state, state};
use crate::model::{OrderView, RequestState};
use crate::requests::Cancellation;
use serde_json::{Map, Value, json};

/// The href of a ProductOrder.
pub fn href(order_id: &str) -> String {
    format!("{BASE}/productOrder/{order_id}")
}

/// A number for a decimal string (TMF's `Money.value` is a JSON number).
fn number(decimal: &str) -> Value {
    decimal
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// The order as a TMF622 `ProductOrder`.
pub fn product_order(view: &OrderView) -> Value {
    let d = &view.document;
    let state = state(view);
    let characteristics: Vec<Value> = d
        .attributes
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value, "valueType": "string", "@type": "StringCharacteristic" }))
        .collect();
    let items: Vec<Value> = d
        .lines
        .iter()
        .map(|l| {
            let mut money = Map::new();
            money.insert("value".into(), number(l.unit_price.as_ref()));
            if let Some(c) = &d.currency {
                money.insert("unit".into(), Value::String(c.clone()));
            }
            json!({
                "id": l.line_id.as_str(),
                "quantity": l.quantity,
                "action": action(l.action),
                // orderflow fulfils an order as one plan: each item is where the order is.
                "state": state,
                "product": {
                    "productSpecification": { "id": l.product_code, "@type": "ProductSpecificationRef" },
                    "productCharacteristic": characteristics,
                    "@type": "Product",
                },
                "itemPrice": [{ "priceType": "oneTime", "price": { "dutyFreeAmount": money, "@type": "Price" }, "@type": "OrderPrice" }],
                "@type": "ProductOrderItem",
            })
        })
        .collect();
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    put("id", json!(d.order_id.as_str()));
    put("href", json!(href(d.order_id.as_str())));
    put("@type", json!("ProductOrder"));
    put("state", json!(state));
    put("creationDate", json!(view.created_at));
    put("orderDate", json!(view.created_at));
    put(
        "externalId",
        json!([{ "id": d.order_ref, "@type": "ExternalIdentifier" }]),
    );
    put(
        "relatedParty",
        json!([{
            "role": "Supplier",
            "partyOrPartyRole": { "id": d.supplier_id.as_str(), "@type": "PartyRef", "@referredType": "Organization" },
            "@type": "RelatedPartyRefOrPartyRoleRef",
        }]),
    );
    put("productOrderItem", Value::Array(items));
    if let Some(date) = &d.requested_date {
        put(
            "requestedCompletionDate",
            json!(format!("{date}T00:00:00Z")),
        );
    }
    if let Some(notes) = &d.notes {
        let notes = notes
            .lines()
            .map(|t| json!({ "text": t, "@type": "Note" }))
            .collect();
        put("note", Value::Array(notes));
    }
    if matches!(state, "completed" | "cancelled" | "failed" | "rejected") {
        put("completionDate", json!(view.updated_at));
    }
    Value::Object(o)
}

/// A resource cut to `fields` (TMF's attribute selection): `id`, `href` and `@type` are
/// always kept. No `fields`: the whole resource.
pub fn select(resource: Value, fields: Option<&str>) -> Value {
    let (Some(fields), Value::Object(all)) = (fields, &resource) else {
        return resource;
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let kept = all
        .iter()
        .filter(|(k, _)| {
            matches!(k.as_str(), "id" | "href" | "@type") || wanted.contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// The href of a CancelProductOrder task.
pub fn task_href(id: &str) -> String {
    format!("{BASE}/cancelProductOrder/{id}")
}

/// The task id of cancellation `cancellation_id` of `order_id`: `{order id}~{cancellation
/// id}` (`~` is in no order id), so a task is found without a table of its own.
pub fn task_id(order_id: &str, cancellation_id: &str) -> String {
    format!("{order_id}~{cancellation_id}")
}

/// A cancellation of `order_id` as a TMF622 CancelProductOrder.
pub fn cancel_task(order_id: &str, c: &Cancellation) -> Value {
    let id = task_id(order_id, &c.cancellation_id);
    let mut t = Map::new();
    let mut put = |k: &str, v: Value| {
        t.insert(k.to_string(), v);
    };
    put("href", json!(task_href(&id)));
    put("id", json!(id));
    put("@type", json!("CancelProductOrder"));
    put("state", json!(cancel_state(c.state)));
    put("cancellationReason", json!(c.reason));
    put("creationDate", json!(c.requested_at));
    put(
        "productOrder",
        json!({ "id": order_id, "href": href(order_id), "@type": "ProductOrderRef", "@referredType": "ProductOrder" }),
    );
    if let Some(at) = &c.effective_at {
        put("requestedCancellationDate", json!(at));
    }
    let effective = c.decided_at.as_ref().or(c.effective_at.as_ref());
    if let (RequestState::Accepted, Some(at)) = (c.state, effective) {
        put("effectiveCancellationDate", json!(at));
    }
    Value::Object(t)
}
