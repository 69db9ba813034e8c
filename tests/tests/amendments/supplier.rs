//! Amendments that involve the supplier mid-flight: one the supplier initiates, and a restart
//! while a supplier call is in flight.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn supplier_initiated_amendment_is_applied() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("supamend");
    submit(
        &acme,
        &order(&id, &[("sim.steps", "3"), ("sim.step_ms", "1500")]),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let r = reqwest::Client::new()
        .post(format!("{}/admin/orders/acme:{id}/amend", stack.sim_url))
        .json(&json!({ "changes": { "requested_date": "2027-03-01" }, "reason": "engineer shortage" }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let o = wait_for(&acme, &id, T, |o| o["revision"] == 2).await;
    assert_eq!(o["requested_date"], "2027-03-01");
    let events = events(&acme, &id).await;
    let e = events
        .iter()
        .find(|e| e["type"] == "ORDER_AMENDED_BY_SUPPLIER")
        .expect("supplier amendment event");
    assert_eq!(e["detail"]["changes"]["requested_date"], "2027-03-01");
    wait_state(&acme, &id, "COMPLETE", T).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_while_a_supplier_call_is_in_flight_cancels_it() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("restart-inflight");
    // The validation call fails three times before it succeeds, so it is still being retried
    // when the amendment arrives.
    submit(
        &acme,
        &order(&id, &[("sim.flaky", "3"), ("sim.step_ms", "0")]),
    )
    .await;
    wait_state(&acme, &id, "SUBMITTED", T).await;
    let r = patch(&acme, &id, json!({ "notes": "changed early" }), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["amendment"]["path"], "RESTART");
    assert_eq!(r.body["amendment"]["state"], "ACCEPTED");
    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(done["revision"], 2);
    assert_eq!(done["notes"], "changed early");
    // Everything after the amendment went out under revision 2; revision 1 never got past
    // validation.
    let calls = stack.sim_calls("acme", &id).await;
    let keys: Vec<&str> = calls
        .iter()
        .map(|c| c["idempotency_key"].as_str().unwrap())
        .collect();
    assert!(
        keys.iter()
            .all(|k| k.contains("/r2/") || k.ends_with("/r1/validate")),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.ends_with("/r2/transfer")));
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(
        types.iter().filter(|t| *t == "PLAN_STEP_COMPLETED").count(),
        3
    );
}
