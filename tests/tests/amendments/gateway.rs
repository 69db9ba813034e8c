//! The gateway view (seeds/000): every answer, event and listing says the order's gateway
//! state, with the request the supplier is deciding shown over the state underneath.

use super::*;

async fn listed(acme: &ApiClient, gateway_state: &str) -> Vec<Value> {
    let r = acme
        .get(&format!(
            "/v1/orders?gateway_state={gateway_state}&limit=1000"
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["orders"].as_array().unwrap().clone()
}

fn ids(orders: &[Value]) -> Vec<&str> {
    orders
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_amendment_shows_over_the_lifecycle_and_every_event_says_the_gateway_state() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("gateway");
    let knobs = [
        ("sim.steps", "3"),
        ("sim.step_ms", "3000"),
        ("sim.amend", "pending-accept"),
        ("sim.answer_ms", "2000"),
    ];
    let placed = submit(&acme, &order(&id, &knobs)).await;
    assert_eq!(placed["gateway_state"], "ACKNOWLEDGED", "{placed}");
    let o = wait_state(&acme, &id, "EXECUTION", T).await;
    assert_eq!(o["gateway_state"], "IN_PROGRESS", "{o}");
    assert!(ids(&listed(&acme, "IN_PROGRESS").await).contains(&id.as_str()));

    let r = patch(&acme, &id, json!({ "notes": "ring twice" }), &[]).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "EXECUTION");
    assert_eq!(r.body["order"]["gateway_state"], "PENDING_AMENDMENT");
    let pending = listed(&acme, "PENDING_AMENDMENT").await;
    assert!(ids(&pending).contains(&id.as_str()), "{pending:?}");
    assert!(!ids(&listed(&acme, "IN_PROGRESS").await).contains(&id.as_str()));

    // The supplier accepts later: IN_PROGRESS again, then COMPLETED.
    let o = wait_for(&acme, &id, T, |o| o["notes"] == "ring twice").await;
    assert_ne!(o["gateway_state"], "PENDING_AMENDMENT", "{o}");
    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(done["gateway_state"], "COMPLETED");
    assert!(ids(&listed(&acme, "COMPLETED").await).contains(&id.as_str()));

    // Every event carries the gateway state the order had after it.
    let events = events(&acme, &id).await;
    assert_gapless(&events);
    let of = |t: &str| -> Vec<&str> {
        events
            .iter()
            .filter(|e| e["type"] == t)
            .map(|e| e["gateway_state"].as_str().unwrap())
            .collect()
    };
    assert_eq!(of("ORDER_ACKNOWLEDGED"), ["ACKNOWLEDGED"]);
    assert_eq!(of("AMENDMENT_PENDING"), ["PENDING_AMENDMENT"]);
    assert_eq!(of("AMENDMENT_ACCEPTED"), ["IN_PROGRESS"]);
    assert_eq!(events.last().unwrap()["gateway_state"], "COMPLETED");
    assert!(
        events.iter().all(|e| e["gateway_state"].is_string()),
        "{events:?}"
    );

    let r = acme
        .get("/v1/orders?gateway_state=in_progress")
        .await
        .unwrap();
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["code"].as_str()),
        (400, Some("INVALID_QUERY")),
        "{}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PENDING_CANCELLATION")
    );
}
