//! Supplier callbacks: a replay changes nothing, a supplier acts only on its own orders and
//! raises ceases only for tenants that allow it, and no timestamp breaks the check.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_hold_after_a_resume_changes_nothing() {
    let stack = stack().await;
    let id = running_order(stack, "replay").await;
    let hold =
        json!({ "type": "HOLD", "tenant_id": "acme", "order_id": id, "reason": "site closed" });
    let (status, first) = stack.supplier_callback(&hold).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["state"], "SUSPENDED");
    let resume = json!({ "type": "RESUME", "tenant_id": "acme", "order_id": id });
    let (status, answer) = stack.supplier_callback(&resume).await;
    assert_eq!(
        (status, answer["state"].as_str()),
        (200, Some("EXECUTION")),
        "{answer}"
    );
    // The captured HOLD, sent again: the first outcome, and the order carries on.
    let (status, replayed) = stack.supplier_callback(&hold).await;
    assert_eq!((status, &replayed), (200, &first));
    let order = stack.acme().get(&format!("/v1/orders/{id}")).await.unwrap();
    assert_eq!(order.body["state"], "EXECUTION", "{}", order.body);
    let holds = events(&stack.acme(), &id)
        .await
        .iter()
        .filter(|e| e["state"] == "SUSPENDED")
        .count();
    assert_eq!(holds, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_supplier_acts_only_on_its_orders_and_tenants_that_allow_it() {
    let stack = stack().await;
    // An order of acme's exists, but the callback names it for globex: not found.
    let id = running_order(stack, "foreign").await;
    let hold = json!({ "type": "HOLD", "tenant_id": "globex", "order_id": id });
    let (status, answer) = stack.supplier_callback(&hold).await;
    assert_eq!(status, 404, "{answer}");
    // A cease for a tenant that does not exist: the same answer as for one that does not
    // take ceases from this supplier.
    let cease =
        json!({ "type": "UNSOLICITED_CEASE", "tenant_id": "nobody", "order_id": new_id("cease") });
    let (status, answer) = stack.supplier_callback(&cease).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("UNKNOWN_TENANT")),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn extreme_timestamps_are_refused_not_panicked_on() {
    let stack = stack().await;
    let body = json!({ "type": "HOLD", "tenant_id": "acme", "order_id": "x" });
    for timestamp in [i64::MIN, i64::MAX, -1, 0] {
        let (status, answer) = stack.supplier_callback_at(&body, timestamp).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (401, Some("INVALID_SIGNATURE")),
            "{timestamp}"
        );
    }
    // The API is still up.
    assert_eq!(
        reqwest::get(format!("{}/livez", stack.api_url))
            .await
            .unwrap()
            .status(),
        200
    );
}
