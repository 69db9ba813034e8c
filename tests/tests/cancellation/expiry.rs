//! Cancellations the supplier never decided: EXPIRED when it stays silent past the answer
//! timeout, FAILED when it refuses to take one at all, both without an invented
//! `response_code`; a late decision that still counts, and decisions on cancellations that can
//! no longer change, answered 409 `REQUEST_CLOSED` instead of a silent 202.

use super::*;

/// The supplier's decision on cancellation `cid` of order `id`, as its callback.
fn decision(id: &str, cid: &str, code: &str) -> Value {
    json!({
        "type": "CANCELLATION_DECISION",
        "callback_id": uuid::Uuid::now_v7().to_string(),
        "tenant_id": "acme",
        "order_id": id,
        "cancellation_id": cid,
        "response_code": code,
    })
}

/// Cancels `id` (the supplier answers PENDING) and waits until the cancellation EXPIRED; its
/// id and resource.
async fn expired_cancellation(acme: &ApiClient, id: &str) -> (String, Value) {
    let r = cancel(acme, id, json!({ "reason": "no answer?" })).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["cancellation"]["state"], "PENDING");
    let cid = r.body["cancellation"]["cancellation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/orders/{id}/cancellations/{cid}");
    let c = wait_for_request(acme, &path, "EXPIRED").await;
    (cid, c)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_supplier_expires_the_cancellation_and_a_late_ap_still_cancels() {
    let stack = stack().await;
    let acme = stack.acme();
    let knobs = [
        ("sim.cancel", "pending-silent"),
        ("sim.steps", "6"),
        ("sim.step_ms", "4000"),
    ];
    let id = executing(&acme, "silent", &knobs).await;
    let (cid, c) = expired_cancellation(&acme, &id).await;
    // No answer was given, so none is recorded.
    assert_eq!(c["response_code"], Value::Null, "{c}");
    assert!(c.get("late").is_none(), "{c}");
    let reason = c["decision_reason"].as_str().unwrap();
    assert!(reason.contains("did not answer within 6 s"), "{c}");
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["state"], "EXECUTION", "the order carries on: {o}");
    assert_eq!(o["pending_request"], Value::Null);
    assert_event(&acme, &id, &c["event_uuid"], "CANCELLATION_EXPIRED").await;

    // The supplier's AP comes after all: it still cancels the order.
    let (status, answer) = stack.supplier_callback(&decision(&id, &cid, "AP")).await;
    assert_eq!(status, 202, "{answer}");
    let o = wait_state(&acme, &id, "CANCELLED", T).await;
    assert_eq!(o["transferred"], true);
    let c = acme
        .get(&format!("/v1/orders/{id}/cancellations/{cid}"))
        .await
        .unwrap()
        .body;
    assert_eq!(
        (&c["state"], &c["response_code"], &c["late"]),
        (&json!("ACCEPTED"), &json!("AP"), &json!(true)),
        "{c}"
    );
    let types = assert_gapless(&events(&acme, &id).await);
    // Steps may complete in between; the cancellation's own events come in this order.
    let ours: Vec<_> = types
        .iter()
        .filter(|t| t.starts_with("CANCELLATION_"))
        .collect();
    assert_eq!(
        ours,
        [
            "CANCELLATION_PENDING",
            "CANCELLATION_EXPIRED",
            "CANCELLATION_ACCEPTED"
        ]
    );
    assert_eq!(types.last().unwrap(), "CANCELLATION_ACCEPTED");

    // Decided now: another decision is refused, and changes nothing.
    let (status, answer) = stack.supplier_callback(&decision(&id, &cid, "RE")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("REQUEST_CLOSED")),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ACCEPTED")
    );
    // A cancellation the order never had.
    let (status, answer) = stack
        .supplier_callback(&decision(&id, "no-such", "AP"))
        .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(assert_gapless(&events(&acme, &id).await), types);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_re_rejects_and_a_decision_after_the_order_ended_is_closed() {
    let stack = stack().await;
    let acme = stack.acme();
    let knobs = [
        ("sim.cancel", "pending-silent"),
        ("sim.steps", "8"),
        ("sim.step_ms", "4000"),
    ];
    let id = executing(&acme, "late-re", &knobs).await;
    let (first, _) = expired_cancellation(&acme, &id).await;
    let (status, answer) = stack.supplier_callback(&decision(&id, &first, "RE")).await;
    assert_eq!(status, 202, "{answer}");
    let path = format!("/v1/orders/{id}/cancellations/{first}");
    let c = wait_for_request(&acme, &path, "REJECTED").await;
    assert_eq!(
        (&c["response_code"], &c["late"]),
        (&json!("RE"), &json!(true))
    );
    assert_eq!(
        acme.get(&format!("/v1/orders/{id}")).await.unwrap().body["state"],
        "EXECUTION"
    );

    // A second cancellation expires too; then the supplier cancels the order on its own.
    let (second, _) = expired_cancellation(&acme, &id).await;
    let cease = json!({ "type": "SUPPLIER_CANCEL", "tenant_id": "acme", "order_id": id,
        "reason": "site demolished" });
    let (status, answer) = stack.supplier_callback(&cease).await;
    assert_eq!(status, 202, "{answer}");
    wait_state(&acme, &id, "CANCELLED", T).await;
    // Its late AP can change nothing now.
    let (status, answer) = stack.supplier_callback(&decision(&id, &second, "AP")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("REQUEST_CLOSED")),
        "{answer}"
    );
    let c = acme
        .get(&format!("/v1/orders/{id}/cancellations/{second}"))
        .await
        .unwrap()
        .body;
    assert_eq!(
        (&c["state"], &c["response_code"]),
        (&json!("EXPIRED"), &Value::Null)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancellation_the_supplier_refuses_to_take_fails_and_the_order_carries_on() {
    let stack = stack().await;
    let acme = stack.acme();
    let knobs = [
        ("sim.cancel", "refuse"),
        ("sim.steps", "3"),
        ("sim.step_ms", "2000"),
    ];
    let id = executing(&acme, "refused", &knobs).await;
    let r = cancel(&acme, &id, json!({ "reason": "please" })).await;
    // Refused outright (HTTP 422 from the supplier): no retries, answered at once.
    assert_eq!(r.status, 200, "{}", r.body);
    let c = &r.body["cancellation"];
    assert_eq!(
        (&c["state"], &c["response_code"]),
        (&json!("FAILED"), &Value::Null),
        "{c}"
    );
    let reason = c["decision_reason"].as_str().unwrap();
    assert!(reason.contains("could not take the cancellation"), "{c}");
    assert!(
        reason.contains("takes no cancellations"),
        "the supplier's reason: {c}"
    );
    assert_event(&acme, &id, &r.body["event_uuid"], "CANCELLATION_FAILED").await;
    assert_eq!(r.body["order"]["pending_request"], Value::Null);
    // A decision on it is refused: it never reached the supplier.
    let cid = c["cancellation_id"].as_str().unwrap();
    let (status, answer) = stack.supplier_callback(&decision(&id, cid, "AP")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("REQUEST_CLOSED"))
    );
    wait_state(&acme, &id, "COMPLETE", T).await;
}
