//! Seed 004 at `/compat/subscriptions`: cancel and reactivate a subscription now or at a date,
//! answered in the seed's shape, recorded like the core API's requests.

use super::*;

async fn post(client: &ApiClient, id: &str, action: &str, body: Value) -> Reply {
    let path = format!("/compat/subscriptions/orders/{id}/{action}");
    client.post(&path, &body).await.unwrap()
}

fn day(offset_days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(offset_days))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_is_cancelled_and_reactivated_now_and_at_a_date() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("subs");
    let mut body = order(&id, &[("sim.step_ms", "0")]);
    body["recurring"] = json!(true);
    submit(&acme, &body).await;
    wait_state(&acme, &id, "ACTIVE", T).await;

    // A later date: still ACTIVE, the cancellation scheduled.
    let r = post(
        &acme,
        &id,
        "cancel",
        json!({ "order": { "effective_date": day(30) } }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["status"], "ACTIVE");
    assert_eq!(r.body["order"]["id"], json!(id));
    let line = &r.body["order"]["lines"][0];
    assert_eq!(line["item_name"], "FIBRE-1G");
    assert!(
        line["total"].as_str().is_some_and(|t| !t.is_empty()),
        "{line}"
    );
    assert!(r.body["order"]["total"].is_string(), "{}", r.body);
    let o = core_order(&acme, &id).await;
    assert!(o["scheduled_cancellation"].is_object(), "{o}");
    let scheduled = events_of(&acme, &id, "CANCELLATION_SCHEDULED").await;
    assert_eq!(scheduled.len(), 1);
    assert_eq!(r.body["event_uuid"], scheduled[0]["event_uuid"]);

    // Reactivating today removes the schedule; the answer is the event alone.
    let r = post(
        &acme,
        &id,
        "reactivate",
        json!({ "account": { "effective_date": day(0) } }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.as_object().unwrap().len(), 1, "{}", r.body);
    let removed = events_of(&acme, &id, "SCHEDULED_CANCELLATION_REMOVED").await;
    assert_eq!(r.body["event_uuid"], removed[0]["event_uuid"]);
    assert_eq!(
        core_order(&acme, &id).await["scheduled_cancellation"],
        Value::Null
    );

    // Today (or earlier): INACTIVE now, and the reason names the dialect.
    let r = post(
        &acme,
        &id,
        "cancel",
        json!({ "order": { "effective_date": day(0) } }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["status"], "INACTIVE");
    let deactivated = events_of(&acme, &id, "ORDER_DEACTIVATED").await;
    assert_eq!(r.body["event_uuid"], deactivated[0]["event_uuid"]);
    assert_eq!(deactivated[0]["actor"]["type"], "TENANT");
    let cancellations = acme
        .get(&format!("/v1/orders/{id}/cancellations"))
        .await
        .unwrap();
    let reasons: Vec<_> = cancellations.body["cancellations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].clone())
        .collect();
    assert!(
        reasons.iter().all(|r| r == "subscriptions: cancel"),
        "{reasons:?}"
    );

    let r = post(
        &acme,
        &id,
        "reactivate",
        json!({ "account": { "effective_date": day(-3) } }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(core_order(&acme, &id).await["state"], "ACTIVE");
    assert_eq!(events_of(&acme, &id, "ORDER_REACTIVATED").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_change_nothing() {
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let id = new_id("subs-bad");
    let mut body = order(&id, &[("sim.step_ms", "0")]);
    body["recurring"] = json!(true);
    submit(&acme, &body).await;
    wait_state(&acme, &id, "ACTIVE", T).await;
    let before = events(&acme, &id).await.len();

    let today = day(0);
    let refusals = [
        (
            &acme,
            "cancel",
            json!({ "order": { "effective_date": "tomorrow" } }),
            422,
            "INVALID_FIELD",
        ),
        (
            &acme,
            "cancel",
            json!({ "account": { "effective_date": today } }),
            422,
            "UNKNOWN_FIELD",
        ),
        (
            &acme,
            "reactivate",
            json!({ "account": { "effective_date": today } }),
            409,
            "NOT_REACTIVATABLE",
        ),
        (
            &globex,
            "cancel",
            json!({ "order": { "effective_date": today } }),
            404,
            "NOT_FOUND",
        ),
    ];
    for (client, action, body, status, code) in refusals {
        assert_error(&post(client, &id, action, body).await, status, code);
    }
    assert_eq!(events(&acme, &id).await.len(), before);
    assert_eq!(core_order(&acme, &id).await["state"], "ACTIVE");
}
