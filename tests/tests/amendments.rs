//! Amendments (SPEC §4) on a real stack: both paths, supplier answers now or later, every
//! refusal, idempotency and concurrency.

use orderflow_client::api_client::ApiClient;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::OnceCell;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "amendments").await
}

async fn patch(client: &ApiClient, id: &str, changes: Value, headers: &[(&str, String)]) -> Reply {
    client
        .send_with_headers(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({ "order_ref": format!("PO-{id}"), "changes": changes })),
            headers,
        )
        .await
        .unwrap()
}

fn code(r: &Reply) -> &str {
    r.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {}", r.body))
}

/// Counts the Updates the server accepted into the workflow's history.
async fn accepted_updates(stack: &Stack, id: &str) -> usize {
    use orderflow_workflows::OrderWorkflow;
    let client = stack.temporal().await;
    let events = client
        .get_workflow_handle::<OrderWorkflow>(format!("order/acme/{id}"))
        .fetch_history(Default::default())
        .into_events()
        .await
        .unwrap();
    events
        .iter()
        .filter(|e| format!("{:?}", e.event_type()).contains("UpdateAccepted"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_path_from_pre_qualification_failed_reruns_the_lifecycle() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("restart");
    submit(
        &acme,
        &order(&id, &[("sim.feasible", "false"), ("sim.step_ms", "0")]),
    )
    .await;
    let o = wait_state(&acme, &id, "PRE_QUALIFICATION_FAILED", T).await;
    assert_eq!(o["cause"], "FEASIBILITY");

    let r = patch(
        &acme,
        &id,
        json!({ "attributes": { "sim.feasible": "true" }, "notes": "fixed" }),
        &[("If-Match", "1".into())],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["amendment"]["state"], "ACCEPTED");
    assert_eq!(r.body["amendment"]["path"], "RESTART");
    assert_eq!(r.body["order"]["revision"], 2);
    // Read-your-writes.
    let now = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(now["revision"], 2);
    assert_eq!(now["notes"], "fixed");

    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(done["revision"], 2);
    assert_eq!(done["attributes"]["sim.feasible"], "true");
    let events = events(&acme, &id).await;
    let types = assert_gapless(&events);
    let at = types
        .iter()
        .position(|t| t == "AMENDMENT_ACCEPTED")
        .unwrap();
    assert_eq!(
        events[at + 1]["state"],
        "SUBMITTED",
        "the lifecycle restarts at SUBMITTED"
    );
    assert_eq!(events[at + 1]["revision"], 2);
    // The supplier got the amended order under revision-2 keys.
    let calls = stack.sim_calls("acme", &id).await;
    assert!(calls.iter().any(|c| {
        c["idempotency_key"]
            .as_str()
            .unwrap()
            .contains("/r2/feasibility")
    }));

    let amendment_id = r.body["amendment"]["amendment_id"].as_str().unwrap();
    let a = acme
        .get(&format!("/v1/orders/{id}/amendments/{amendment_id}"))
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.body["state"], "ACCEPTED");
    // Finished orders are not amendable.
    let r = patch(&acme, &id, json!({ "notes": "late" }), &[]).await;
    assert_eq!(r.status, 409);
    assert_eq!(code(&r), "NOT_AMENDABLE");
    maybe_record_history(stack, "acme", &id, "amend_restart").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_path_accepted_at_once_applies_to_the_remaining_steps() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("patch-ok");
    submit(
        &acme,
        &order(&id, &[("sim.steps", "3"), ("sim.step_ms", "800")]),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let r = patch(
        &acme,
        &id,
        json!({ "notes": "ring the bell", "requested_date": "2027-01-15" }),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["amendment"]["path"], "PATCH");
    assert_eq!(r.body["amendment"]["state"], "ACCEPTED");
    assert_eq!(r.body["order"]["revision"], 2);
    assert_eq!(r.body["order"]["notes"], "ring the bell");
    assert!(r.body["order"]["pending_request"].is_null());
    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(done["requested_date"], "2027-01-15");
    // Steps after the amendment were called with the new revision.
    let steps = calls_to(stack, &id, "/steps/").await;
    assert!(
        steps
            .iter()
            .any(|c| c["idempotency_key"].as_str().unwrap().contains("/r2/step-")),
        "{steps:?}"
    );
    let types = assert_gapless(&events(&acme, &id).await);
    assert!(types.contains(&"AMENDMENT_PENDING".to_string()));
    assert!(types.contains(&"AMENDMENT_ACCEPTED".to_string()));
    assert_eq!(calls_to(stack, &id, "/amendments").await.len(), 1);
    maybe_record_history(stack, "acme", &id, "amend_patch_accept").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_path_rejected_leaves_the_order_unchanged() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("patch-rej");
    submit(
        &acme,
        &order(
            &id,
            &[
                ("sim.steps", "3"),
                ("sim.step_ms", "800"),
                ("sim.amend", "reject"),
            ],
        ),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let r = patch(&acme, &id, json!({ "notes": "never" }), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["amendment"]["state"], "REJECTED");
    assert!(r.body["amendment"]["reason"].as_str().is_some());
    assert_eq!(r.body["order"]["revision"], 1);
    assert_eq!(r.body["order"]["notes"], "test order");
    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(done["notes"], "test order");
    assert_eq!(done["revision"], 1);
    let types = assert_gapless(&events(&acme, &id).await);
    assert!(types.contains(&"AMENDMENT_REJECTED".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_answer_by_callback_and_a_supplier_that_never_answers() {
    let stack = stack().await;
    let acme = stack.acme();
    // Decided later by a signed callback.
    let id = new_id("patch-later");
    submit(
        &acme,
        &order(
            &id,
            &[
                ("sim.steps", "3"),
                ("sim.step_ms", "1500"),
                ("sim.amend", "pending-accept"),
                ("sim.answer_ms", "2000"),
            ],
        ),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let r = patch(
        &acme,
        &id,
        json!({ "contact": { "name": "New Contact" } }),
        &[],
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["amendment"]["state"], "PENDING");
    assert_eq!(r.body["order"]["pending_request"]["kind"], "AMENDMENT");
    let seen = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(
        seen["pending_request"]["amendment_id"],
        r.body["amendment"]["amendment_id"]
    );
    // One amendment at a time.
    let second = patch(&acme, &id, json!({ "notes": "also" }), &[]).await;
    assert_eq!(second.status, 409);
    assert_eq!(code(&second), "REQUEST_IN_PROGRESS");
    let amendment_id = r.body["amendment"]["amendment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = wait_for(&acme, &id, T, |o| o["revision"] == 2).await;
    assert_eq!(o["contact"]["name"], "New Contact");
    assert!(o["pending_request"].is_null());
    let a = acme
        .get(&format!("/v1/orders/{id}/amendments/{amendment_id}"))
        .await
        .unwrap()
        .body;
    assert_eq!(a["state"], "ACCEPTED");
    wait_state(&acme, &id, "COMPLETE", T).await;

    // A supplier that keeps it PENDING past the answer timeout: REJECTED, order unchanged.
    let id = new_id("patch-silent");
    submit(
        &acme,
        &order(
            &id,
            &[
                ("sim.steps", "4"),
                ("sim.step_ms", "3000"),
                ("sim.amend", "pending-accept"),
                ("sim.answer_ms", "600000"),
            ],
        ),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let r = patch(&acme, &id, json!({ "notes": "hello?" }), &[]).await;
    assert_eq!(r.status, 202);
    let amendment_id = r.body["amendment"]["amendment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let start = std::time::Instant::now();
    loop {
        let a = acme
            .get(&format!("/v1/orders/{id}/amendments/{amendment_id}"))
            .await
            .unwrap()
            .body;
        if a["state"] == "REJECTED" {
            assert!(
                a["reason"].as_str().unwrap().contains("did not answer"),
                "{a}"
            );
            break;
        }
        assert!(start.elapsed() < T, "still {a}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["revision"], 1);
    assert!(o["pending_request"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_is_synchronous_and_leaves_no_trace() {
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let id = new_id("refuse");
    submit(
        &acme,
        &order(&id, &[("sim.steps", "3"), ("sim.step_ms", "2000")]),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let before = events(&acme, &id).await.len();
    let updates_before = accepted_updates(stack, &id).await;

    let wrong_ref = acme
        .send_with_headers(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({"order_ref": "nope", "changes": {"notes": "x"}})),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(wrong_ref.status, 422);
    assert_eq!(code(&wrong_ref), "ORDER_REF_MISMATCH");

    let r = patch(
        &acme,
        &id,
        json!({ "lines": [], "site": { "address": "elsewhere" } }),
        &[],
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(code(&r), "FIELD_NOT_AMENDABLE");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("lines") && message.contains("site"),
        "{message}"
    );

    let r = patch(&acme, &id, json!({ "supplier_id": "other" }), &[]).await;
    assert_eq!(r.status, 422, "{}", r.body);

    let r = patch(
        &acme,
        &id,
        json!({ "notes": "x" }),
        &[("If-Match", "7".into())],
    )
    .await;
    assert_eq!(r.status, 412, "{}", r.body);

    let r = patch(&globex, &id, json!({ "notes": "x" }), &[]).await;
    assert_eq!(r.status, 404);
    let r = patch(&acme, "no-such-order", json!({ "notes": "x" }), &[]).await;
    assert_eq!(r.status, 404);
    let r = acme
        .post_raw(&format!("/v1/orders/{id}"), "{", "application/json")
        .await
        .unwrap();
    assert_eq!(r.status, 405, "PATCH, not POST");

    // Nothing was written: no event, no update in the workflow history, same revision.
    assert_eq!(events(&acme, &id).await.len(), before);
    assert_eq!(accepted_updates(stack, &id).await, updates_before);
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["revision"], 1);

    // Validation-failed orders are final.
    let id = new_id("refuse-val");
    submit(&acme, &order(&id, &[("sim.validation", "fail")])).await;
    wait_state(&acme, &id, "PRE_QUALIFICATION_FAILED", T).await;
    let r = patch(&acme, &id, json!({ "notes": "x" }), &[]).await;
    assert_eq!(r.status, 409);
    assert_eq!(code(&r), "NOT_AMENDABLE");

    // An order waiting for an operator is not amendable.
    let id = new_id("refuse-eh");
    submit(
        &acme,
        &order(&id, &[("sim.fail_step", "1"), ("sim.step_ms", "0")]),
    )
    .await;
    wait_state(&acme, &id, "ERROR_HANDLER", T).await;
    let r = patch(&acme, &id, json!({ "notes": "x" }), &[]).await;
    assert_eq!(r.status, 409);
    assert_eq!(code(&r), "NOT_AMENDABLE");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operator"),
        "{}",
        r.body
    );

    // PRE_QUALIFICATION_FAILED (feasibility) refuses line cancellations.
    let id = new_id("refuse-cancel");
    submit(&acme, &order(&id, &[("sim.feasible", "false")])).await;
    wait_state(&acme, &id, "PRE_QUALIFICATION_FAILED", T).await;
    let r = patch(&acme, &id, json!({ "lines": [{ "line_id": "l1", "product_code": "FIBRE-1G", "quantity": 1, "unit_price": "49.99", "action": "CANCEL" }] }), &[]).await;
    assert_eq!(r.status, 422);
    assert_eq!(code(&r), "LINE_CANCEL_NOT_ALLOWED");
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotency_key_replays_the_same_answer() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("idem");
    submit(
        &acme,
        &order(&id, &[("sim.steps", "3"), ("sim.step_ms", "1500")]),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let key = [("Idempotency-Key", "amend-1".to_string())];
    let first = patch(&acme, &id, json!({ "notes": "once" }), &key).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = patch(&acme, &id, json!({ "notes": "once" }), &key).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        again.body["amendment"]["amendment_id"],
        first.body["amendment"]["amendment_id"]
    );
    assert_eq!(again.body["order"]["revision"], 2, "no second amendment");
    let other = patch(&acme, &id, json!({ "notes": "twice" }), &key).await;
    assert_eq!(other.status, 422);
    assert_eq!(code(&other), "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(calls_to(stack, &id, "/amendments").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_patches_accept_exactly_one() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("race");
    submit(
        &acme,
        &order(
            &id,
            &[
                ("sim.steps", "3"),
                ("sim.step_ms", "2000"),
                ("sim.amend", "pending-accept"),
                ("sim.answer_ms", "1500"),
            ],
        ),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let replies = futures_join_all((0..20).map(|i| {
        let acme = acme.clone();
        let id = id.clone();
        async move { patch(&acme, &id, json!({ "notes": format!("writer {i}") }), &[]).await }
    }))
    .await;
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status.is_success()).collect();
    let lost = replies
        .iter()
        .filter(|r| r.status == 409 && code(r) == "REQUEST_IN_PROGRESS")
        .count();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.body.to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(lost, 19);
    let winner_notes = won[0].body["amendment"]["changes"]["notes"].clone();
    let o = wait_for(&acme, &id, T, |o| o["revision"] == 2).await;
    assert_eq!(o["notes"], winner_notes, "no lost update");
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(
        types.iter().filter(|t| *t == "AMENDMENT_PENDING").count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_and_capabilities_change_nothing() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("preview");
    submit(
        &acme,
        &order(&id, &[("sim.steps", "3"), ("sim.step_ms", "1500")]),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let caps = acme
        .get(&format!("/v1/orders/{id}/capabilities"))
        .await
        .unwrap()
        .body;
    assert_eq!(caps["amendable"], true);
    assert_eq!(caps["amend_path"], "PATCH");
    assert_eq!(
        caps["patchable_fields"],
        json!(["contact", "notes", "requested_date"])
    );

    let body = json!({ "order_ref": format!("PO-{id}"), "changes": { "notes": "p", "lines": [] } });
    let p = acme
        .post(&format!("/v1/orders/{id}/amendments:preview"), &body)
        .await
        .unwrap();
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["allowed"], false);
    assert_eq!(p.body["refused_fields"], json!(["lines"]));
    let body = json!({ "order_ref": format!("PO-{id}"), "changes": { "notes": "p" } });
    let p = acme
        .post(&format!("/v1/orders/{id}/amendments:preview"), &body)
        .await
        .unwrap();
    assert_eq!(p.body["allowed"], true);
    assert_eq!(p.body["path"], "PATCH");
    assert_eq!(p.body["order"]["notes"], "p");
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["notes"], "test order");
    assert_eq!(o["revision"], 1);

    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(done["revision"], 1);
    let caps = acme
        .get(&format!("/v1/orders/{id}/capabilities"))
        .await
        .unwrap()
        .body;
    assert_eq!(caps["amendable"], false);
    assert!(
        caps["reason"].as_str().unwrap().contains("COMPLETE"),
        "{caps}"
    );
}

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

async fn futures_join_all<F: std::future::Future<Output = Reply> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<Reply> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = vec![];
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
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
