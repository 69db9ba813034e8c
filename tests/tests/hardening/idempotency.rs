//! Idempotency keys: one key, one request. A key first used for a cancellation cannot name an
//! amendment or a reactivation, and `POST /v1/orders` with a key makes one order only.

use super::*;

async fn send_keyed(
    stack: &Stack,
    method: reqwest::Method,
    path: &str,
    body: &Value,
    key: &str,
) -> Reply {
    stack
        .acme()
        .send_with_headers(
            method,
            path,
            Some(body),
            &[("Idempotency-Key", key.to_string())],
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancellation_key_cannot_name_an_amendment_or_a_reactivation() {
    let stack = stack().await;
    let id = new_id("keys");
    let body = order(
        &id,
        &[
            ("sim.steps", "1"),
            ("sim.step_ms", "60000"),
            ("sim.cancel", "pending-RE"),
            ("sim.answer_ms", "60000"),
        ],
    );
    submit(&stack.acme(), &body).await;
    wait_state(&stack.acme(), &id, "EXECUTION", T).await;
    let key = format!("K1-{id}");
    let cancel = json!({ "reason": "changed my mind" });
    let first = send_keyed(
        stack,
        reqwest::Method::POST,
        &format!("/v1/orders/{id}/cancel"),
        &cancel,
        &key,
    )
    .await;
    assert!(first.status.is_success(), "{}", first.body);
    // The amendment's changes are the cancellation's own content: still another kind.
    let changes = json!({ "order_ref": format!("PO-{id}"), "changes": { "reason": "changed my mind", "reason_code": null, "effective_at": null } });
    let started = std::time::Instant::now();
    let r = send_keyed(
        stack,
        reqwest::Method::PATCH,
        &format!("/v1/orders/{id}"),
        &changes,
        &key,
    )
    .await;
    assert_error(&r, 422, "IDEMPOTENCY_KEY_REUSED");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once, not after a timeout"
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("a cancellation"),
        "{}",
        r.body
    );
    let r = send_keyed(
        stack,
        reqwest::Method::POST,
        &format!("/v1/orders/{id}/reactivate"),
        &json!({}),
        &key,
    )
    .await;
    assert_error(&r, 422, "IDEMPOTENCY_KEY_REUSED");
    // The cancellation itself, repeated, answers with the first one.
    let again = send_keyed(
        stack,
        reqwest::Method::POST,
        &format!("/v1/orders/{id}/cancel"),
        &cancel,
        &key,
    )
    .await;
    assert_eq!(
        again.body["cancellation"]["cancellation_id"],
        first.body["cancellation"]["cancellation_id"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_key_makes_one_order_whatever_the_retries() {
    let stack = stack().await;
    let key = format!("order-{}", uuid::Uuid::now_v7());
    let mut body = order("unused", &[("sim.steps", "1")]);
    body.as_object_mut().unwrap().remove("order_id");
    // Three at once and one later: one order, one 201.
    let sends = (0..3).map(|_| send_keyed(stack, reqwest::Method::POST, "/v1/orders", &body, &key));
    let mut replies = futures::future::join_all(sends).await;
    replies.push(send_keyed(stack, reqwest::Method::POST, "/v1/orders", &body, &key).await);
    let ids: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|r| {
            assert!(matches!(r.status.as_u16(), 200 | 201), "{}", r.body);
            r.body["order_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    let id = ids.into_iter().next().unwrap();
    wait_state(&stack.acme(), &id, "COMPLETE", T).await;
    // The same key with another request is refused, and makes nothing.
    body["order_ref"] = json!("another");
    let r = send_keyed(stack, reqwest::Method::POST, "/v1/orders", &body, &key).await;
    assert_error(&r, 422, "IDEMPOTENCY_KEY_REUSED");
    let list = stack.acme().get("/v1/orders?limit=1000").await.unwrap();
    let made = list.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["order_ref"] == "another")
        .count();
    assert_eq!(made, 0);
    // Keys are the tenant's own: globex may use the same one.
    let r = stack
        .globex()
        .send_with_headers(
            reqwest::Method::POST,
            "/v1/orders",
            Some(&body),
            &[("Idempotency-Key", key.clone())],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_cannot_adopt_an_order_made_without_it() {
    let stack = stack().await;
    let id = format!("taken-{}", uuid::Uuid::now_v7());
    let body = order(&id, &[("sim.steps", "1")]);
    let r = stack.acme().post("/v1/orders", &body).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    // A keyed request for the same id is a duplicate, not a repeat of that order …
    let key = format!("adopt-{}", uuid::Uuid::now_v7());
    let r = send_keyed(stack, reqwest::Method::POST, "/v1/orders", &body, &key).await;
    assert_error(&r, 409, "DUPLICATE_ORDER");
    // … and the key stays free for a request that can make its order.
    let mut fresh = body.clone();
    fresh.as_object_mut().unwrap().remove("order_id");
    let r = send_keyed(stack, reqwest::Method::POST, "/v1/orders", &fresh, &key).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["order_id"], json!(id));
}
