//! Every size bound is refused with 422 VALIDATION_FAILED naming the field, before anything
//! is created or sent.

use super::*;
use orderflow_domain::limits::*;

#[tokio::test(flavor = "multi_thread")]
async fn oversized_fields_are_refused_by_name_and_create_nothing() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("big");
    let mut body = order(&id, &[]);
    body["order_ref"] = json!("R".repeat(5_000));
    body["notes"] = json!("n".repeat(MAX_NOTES_BYTES + 1));
    body["customer"] = json!({ "name": "c".repeat(MAX_OBJECT_BYTES) });
    let attributes: serde_json::Map<String, Value> = (0..=MAX_ATTRIBUTES)
        .map(|i| (format!("k{i}"), json!("v")))
        .collect();
    body["attributes"] = Value::Object(attributes);
    let line = body["lines"][0].clone();
    body["lines"] = Value::Array(
        (0..=MAX_LINES)
            .map(|i| {
                let mut l = line.clone();
                l["line_id"] = json!(format!("l{i}"));
                l
            })
            .collect(),
    );
    let r = acme.post("/v1/orders", &body).await.unwrap();
    let named = fields(&r);
    for field in ["order_ref", "notes", "customer", "attributes", "lines"] {
        assert!(
            named.iter().any(|f| f == field),
            "{field} not named: {named:?}"
        );
    }
    assert_no_internal_text(&r.body);
    assert_eq!(
        acme.get(&format!("/v1/orders/{id}")).await.unwrap().status,
        404
    );

    // One attribute value over its bound, and a key over its bound.
    let mut body = order(&id, &[]);
    body["attributes"] = json!({ "k": "v".repeat(MAX_ATTRIBUTE_VALUE_CHARS + 1), "x".repeat(MAX_ATTRIBUTE_KEY_CHARS + 1): "v" });
    assert_eq!(
        fields(&acme.post("/v1/orders", &body).await.unwrap()).len(),
        2
    );
    // At the bounds it is taken.
    let mut body = order(&id, &[]);
    body["order_ref"] = json!("R".repeat(MAX_ID_CHARS));
    body["notes"] = json!("n".repeat(MAX_NOTES_BYTES));
    submit(&acme, &body).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_requests_on_an_order_are_refused_by_name() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = running_order(stack, "bigreq").await;
    let long = "r".repeat(MAX_REASON_BYTES + 1);
    let r = acme
        .post(
            &format!("/v1/orders/{id}/cancel"),
            &json!({ "reason": long }),
        )
        .await
        .unwrap();
    assert_eq!(fields(&r), ["reason"]);
    let r = acme
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({ "order_ref": format!("PO-{id}"), "changes": { "customer": { "x": "c".repeat(MAX_OBJECT_BYTES) } } })),
        )
        .await
        .unwrap();
    assert_eq!(fields(&r), ["changes"]);
    let r = stack
        .operator()
        .post(
            &format!("/v1/orders/{id}/suspend?tenant_id=acme"),
            &json!({ "reason": long }),
        )
        .await
        .unwrap();
    assert_eq!(fields(&r), ["reason"]);
    // None of them reached the order.
    let events = events(&acme, &id).await;
    assert!(
        events.iter().all(|e| e["type"] != "CANCELLATION_REQUESTED"),
        "{events:?}"
    );
    assert_eq!(
        acme.get(&format!("/v1/orders/{id}")).await.unwrap().body["state"],
        "EXECUTION"
    );
}
