//! Subscriptions: deactivation and reactivation now or at a scheduled time, schedules kept
//! across continue-as-new, and the supplier's own cancellation overtaking a pending one.

use super::*;

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
    let later = in_secs(5);
    let second = cancel(
        &acme,
        &id,
        json!({ "reason": "a bit later", "effective_at": later }),
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
    let o = wait_state(&acme, &id, "INACTIVE", T).await;
    assert_eq!(o["scheduled_cancellation"], Value::Null);
    // The replaced schedule never fired: one deactivation, at the later instant, not before.
    let history = events(&acme, &id).await;
    let deactivated: Vec<&Value> = history
        .iter()
        .filter(|e| e["type"] == "ORDER_DEACTIVATED")
        .collect();
    assert_eq!(deactivated.len(), 1, "{history:?}");
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let when = deactivated[0]["occurred_at"].as_str().unwrap();
    // (A second of slack for rounding; the replaced schedule was due two seconds earlier.)
    let due = at(&later) - chrono::Duration::seconds(1);
    assert!(at(when) > due, "deactivated at {when}, due {later}");
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
    // Under an Idempotency-Key, which must still name this cancellation in later runs.
    let key = format!("term-ends-{id}");
    let keyed = |path: &str, body: Value| {
        let (acme, path, key) = (acme.clone(), format!("/v1/orders/{id}/{path}"), key.clone());
        async move {
            acme.send_with_headers(
                reqwest::Method::POST,
                &path,
                Some(&body),
                &[("Idempotency-Key", key)],
            )
            .await
            .unwrap()
        }
    };
    let term_ends = json!({ "reason": "term ends", "effective_at": in_secs(20) });
    let r = keyed("cancel", term_ends.clone()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let cancellation_id = r.body["cancellation"]["cancellation_id"].clone();
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
    // The continued run knows the first run's key: the same request answers with the same
    // cancellation, and the key cannot name another kind of request.
    let again = keyed("cancel", term_ends.clone()).await;
    assert!(again.status.is_success(), "{}", again.body);
    assert_eq!(
        again.body["cancellation"]["cancellation_id"],
        cancellation_id
    );
    assert_error(
        &keyed("reactivate", json!({})).await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    );
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
    maybe_record_every_run(stack, "acme", &id, "subscription_continued_as_new").await;
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

/// Waits until the simulator has answered `count` calls whose path contains `fragment`.
async fn supplier_told(stack: &Stack, id: &str, fragment: &str, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + T;
    loop {
        let calls = calls_to(stack, id, fragment).await;
        if calls.iter().filter(|c| c["status"] == 200).count() >= count {
            return calls;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{fragment}: {calls:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_supplier_is_told_of_every_deactivation_and_reactivation() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = active_subscription(&acme, "sub-told").await;
    let r = cancel(&acme, &id, json!({ "reason": "pause billing" })).await;
    assert_eq!(r.body["order"]["state"], "INACTIVE", "{}", r.body);
    let cid = r.body["cancellation"]["cancellation_id"].as_str().unwrap();
    let calls = supplier_told(stack, &id, "/deactivate", 1).await;
    let key = calls[0]["idempotency_key"].as_str().unwrap();
    assert!(key.ends_with(&format!("/deactivate/{cid}")), "{key}");
    assert!(calls_to(stack, &id, "/reactivate").await.is_empty());

    // A reactivation at a date: told when the date arrives, not before.
    let r = reactivate(&acme, &id, json!({ "effective_at": in_secs(2) })).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(calls_to(stack, &id, "/reactivate").await.is_empty());
    wait_state(&acme, &id, "ACTIVE", T).await;
    let rid = r.body["reactivation"]["reactivation_id"].as_str().unwrap();
    let calls = supplier_told(stack, &id, "/reactivate", 1).await;
    let key = calls[0]["idempotency_key"].as_str().unwrap();
    assert!(key.ends_with(&format!("/reactivate/{rid}")), "{key}");
    // Once each: the supplier got one call per change.
    assert_eq!(calls_to(stack, &id, "/deactivate").await.len(), 1);
    let types = assert_gapless(&events(&acme, &id).await);
    assert!(
        !types.iter().any(|t| t == "SUPPLIER_NOTICE_FAILED"),
        "{types:?}"
    );

    // A supplier that refuses: the order follows the tenant, and an event tells the operator.
    let refused = new_id("sub-refused");
    let mut body = order(&refused, &[("sim.step_ms", "0"), ("sim.notify", "refuse")]);
    body["recurring"] = json!(true);
    submit(&acme, &body).await;
    wait_state(&acme, &refused, "ACTIVE", T).await;
    let r = cancel(&acme, &refused, json!({ "reason": "pause" })).await;
    assert_eq!(r.body["order"]["state"], "INACTIVE", "{}", r.body);
    let failed = wait_for_event(&acme, &refused, "SUPPLIER_NOTICE_FAILED").await;
    assert_eq!(failed["detail"]["notice"], "DEACTIVATE", "{failed}");
    let reason = failed["detail"]["reason"].as_str().unwrap();
    assert!(reason.contains("deactivation"), "{reason}");
    assert_no_internal_text(&failed);
    let o = acme
        .get(&format!("/v1/orders/{refused}"))
        .await
        .unwrap()
        .body;
    assert_eq!(o["state"], "INACTIVE");
    let listed = stack
        .operator()
        .get("/v1/orders?tenant_id=acme&state=INACTIVE")
        .await
        .unwrap()
        .body;
    assert!(
        listed["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_id"] == refused.as_str())
    );
}

/// Polls the order's events until one of type `kind` appears.
async fn wait_for_event(acme: &ApiClient, id: &str, kind: &str) -> Value {
    let deadline = std::time::Instant::now() + T;
    loop {
        if let Some(e) = events(acme, id)
            .await
            .into_iter()
            .find(|e| e["type"] == kind)
        {
            return e;
        }
        assert!(std::time::Instant::now() < deadline, "no {kind} on {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn money_and_time_zone_shape_the_snapshot_and_the_effective_date() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("sub-money");
    let mut body = order(&id, &[("sim.step_ms", "0")]);
    body["recurring"] = json!(true);
    body["currency"] = json!("JPY");
    body["time_zone"] = json!("Pacific/Auckland");
    body["lines"] = json!([
        { "line_id": "l1", "product_code": "FIBRE-1G", "quantity": 2, "unit_price": "4990",
          "action": "ADD", "discount": "500", "tax_rate": "10" },
        { "line_id": "l2", "product_code": "ROUTER", "quantity": 1, "unit_price": "1234.5",
          "action": "ADD", "tax_rate": "8" }
    ]);
    let placed = submit(&acme, &body).await;
    let a = &placed["amounts"];
    assert_eq!(a["currency"], "JPY", "{placed}");
    // 2 × 4990 − 500 = 9480, tax 948; 1234.5 → 1235 (no minor unit), tax 98.8 → 99.
    assert_eq!(
        (&a["lines"][0]["subtotal"], &a["lines"][0]["tax"]),
        (&json!("9480"), &json!("948"))
    );
    assert_eq!(a["lines"][1]["total"], "1334", "{a}");
    assert_eq!(
        (&a["subtotal"], &a["tax"], &a["total"]),
        (&json!("10715"), &json!("1047"), &json!("11762")),
        "{a}"
    );
    wait_state(&acme, &id, "ACTIVE", T).await;

    // A date is midnight in Auckland: 11:00 or 12:00 UTC the day before.
    let r = cancel(
        &acme,
        &id,
        json!({ "reason": "end of term", "effective_date": "2031-01-15" }),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        r.body["cancellation"]["effective_at"],
        "2031-01-14T11:00:00Z"
    );
    // The answer keeps the whole snapshot, money included.
    assert_eq!(r.body["order"]["amounts"], placed["amounts"]);
    assert_eq!(r.body["order"]["lines"][0]["discount"], "500");
    assert_eq!(r.body["order"]["time_zone"], "Pacific/Auckland");
    // Bad money is refused by name, and makes nothing.
    let bad = new_id("bad-money");
    let mut body = order(&bad, &[]);
    body["currency"] = json!("EURO");
    body["time_zone"] = json!("Mars/Olympus");
    body["lines"][0]["discount"] = json!("999999");
    let r = acme.post("/v1/orders", &body).await.unwrap();
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["code"].as_str()),
        (422, Some("VALIDATION_FAILED")),
        "{}",
        r.body
    );
    let fields: Vec<_> = r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!("currency"),
            json!("time_zone"),
            json!("lines[0].discount")
        ],
        "{}",
        r.body
    );
    assert_eq!(
        acme.get(&format!("/v1/orders/{bad}")).await.unwrap().status,
        404
    );
}
