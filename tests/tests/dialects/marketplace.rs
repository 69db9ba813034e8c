//! Seed 002 at `/compat/marketplace`: the marketplace's states, its two cancellation methods
//! and when each is refused, and deleting a draft.

use super::*;

fn path(id: &str) -> String {
    format!("/compat/marketplace/orders/{id}")
}

async fn state_event(client: &ApiClient, id: &str, event: &str) -> Reply {
    let body = json!({ "order": { "state_event": event } });
    send(client, reqwest::Method::PATCH, &path(id), Some(&body)).await
}

async fn marketplace_state(client: &ApiClient, id: &str) -> Value {
    let r = client.get(&path(id)).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["order"]["state"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_placed_order_is_cancelled_by_consumer_and_never_reaches_the_supplier() {
    let stack = stack().await;
    let acme = stack.acme();
    // Every supplier call fails twice first: the order sits in retries before its transfer.
    let id = new_id("mp-placed");
    submit(&acme, &order(&id, &[("sim.flaky", "3")])).await;
    assert_eq!(marketplace_state(&acme, &id).await, "placed");

    // Not transferred: there is nothing to ask of the supplier, and nothing changes.
    let r = state_event(&acme, &id, "request_cancelation").await;
    assert_error(&r, 409, "USE_CANCEL_BY_CONSUMER");
    assert!(
        events_of(&acme, &id, "CANCELLATION_PENDING")
            .await
            .is_empty()
    );

    let r = state_event(&acme, &id, "cancel_by_consumer").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "canceled_by_consumer");
    assert_eq!(r.body["order"]["orderflow_state"], "CANCELLED");
    assert_eq!(r.body["order"]["cancelation"]["path"], "CONSUMER");
    assert_eq!(marketplace_state(&acme, &id).await, "canceled_by_consumer");

    // The core API shows the same order, cancelled by the tenant, with the event.
    let o = core_order(&acme, &id).await;
    assert_eq!(o["state"], "CANCELLED");
    assert_eq!(o["cancelled_by"], "TENANT");
    assert_eq!(o["transferred"], false);
    let accepted = events_of(&acme, &id, "CANCELLATION_ACCEPTED").await;
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert_eq!(accepted[0]["actor"]["type"], "TENANT");
    let c = r.body["order"]["cancelation"]["cancellation_id"]
        .as_str()
        .unwrap();
    let res = acme
        .get(&format!("/v1/orders/{id}/cancellations/{c}"))
        .await
        .unwrap();
    assert_eq!(res.body["reason"], "marketplace: cancel_by_consumer");
    wait_closed(stack, "acme", &id, T).await;
    let calls = stack.sim_calls("acme", &id).await;
    let transfers: Vec<_> = calls.iter().filter(|c| c["path"] == "/orders").collect();
    assert!(
        transfers.iter().all(|c| c["status"].as_u64() >= Some(500)),
        "{transfers:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c["path"].as_str().unwrap().contains("/cancellations"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transferred_order_needs_a_cancelation_request_which_the_supplier_decides() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("mp-ap");
    submit(&acme, &order(&id, &[("sim.step_ms", "4000")])).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    assert_eq!(marketplace_state(&acme, &id).await, "execution");

    let r = state_event(&acme, &id, "cancel_by_consumer").await;
    assert_error(&r, 409, "USE_REQUEST_CANCELATION");
    assert!(
        events_of(&acme, &id, "CANCELLATION_ACCEPTED")
            .await
            .is_empty()
    );

    let r = state_event(&acme, &id, "request_cancelation").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["cancelation"]["path"], "SUPPLIER");
    assert_eq!(r.body["order"]["cancelation"]["response_code"], "AP");
    assert_eq!(r.body["order"]["state"], "canceled_by_supplier");
    assert_eq!(core_order(&acme, &id).await["state"], "CANCELLED");
    assert_eq!(wait_for_call(stack, &id, "/cancellations").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_cancelation_request_lets_the_order_move_on() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("mp-re");
    submit(
        &acme,
        &order(&id, &[("sim.cancel", "RE"), ("sim.step_ms", "1000")]),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let r = state_event(&acme, &id, "request_cancelation").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["cancelation"]["state"], "REJECTED");
    assert_eq!(r.body["order"]["state"], "execution");
    wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(marketplace_state(&acme, &id).await, "complete");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_transfer_is_transfer_failed_and_cancelled_by_consumer() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("mp-tf");
    submit(&acme, &order(&id, &[("sim.refuse_once", "transfer")])).await;
    wait_state(&acme, &id, "ERROR_HANDLER", T).await;
    assert_eq!(marketplace_state(&acme, &id).await, "transfer_failed");
    let r = state_event(&acme, &id, "cancel_by_consumer").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "canceled_by_consumer");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_state_events_drafts_and_other_tenants() {
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let id = new_id("mp-draft");
    let mut body = order(&id, &[]);
    body["place"] = json!(false);
    let r = acme.post("/v1/orders", &body).await.unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(marketplace_state(&acme, &id).await, "draft");

    // Anything but the two state events is refused, and so are unknown fields.
    let r = state_event(&acme, &id, "cancel").await;
    assert_error(&r, 422, "INVALID_STATE_EVENT");
    let extra = json!({ "order": { "state_event": "cancel_by_consumer", "colour": "red" } });
    let r = send(&acme, reqwest::Method::PATCH, &path(&id), Some(&extra)).await;
    assert_error(&r, 422, "UNKNOWN_FIELD");
    // A draft is deleted, not cancelled.
    let r = state_event(&acme, &id, "cancel_by_consumer").await;
    assert_error(&r, 409, "NOT_CANCELLABLE");

    // Another tenant's order does not exist for it, and its delete changes nothing.
    assert_eq!(globex.get(&path(&id)).await.unwrap().status, 404);
    let r = send(&globex, reqwest::Method::DELETE, &path(&id), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = state_event(&globex, &id, "cancel_by_consumer").await;
    assert_eq!(r.status, 404, "{}", r.body);

    let r = send(&acme, reqwest::Method::DELETE, &path(&id), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(acme.get(&path(&id)).await.unwrap().status, 404);

    // A placed order is not deleted.
    let placed = new_id("mp-placed-delete");
    submit(&acme, &order(&placed, &[("sim.steps", "1")])).await;
    let r = send(&acme, reqwest::Method::DELETE, &path(&placed), None).await;
    assert_error(&r, 409, "NOT_DRAFT");
    assert_eq!(acme.get(&path(&placed)).await.unwrap().status, 200);
}
