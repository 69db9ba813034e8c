//! Cancelling an order that is still being fulfilled: the consumer path before the transfer,
//! the supplier's answers (at once, later, refused), and the point of no return.

use super::*;

/// A cancel sent the moment an order is accepted ends it, every time. It used to race the
/// order's first activity: the server refused the workflow task that answered the Update and
/// closed the run (`UnhandledCommand`), the client got a 503, yet the database said
/// CANCELLED while the order went on to COMPLETE. And a cancel that came before the order's
/// first event was recorded (START) was refused with "try again": on a loaded cluster that
/// was most of them. Now it waits for that event and is never refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_right_after_the_submit_is_answered_and_holds() {
    let stack = stack().await;
    let acme = stack.acme();
    for i in 0..15 {
        let id = new_id(&format!("instant{i}"));
        submit(&acme, &order(&id, &[("sim.steps", "2")])).await;
        let r = cancel(&acme, &id, json!({ "reason": "ordered by mistake" })).await;
        assert_eq!(r.status, 200, "attempt {i}: {}", r.body);
        assert_eq!(
            r.body["order"]["state"], "CANCELLED",
            "attempt {i}: {}",
            r.body
        );
        let ended = wait_for(&acme, &id, Duration::from_secs(30), |o| {
            matches!(o["state"].as_str(), Some("CANCELLED" | "COMPLETE"))
        })
        .await;
        assert_eq!(ended["state"], "CANCELLED", "attempt {i}: {ended}");
        let types = assert_gapless(&events(&acme, &id).await);
        assert_eq!(
            types.first().map(String::as_str),
            Some("ORDER_ACKNOWLEDGED")
        );
        assert_eq!(
            types.last().map(String::as_str),
            Some("CANCELLATION_ACCEPTED"),
            "{types:?}"
        );
        maybe_record_history(stack, "acme", &id, "cancel_right_after_submit").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_path_cancels_before_transfer_and_the_supplier_never_gets_it() {
    let stack = stack().await;
    let acme = stack.acme();
    // Every supplier call fails twice first: the order sits in retries before its transfer.
    let id = new_id("consumer");
    submit(&acme, &order(&id, &[("sim.flaky", "3")])).await;
    let r = cancel(&acme, &id, json!({ "reason": "ordered by mistake" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = &r.body["cancellation"];
    assert_eq!(c["state"], "ACCEPTED");
    assert_eq!(c["path"], "CONSUMER");
    assert_eq!(c["response_code"], Value::Null);
    assert_eq!(r.body["order"]["state"], "CANCELLED");
    assert_eq!(r.body["order"]["transferred"], false);
    assert_eq!(
        r.body["order"]["lines"][0]["line_id"], "l1",
        "lines are preserved"
    );
    assert_event(&acme, &id, &r.body["event_uuid"], "CANCELLATION_ACCEPTED").await;
    // Read-your-writes, and the resource.
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["state"], "CANCELLED");
    let cid = c["cancellation_id"].as_str().unwrap();
    let res = acme
        .get(&format!("/v1/orders/{id}/cancellations/{cid}"))
        .await
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["state"], "ACCEPTED");
    // The in-flight call was cancelled and the workflow closed: nothing more reaches the
    // supplier (a call already on the wire lands within the watch).
    wait_closed(stack, "acme", &id, T).await;
    assert_unchanged_for("the supplier calls", Duration::from_secs(1), || async {
        stack.sim_calls("acme", &id).await.len()
    })
    .await;
    assert_eq!(transfers(stack, &id).await, 0);
    assert!(calls_to(stack, &id, "/cancellations").await.is_empty());
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types.last().unwrap(), "CANCELLATION_ACCEPTED");
    maybe_record_history(stack, "acme", &id, "cancel_consumer_path").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_failed_in_error_handler_is_cancelled_by_the_consumer() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("stuck");
    submit(&acme, &order(&id, &[("sim.flaky", "100")])).await;
    let o = wait_state(&acme, &id, "ERROR_HANDLER", T).await;
    assert_eq!(o["transferred"], false);
    let r = cancel(&acme, &id, json!({ "reason": "supplier unreachable" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancellation"]["path"], "CONSUMER");
    assert_eq!(r.body["order"]["state"], "CANCELLED");
    assert_eq!(transfers(stack, &id).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn supplier_accepts_at_once_and_the_running_step_is_cancelled() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = executing(&acme, "ap", &[("sim.step_ms", "4000")]).await;
    let r = cancel(
        &acme,
        &id,
        json!({ "reason": "no longer needed", "reason_code": "CHANGED_PLANS" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = &r.body["cancellation"];
    assert_eq!(c["state"], "ACCEPTED");
    assert_eq!(c["path"], "SUPPLIER");
    assert_eq!(c["response_code"], "AP");
    assert_eq!(c["reason_code"], "CHANGED_PLANS");
    assert_eq!(r.body["order"]["state"], "CANCELLED");
    assert_event(&acme, &id, &r.body["event_uuid"], "CANCELLATION_ACCEPTED").await;
    let calls = calls_to(stack, &id, "/cancellations").await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let cid = c["cancellation_id"].as_str().unwrap();
    assert_eq!(
        calls[0]["idempotency_key"],
        format!("order/acme/{id}/r1/cancel/{cid}")
    );
    let types = assert_gapless(&events(&acme, &id).await);
    let tail: Vec<_> = types.iter().rev().take(2).rev().cloned().collect();
    assert_eq!(tail, ["CANCELLATION_PENDING", "CANCELLATION_ACCEPTED"]);
    // The step in flight was abandoned and the workflow closed: no second step can be called.
    wait_closed(stack, "acme", &id, T).await;
    assert!(calls_to(stack, &id, "/steps/step-2").await.is_empty());
    assert_eq!(
        acme.get(&format!("/v1/orders/{id}")).await.unwrap().body["state"],
        "CANCELLED"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn supplier_rejects_and_the_order_carries_on() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = executing(
        &acme,
        "re",
        &[("sim.cancel", "RE"), ("sim.step_ms", "1000")],
    )
    .await;
    let r = cancel(&acme, &id, json!({ "reason": "try" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancellation"]["state"], "REJECTED");
    assert_eq!(r.body["cancellation"]["response_code"], "RE");
    assert!(
        r.body["cancellation"]["decision_reason"]
            .as_str()
            .unwrap()
            .contains("refused")
    );
    assert_eq!(r.body["order"]["pending_request"], Value::Null);
    assert_event(&acme, &id, &r.body["event_uuid"], "CANCELLATION_REJECTED").await;
    wait_state(&acme, &id, "COMPLETE", T).await;
    let _ = stack;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_cancellation_blocks_others_then_the_callback_decides() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = executing(
        &acme,
        "pending",
        &[
            ("sim.cancel", "pending-AP"),
            ("sim.answer_ms", "2500"),
            ("sim.step_ms", "5000"),
        ],
    )
    .await;
    let r = cancel(&acme, &id, json!({ "reason": "budget cut" })).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["cancellation"]["state"], "PENDING");
    assert_eq!(r.body["order"]["pending_request"]["kind"], "CANCELLATION");
    assert_event(&acme, &id, &r.body["event_uuid"], "CANCELLATION_PENDING").await;
    // One request at a time: a second cancellation and any amendment wait their turn.
    let again = cancel(&acme, &id, json!({ "reason": "again" })).await;
    assert_eq!(
        (again.status.as_u16(), code(&again)),
        (409, "REQUEST_IN_PROGRESS")
    );
    let amend = amend_notes(&acme, &id, "x").await;
    assert_eq!(
        (amend.status.as_u16(), code(&amend)),
        (409, "REQUEST_IN_PROGRESS")
    );
    let o = wait_state(&acme, &id, "CANCELLED", T).await;
    assert_eq!(o["pending_request"], Value::Null);
    let cid = r.body["cancellation"]["cancellation_id"].as_str().unwrap();
    let res = acme
        .get(&format!("/v1/orders/{id}/cancellations/{cid}"))
        .await
        .unwrap()
        .body;
    assert_eq!(res["state"], "ACCEPTED");
    assert_eq!(res["response_code"], "AP");
    maybe_record_history(stack, "acme", &id, "cancel_pending_callback").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_cancellation_supersedes_a_pending_amendment() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = executing(
        &acme,
        "supersede",
        &[
            ("sim.amend", "pending-accept"),
            ("sim.answer_ms", "20000"),
            ("sim.step_ms", "5000"),
        ],
    )
    .await;
    let amend = amend_notes(&acme, &id, "later").await;
    assert_eq!(amend.status, 202, "{}", amend.body);
    // A pending amendment does not block a cancellation.
    let r = cancel(&acme, &id, json!({ "reason": "stop" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "CANCELLED");
    let aid = amend.body["amendment"]["amendment_id"].as_str().unwrap();
    let a = wait_for_request(
        &acme,
        &format!("/v1/orders/{id}/amendments/{aid}"),
        "SUPERSEDED",
    )
    .await;
    assert!(a["reason"].as_str().unwrap().contains("CANCELLED"), "{a}");
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types.last().unwrap(), "AMENDMENT_SUPERSEDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_point_of_no_return_the_supplier_rejects() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("ponr");
    submit(
        &acme,
        &order(
            &id,
            &[("sim.point_of_no_return", "1"), ("sim.step_ms", "1500")],
        ),
    )
    .await;
    wait_for(&acme, &id, T, |o| {
        o["plan"]["steps"][0]["point_of_no_return"] == true && o["state"] == "EXECUTION"
    })
    .await;
    wait_for_call(stack, &id, "/steps/step-1").await;
    let caps = acme
        .get(&format!("/v1/orders/{id}/capabilities"))
        .await
        .unwrap()
        .body;
    assert_eq!(
        (&caps["cancellable"], &caps["point_of_no_return_passed"]),
        (&json!(true), &json!(true)),
        "{caps}"
    );
    assert!(
        caps["cancel_reason"]
            .as_str()
            .unwrap()
            .contains("expected to refuse"),
        "{caps}"
    );
    let r = cancel(&acme, &id, json!({ "reason": "too late?" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancellation"]["state"], "REJECTED");
    assert_eq!(r.body["cancellation"]["response_code"], "RE");
    assert!(
        r.body["cancellation"]["decision_reason"]
            .as_str()
            .unwrap()
            .contains("point of no return")
    );
    wait_state(&acme, &id, "COMPLETE", T).await;
}
