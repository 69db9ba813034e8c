//! What an amendment may not do, and what it does only once: refusals that leave no trace,
//! idempotency keys that replay the answer, concurrent patches of one revision, and preview and
//! capabilities that change nothing.

use super::*;

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

/// Twenty PATCHes sent at once: one opens the amendment, the other nineteen are refused while
/// it is PENDING. The API queues one order's Updates, so a request may be checked some time
/// after it was sent (any instant before its answer is a fair place to check it); the supplier
/// therefore answers only when the test says, after all twenty have their answer, and a
/// request checked after a quick decision cannot pass as a second winner.
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
                ("sim.step_ms", "3000"),
                ("sim.amend", "pending-silent"),
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
    let amendment = &won[0].body["amendment"];
    assert_eq!(amendment["state"], "PENDING", "{amendment}");
    let aid = amendment["amendment_id"].as_str().unwrap();
    let (status, answer) = stack.supplier_callback(&decision(&id, aid, "ACCEPT")).await;
    assert_eq!(status, 202, "{answer}");
    let o = wait_for(&acme, &id, T, |o| o["revision"] == 2).await;
    assert_eq!(o["notes"], amendment["changes"]["notes"], "no lost update");
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
