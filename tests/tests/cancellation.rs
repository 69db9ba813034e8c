//! Cancellation and reactivation (SPEC §5) on a real stack: the consumer and supplier paths,
//! supplier answers now or later, the point of no return, every refusal, unsolicited ceases,
//! supplier-initiated cancel and hold, and subscriptions with scheduled changes that survive
//! continue-as-new.

use orderflow_client::api_client::ApiClient;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::OnceCell;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "cancellation").await
}

async fn cancel(client: &ApiClient, id: &str, body: Value) -> Reply {
    client
        .post(&format!("/v1/orders/{id}/cancel"), &body)
        .await
        .unwrap()
}

async fn reactivate(client: &ApiClient, id: &str, body: Value) -> Reply {
    client
        .post(&format!("/v1/orders/{id}/reactivate"), &body)
        .await
        .unwrap()
}

/// Submits an order with these simulator knobs and waits until its plan executes.
async fn executing(acme: &ApiClient, prefix: &str, knobs: &[(&str, &str)]) -> String {
    let id = new_id(prefix);
    submit(acme, &order(&id, knobs)).await;
    wait_state(acme, &id, "EXECUTION", T).await;
    id
}

/// A tenant's amendment of `notes`.
async fn amend_notes(client: &ApiClient, id: &str, notes: &str) -> Reply {
    client
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({ "order_ref": format!("PO-{id}"), "changes": { "notes": notes } })),
        )
        .await
        .unwrap()
}

/// Polls a request resource (`/v1/orders/{id}/amendments/{aid}`, …) until it is in `state`.
async fn wait_for_request(client: &ApiClient, path: &str, state: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = client.get(path).await.unwrap().body;
        if last["state"] == state {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never became {state}: {last}");
}

fn code(r: &Reply) -> &str {
    r.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code ({}): {}", r.status, r.body))
}

/// RFC 3339, `secs` from now.
fn in_secs(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The event with this uuid must exist and be of type `kind`.
async fn assert_event(client: &ApiClient, id: &str, uuid: &Value, kind: &str) {
    let all = events(client, id).await;
    let found = all
        .iter()
        .find(|e| &e["event_uuid"] == uuid)
        .unwrap_or_else(|| panic!("no event {uuid} in {all:?}"));
    assert_eq!(found["type"], kind, "{found}");
}

/// Successful transfers (`POST /orders`) the simulator answered.
async fn transfers(stack: &Stack, id: &str) -> usize {
    stack
        .sim_calls("acme", id)
        .await
        .iter()
        .filter(|c| c["path"] == "/orders" && c["status"].as_u64().is_some_and(|s| s < 300))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_path_cancels_before_transfer_and_the_supplier_never_gets_it() {
    let stack = stack().await;
    let acme = stack.acme();
    // Every supplier call fails twice first: the order sits in retries before its transfer.
    let id = new_id("consumer");
    submit(&acme, &order(&id, &[("sim.flaky", "3")])).await;
    // Until its first event is recorded (START) the order answers "try again in a moment".
    wait_for(&acme, &id, Duration::from_secs(30), |o| {
        o["state"] != "START"
    })
    .await;
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
    // The in-flight call was cancelled: nothing more reaches the supplier.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(transfers(stack, &id).await, 0);
    let calls = stack.sim_calls("acme", &id).await.len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stack.sim_calls("acme", &id).await.len(), calls);
    assert!(calls_to(stack, &id, "/cancellations").await.is_empty());
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types.last().unwrap(), "CANCELLATION_ACCEPTED");
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
    // The step in flight was abandoned: no second step is ever called.
    tokio::time::sleep(Duration::from_secs(5)).await;
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
    // A pending amendment does not block a cancellation (seeds/000).
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
    while calls_to(stack, &id, "/steps/step-1").await.is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

#[tokio::test(flavor = "multi_thread")]
async fn refusals_change_nothing() {
    let stack = stack().await;
    let acme = stack.acme();
    // A draft was never placed: it is deleted, not cancelled.
    let draft = new_id("draft");
    let mut body = order(&draft, &[]);
    body["place"] = json!(false);
    submit(&acme, &body).await;
    let r = cancel(&acme, &draft, json!({ "reason": "x" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("DELETE")
    );
    let r = reactivate(&acme, &draft, json!({})).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_REACTIVATABLE"));
    // Terminal states.
    let done = new_id("done");
    submit(&acme, &order(&done, &[("sim.step_ms", "0")])).await;
    wait_state(&acme, &done, "COMPLETE", T).await;
    let r = cancel(&acme, &done, json!({ "reason": "late" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));
    // ERROR_HANDLER after transfer waits for an operator.
    let failed = new_id("failed");
    submit(&acme, &order(&failed, &[("sim.fail_step", "1")])).await;
    let o = wait_state(&acme, &failed, "ERROR_HANDLER", T).await;
    assert_eq!(o["transferred"], true);
    let r = cancel(&acme, &failed, json!({ "reason": "x" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operator")
    );
    let withdrawn = operate(&stack.operator(), &failed, "withdraw", json!({})).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    let r = cancel(&acme, &failed, json!({ "reason": "x" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));

    // Bad requests, on a live order.
    let live = executing(&acme, "live", &[("sim.step_ms", "3000")]).await;
    let before = events(&acme, &live).await.len();
    for (body, status, want) in [
        (json!({ "reason": "  " }), 422, "REASON_REQUIRED"),
        (json!({}), 400, "INVALID_FIELD"),
        (
            json!({ "reason": "x", "colour": "red" }),
            422,
            "UNKNOWN_FIELD",
        ),
        (
            json!({ "reason": "x", "effective_date": "2026-02-30" }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "reason": "x", "effective_date": "2030-01-01", "effective_at": "2030-01-01T00:00:00Z" }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "reason": "x", "effective_at": in_secs(3600) }),
            422,
            "SCHEDULE_NOT_ALLOWED",
        ),
    ] {
        let r = cancel(&acme, &live, body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (status, want),
            "{body}: {}",
            r.body
        );
    }
    let r = acme
        .send(
            reqwest::Method::POST,
            &format!("/v1/orders/{live}/cancel"),
            None,
        )
        .await
        .unwrap();
    assert!(r.status == 400, "{}", r.body);
    // Someone else's order, the operator token, an unknown order.
    let r = cancel(&stack.globex(), &live, json!({ "reason": "mine now" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (404, "NOT_FOUND"));
    let r = cancel(&stack.operator(), &live, json!({ "reason": "x" })).await;
    assert_eq!(r.status, 403);
    let r = cancel(&acme, "no-such-order", json!({ "reason": "x" })).await;
    assert_eq!(r.status, 404);
    // Reactivation of a non-subscription.
    let r = reactivate(&acme, &live, json!({})).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_REACTIVATABLE"));
    // Nothing was written.
    assert_eq!(events(&acme, &live).await.len(), before);
    assert_eq!(
        acme.get(&format!("/v1/orders/{live}")).await.unwrap().body["state"],
        "EXECUTION"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsolicited_cease_is_visible_never_amendable_and_cancellable_with_a_code() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("cease");
    sim_admin(
        stack,
        "/admin/unsolicited-cease",
        json!({
            "tenant_id": "acme", "order_id": id, "order_ref": "CEASE-REF-1",
            "reason": "line retired",
            "attributes": { "sim.step_ms": "5000" }
        }),
    )
    .await;
    let o = wait_state(&acme, &id, "EXECUTION", T).await;
    assert_eq!(o["unsolicited"], true);
    assert_eq!(o["order_type"], "CEASE");
    assert_eq!(o["order_ref"], "CEASE-REF-1");
    assert_eq!(o["transferred"], true);
    // Only its tenant sees it; it was never transferred by us nor validated.
    assert_eq!(
        stack
            .globex()
            .get(&format!("/v1/orders/{id}"))
            .await
            .unwrap()
            .status,
        404
    );
    assert!(calls_to(stack, &id, "/validate").await.is_empty());
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types[0], "ORDER_ACKNOWLEDGED");

    let amend = acme
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({ "order_ref": "CEASE-REF-1", "changes": { "notes": "x" } })),
        )
        .await
        .unwrap();
    assert_eq!(
        (amend.status.as_u16(), code(&amend)),
        (409, "NOT_AMENDABLE")
    );
    let caps = acme
        .get(&format!("/v1/orders/{id}/capabilities"))
        .await
        .unwrap()
        .body;
    assert_eq!(caps["amendable"], false);
    assert_eq!(caps["cancellable"], true);
    assert_eq!(caps["cancel_reason_codes"][0], "CUSTOMER_RETAINED");
    for body in [
        json!({ "reason": "keep it" }),
        json!({ "reason": "keep it", "reason_code": "CHANGED_MIND" }),
    ] {
        let r = cancel(&acme, &id, body).await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (409, "REASON_CODE_NOT_ALLOWED")
        );
    }
    let r = cancel(
        &acme,
        &id,
        json!({ "reason": "customer stays", "reason_code": "CUSTOMER_RETAINED" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancellation"]["path"], "SUPPLIER");
    assert_eq!(r.body["order"]["state"], "CANCELLED");

    // The same cease raised again changes nothing.
    sim_admin(
        stack,
        "/admin/unsolicited-cease",
        json!({ "tenant_id": "acme", "order_id": id, "order_ref": "CEASE-REF-1" }),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        acme.get(&format!("/v1/orders/{id}")).await.unwrap().body["state"],
        "CANCELLED"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_supplier_holds_resumes_and_cancels_on_its_own() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = executing(&acme, "supplier", &[("sim.step_ms", "1500")]).await;
    let path = format!("/admin/orders/acme:{id}");
    sim_admin(
        stack,
        &format!("{path}/hold"),
        json!({ "reason": "site access" }),
    )
    .await;
    let o = wait_state(&acme, &id, "SUSPENDED", T).await;
    assert_eq!(o["state_reason"], "site access");
    sim_admin(stack, &format!("{path}/resume"), json!({})).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    sim_admin(
        stack,
        &format!("{path}/cancel"),
        json!({ "reason": "out of stock" }),
    )
    .await;
    let o = wait_state(&acme, &id, "CANCELLED", T).await;
    assert_eq!(o["state_reason"], "out of stock");
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types.last().unwrap(), "ORDER_CANCELLED_BY_SUPPLIER");
    // The order ended: the tenant's cancel is refused, nothing is left running.
    let r = cancel(&acme, &id, json!({ "reason": "x" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));
}

/// A recurring order fulfilled and ACTIVE.
async fn active_subscription(acme: &ApiClient, prefix: &str) -> String {
    let id = new_id(prefix);
    let mut body = order(&id, &[("sim.step_ms", "0")]);
    body["recurring"] = json!(true);
    submit(acme, &body).await;
    wait_state(acme, &id, "ACTIVE", T).await;
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_deactivate_and_reactivate_now() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = active_subscription(&acme, "sub-now").await;
    let r = cancel(&acme, &id, json!({ "reason": "pause billing" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancellation"]["state"], "ACCEPTED");
    assert_eq!(r.body["cancellation"]["path"], "SUBSCRIPTION");
    assert_eq!(r.body["order"]["state"], "INACTIVE");
    assert_eq!(r.body["order"]["lines"][0]["product_code"], "FIBRE-1G");
    assert_event(&acme, &id, &r.body["event_uuid"], "ORDER_DEACTIVATED").await;
    // Already inactive; cannot be cancelled twice.
    let again = cancel(&acme, &id, json!({ "reason": "x" })).await;
    assert_eq!(
        (again.status.as_u16(), code(&again)),
        (409, "NOT_CANCELLABLE")
    );

    let r = reactivate(&acme, &id, json!({ "reason": "back" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["reactivation"]["state"], "ACCEPTED");
    assert_eq!(r.body["order"]["state"], "ACTIVE");
    assert_event(&acme, &id, &r.body["event_uuid"], "ORDER_REACTIVATED").await;
    let again = reactivate(&acme, &id, json!({})).await;
    assert_eq!(
        (again.status.as_u16(), code(&again)),
        (409, "NOT_REACTIVATABLE")
    );

    // A date today or earlier takes effect now.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let r = cancel(
        &acme,
        &id,
        json!({ "reason": "today", "effective_date": today }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "INACTIVE");
    let r = reactivate(&acme, &id, json!({ "effective_date": "2020-01-01" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "ACTIVE");

    // The supplier may end a subscription at any point.
    sim_admin(
        stack,
        &format!("/admin/orders/acme:{id}/cancel"),
        json!({ "reason": "service withdrawn" }),
    )
    .await;
    wait_state(&acme, &id, "CANCELLED", T).await;
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types.last().unwrap(), "ORDER_CANCELLED_BY_SUPPLIER");
    maybe_record_history(stack, "acme", &id, "subscription_cancel_reactivate").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_cancellations_and_reactivations_take_effect_on_time() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = active_subscription(&acme, "sub-later").await;

    // Scheduled, then replaced by a later schedule.
    let first = cancel(
        &acme,
        &id,
        json!({ "reason": "end of term", "effective_at": in_secs(3) }),
    )
    .await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["cancellation"]["state"], "SCHEDULED");
    assert_eq!(first.body["order"]["state"], "ACTIVE");
    assert_eq!(
        first.body["order"]["scheduled_cancellation"]["cancellation_id"],
        first.body["cancellation"]["cancellation_id"]
    );
    assert_event(
        &acme,
        &id,
        &first.body["event_uuid"],
        "CANCELLATION_SCHEDULED",
    )
    .await;
    let second = cancel(
        &acme,
        &id,
        json!({ "reason": "a bit later", "effective_at": in_secs(5) }),
    )
    .await;
    assert_eq!(second.status, 202, "{}", second.body);
    let first_id = first.body["cancellation"]["cancellation_id"]
        .as_str()
        .unwrap();
    let old = acme
        .get(&format!("/v1/orders/{id}/cancellations/{first_id}"))
        .await
        .unwrap()
        .body;
    assert_eq!(old["state"], "SUPERSEDED");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        acme.get(&format!("/v1/orders/{id}")).await.unwrap().body["state"],
        "ACTIVE",
        "the replaced schedule must not fire"
    );
    let o = wait_state(&acme, &id, "INACTIVE", T).await;
    assert_eq!(o["scheduled_cancellation"], Value::Null);
    let second_id = second.body["cancellation"]["cancellation_id"]
        .as_str()
        .unwrap();
    let c = acme
        .get(&format!("/v1/orders/{id}/cancellations/{second_id}"))
        .await
        .unwrap()
        .body;
    assert_eq!(c["state"], "ACCEPTED");

    // A scheduled reactivation keeps the order pending until its date.
    let r = reactivate(&acme, &id, json!({ "effective_at": in_secs(3) })).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["reactivation"]["state"], "SCHEDULED");
    assert_eq!(r.body["order"]["state"], "INACTIVE");
    assert_eq!(r.body["order"]["pending_request"]["kind"], "REACTIVATION");
    assert_event(&acme, &id, &r.body["event_uuid"], "REACTIVATION_SCHEDULED").await;
    let o = wait_state(&acme, &id, "ACTIVE", T).await;
    assert_eq!(o["pending_request"], Value::Null);
    assert_eq!(o["scheduled_reactivation"], Value::Null);

    // Reactivating an ACTIVE subscription removes its scheduled cancellation.
    let c = cancel(
        &acme,
        &id,
        json!({ "reason": "someday", "effective_date": "2099-01-01" }),
    )
    .await;
    assert_eq!(c.status, 202, "{}", c.body);
    let r = reactivate(&acme, &id, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["scheduled_cancellation"], Value::Null);
    assert_event(
        &acme,
        &id,
        &r.body["event_uuid"],
        "SCHEDULED_CANCELLATION_REMOVED",
    )
    .await;
    assert_gapless(&events(&acme, &id).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn long_lived_subscriptions_continue_as_new_without_losing_schedules() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = active_subscription(&acme, "sub-can").await;
    let r = cancel(
        &acme,
        &id,
        json!({ "reason": "term ends", "effective_at": in_secs(20) }),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    // The supplier keeps amending the order: the history grows past the test threshold (100
    // events) and the workflow continues as new, carrying its schedule along.
    let mut n = 0;
    while workflow_runs(stack, "acme", &id).await < 2 {
        n += 1;
        assert!(n < 60, "the workflow never continued as new");
        sim_admin(
            stack,
            &format!("/admin/orders/acme:{id}/amend"),
            json!({ "changes": { "notes": format!("note {n}") } }),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let o = wait_for(&acme, &id, T, |o| o["notes"] == format!("note {n}")).await;
    assert_eq!(o["state"], "ACTIVE");
    assert!(!o["scheduled_cancellation"].is_null(), "{o}");
    // The schedule made in the first run fires in a later one.
    let o = wait_state(&acme, &id, "INACTIVE", T).await;
    assert_eq!(o["scheduled_cancellation"], Value::Null);
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(
        types.iter().filter(|t| *t == "ORDER_ACKNOWLEDGED").count(),
        1
    );
    assert_eq!(types.last().unwrap(), "ORDER_DEACTIVATED");
    // And the continued run still takes requests.
    let r = reactivate(&acme, &id, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "ACTIVE");
    maybe_record_history(stack, "acme", &id, "subscription_continued_as_new").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_supplier_cancelling_overtakes_a_pending_cancellation() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = executing(
        &acme,
        "overtaken",
        &[
            ("sim.cancel", "pending-RE"),
            ("sim.answer_ms", "30000"),
            ("sim.step_ms", "5000"),
        ],
    )
    .await;
    let r = cancel(&acme, &id, json!({ "reason": "please" })).await;
    assert_eq!(r.status, 202, "{}", r.body);
    sim_admin(
        stack,
        &format!("/admin/orders/acme:{id}/cancel"),
        json!({ "reason": "cannot deliver" }),
    )
    .await;
    let o = wait_state(&acme, &id, "CANCELLED", T).await;
    assert_eq!(o["state_reason"], "cannot deliver");
    let cid = r.body["cancellation"]["cancellation_id"].as_str().unwrap();
    wait_for_request(
        &acme,
        &format!("/v1/orders/{id}/cancellations/{cid}"),
        "SUPERSEDED",
    )
    .await;
    let types = assert_gapless(&events(&acme, &id).await);
    let tail: Vec<_> = types.iter().rev().take(2).rev().cloned().collect();
    assert_eq!(
        tail,
        ["ORDER_CANCELLED_BY_SUPPLIER", "CANCELLATION_SUPERSEDED"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_transferred_state_goes_to_the_supplier() {
    let stack = stack().await;
    let acme = stack.acme();
    // Not feasible: the supplier has the order.
    let pqf = new_id("pqf");
    submit(&acme, &order(&pqf, &[("sim.feasible", "false")])).await;
    let o = wait_state(&acme, &pqf, "PRE_QUALIFICATION_FAILED", T).await;
    assert_eq!(o["transferred"], true);
    // Held by an operator mid-plan.
    let held = executing(&acme, "held", &[("sim.step_ms", "2000")]).await;
    assert_eq!(
        operate(&stack.operator(), &held, "suspend", json!({}))
            .await
            .status,
        200
    );
    // A subscription still in fulfilment.
    let sub = new_id("sub-fulfil");
    let mut body = order(&sub, &[("sim.step_ms", "3000")]);
    body["recurring"] = json!(true);
    submit(&acme, &body).await;
    wait_state(&acme, &sub, "EXECUTION", T).await;

    for id in [&pqf, &held, &sub] {
        let r = cancel(&acme, id, json!({ "reason": "not needed" })).await;
        assert_eq!(r.status, 200, "{id}: {}", r.body);
        assert_eq!(r.body["cancellation"]["path"], "SUPPLIER", "{id}");
        assert_eq!(r.body["cancellation"]["response_code"], "AP", "{id}");
        assert_eq!(r.body["order"]["state"], "CANCELLED", "{id}");
        assert_eq!(calls_to(stack, id, "/cancellations").await.len(), 1, "{id}");
    }
}
