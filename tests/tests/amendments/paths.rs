//! The two ways an amendment is applied: restarting the lifecycle from
//! PRE_QUALIFICATION_FAILED, or patching a running order with the supplier's answer now or
//! later (or never).

use super::*;

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
    maybe_record_history(stack, "acme", &id, "amend_rejected").await;
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

    wait_state(&acme, &id, "COMPLETE", T).await;
}

/// Amends `notes` of `id` (the supplier answers PENDING and stays silent) and waits until the
/// amendment EXPIRED; its id and resource.
async fn expired_amendment(acme: &ApiClient, id: &str, notes: &str) -> (String, Value) {
    let r = patch(acme, id, json!({ "notes": notes }), &[]).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let aid = r.body["amendment"]["amendment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let start = std::time::Instant::now();
    loop {
        let a = acme
            .get(&format!("/v1/orders/{id}/amendments/{aid}"))
            .await
            .unwrap()
            .body;
        if a["state"] == "EXPIRED" {
            return (aid, a);
        }
        assert!(start.elapsed() < T, "still {a}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_supplier_expires_the_amendment_and_a_late_accept_still_applies() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("patch-silent");
    let knobs = [
        ("sim.steps", "6"),
        ("sim.step_ms", "4000"),
        ("sim.amend", "pending-silent"),
    ];
    submit(&acme, &order(&id, &knobs)).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let (aid, a) = expired_amendment(&acme, &id, "hello?").await;
    assert!(
        a["reason"].as_str().unwrap().contains("did not answer"),
        "{a}"
    );
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(
        (&o["revision"], &o["pending_request"]),
        (&json!(1), &Value::Null),
        "{o}"
    );
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types.last().map(String::as_str), Some("AMENDMENT_EXPIRED"));

    // The supplier accepts after all, while the plan still runs: applied, marked late.
    let (status, answer) = stack
        .supplier_callback(&decision(&id, &aid, "ACCEPT"))
        .await;
    assert_eq!(status, 202, "{answer}");
    let o = wait_for(&acme, &id, T, |o| o["revision"] == 2).await;
    assert_eq!(o["notes"], "hello?");
    let a = acme
        .get(&format!("/v1/orders/{id}/amendments/{aid}"))
        .await
        .unwrap()
        .body;
    assert_eq!(
        (&a["state"], &a["late"]),
        (&json!("ACCEPTED"), &json!(true)),
        "{a}"
    );
    // Decided: a second decision is refused.
    let (status, answer) = stack
        .supplier_callback(&decision(&id, &aid, "REJECT"))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("REQUEST_CLOSED"))
    );
    wait_state(&acme, &id, "COMPLETE", T).await;
    maybe_record_history(stack, "acme", &id, "amend_expired_late_accept").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_accept_on_an_ended_order_and_an_amendment_the_supplier_refuses_change_nothing() {
    let stack = stack().await;
    let acme = stack.acme();
    // Expired, then the order completes: a late ACCEPT can no longer apply.
    let id = new_id("patch-ended");
    let knobs = [
        ("sim.steps", "3"),
        ("sim.step_ms", "3500"),
        ("sim.amend", "pending-silent"),
    ];
    submit(&acme, &order(&id, &knobs)).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let (aid, _) = expired_amendment(&acme, &id, "too late").await;
    wait_state(&acme, &id, "COMPLETE", T).await;
    let (status, answer) = stack
        .supplier_callback(&decision(&id, &aid, "ACCEPT"))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("REQUEST_CLOSED")),
        "{answer}"
    );
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(
        (&o["revision"], &o["notes"]),
        (&json!(1), &json!("test order")),
        "{o}"
    );

    // A supplier that refuses to take amendments at all (HTTP 422): FAILED, at once.
    let id = new_id("patch-refused");
    let knobs = [
        ("sim.steps", "3"),
        ("sim.step_ms", "2000"),
        ("sim.amend", "refuse"),
    ];
    submit(&acme, &order(&id, &knobs)).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let r = patch(&acme, &id, json!({ "notes": "x" }), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = &r.body["amendment"];
    assert_eq!(a["state"], "FAILED", "{a}");
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("takes no amendments"),
        "{a}"
    );
    assert_eq!(r.body["order"]["revision"], 1);
    let types = assert_gapless(&events(&acme, &id).await);
    assert!(types.iter().any(|t| t == "AMENDMENT_FAILED"), "{types:?}");
    wait_state(&acme, &id, "COMPLETE", T).await;
}
