//! The supplier's own rules: a failing step, the point of no return for cancellations,
//! supplier-initiated callbacks, and a concurrent retry that waits for the first attempt.

use super::*;

#[tokio::test]
async fn fail_step_gives_422() {
    let dir = tempfile::tempdir().unwrap();
    let rx = start_receiver().await;
    let sim = start_sim(dir.path(), &rx.url).await;
    let o = order("ord-x", json!({"sim.fail_step": "2", "sim.step_ms": "1"}));
    transfer(&sim, &o).await;
    let body = json!({"order": o});
    assert_eq!(
        sim.post("/orders/acme:ord-x/steps/step-1", Some("x1"), &body)
            .await
            .0,
        200
    );
    let (s, b, _) = sim
        .post("/orders/acme:ord-x/steps/step-2", Some("x2"), &body)
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        b,
        json!({"status": "FAILED", "reason": "step 2 failed permanently (sim.fail_step)"})
    );
    sim.stop().await;
}

#[tokio::test]
async fn point_of_no_return_refuses_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let mut rx = start_receiver().await;
    let sim = start_sim(dir.path(), &rx.url).await;
    let o = order(
        "ord-n",
        json!({"sim.point_of_no_return": "2", "sim.step_ms": "1", "sim.cancel": "pending-AP", "sim.answer_ms": "10"}),
    );
    transfer(&sim, &o).await;
    let body = json!({"order": o});
    let (_, plan, _) = sim.post("/orders/acme:ord-n/plan", Some("pl"), &body).await;
    let flags: Vec<_> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["point_of_no_return"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, true, false]);

    sim.post("/orders/acme:ord-n/steps/step-1", Some("n1"), &body)
        .await;
    let cancel =
        |id: &str| json!({"cancellation_id": id, "reason": "r", "reason_code": "X", "order": o});
    let (s, b, _) = sim
        .post(
            "/orders/acme:ord-n/cancellations",
            Some("c1"),
            &cancel("c1"),
        )
        .await;
    assert_eq!((s, b), (202, json!({"response_code": "PENDING"})));
    let v = rx.next_json().await;
    assert_eq!(v["type"], "CANCELLATION_DECISION");
    assert_eq!(v["cancellation_id"], "c1");
    assert_eq!(v["response_code"], "AP");

    sim.post("/orders/acme:ord-n/steps/step-2", Some("n2"), &body)
        .await;
    let (s, b, _) = sim
        .post(
            "/orders/acme:ord-n/cancellations",
            Some("c2"),
            &cancel("c2"),
        )
        .await;
    assert_eq!(
        (s, b),
        (
            200,
            json!({"response_code": "RE", "reason": "past point of no return"})
        )
    );
    rx.expect_none(Duration::from_millis(100)).await;
    sim.stop().await;
}

#[tokio::test]
async fn supplier_initiated_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let mut rx = start_receiver().await;
    let sim = start_sim(dir.path(), &rx.url).await;
    transfer(&sim, &order("ord-s", json!({}))).await;

    let (s, b, _) = sim
        .post(
            "/admin/orders/acme:ord-s/amend",
            None,
            &json!({"changes": {"requested_date": "2030-01-01"}}),
        )
        .await;
    assert_eq!(s, 202);
    let v = rx.next_json().await;
    assert_eq!(v["callback_id"], b["callback_id"]);
    assert_eq!(v["type"], "SUPPLIER_AMEND");
    assert_eq!(v["changes"], json!({"requested_date": "2030-01-01"}));
    assert_eq!(v["order_ref"], "PO-ord-s");

    sim.post(
        "/admin/orders/acme:ord-s/cancel",
        None,
        &json!({"reason": "no capacity"}),
    )
    .await;
    let v = rx.next_json().await;
    assert_eq!(
        (v["type"].as_str(), v["reason"].as_str()),
        (Some("SUPPLIER_CANCEL"), Some("no capacity"))
    );

    let (s, _, _) = sim
        .post(
            "/admin/unsolicited-cease",
            None,
            &json!({"tenant_id": "acme", "order_id": "svc-9", "order_ref": "REF-9"}),
        )
        .await;
    assert_eq!(s, 202);
    let v = rx.next_json().await;
    assert_eq!(v["type"], "UNSOLICITED_CEASE");
    assert_eq!(
        (
            v["tenant_id"].as_str(),
            v["order_id"].as_str(),
            v["order_ref"].as_str()
        ),
        (Some("acme"), Some("svc-9"), Some("REF-9"))
    );

    assert_eq!(
        sim.post("/admin/orders/acme:ord-s/amend", None, &json!({}))
            .await
            .0,
        400
    );
    sim.stop().await;
}

#[tokio::test]
async fn concurrent_retry_waits_for_the_first_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let rx = start_receiver().await;
    let sim = Arc::new(start_sim(dir.path(), &rx.url).await);
    let o = order("ord-c", json!({"sim.step_ms": "300"}));
    transfer(&sim, &o).await;
    let body = json!({"order": o});
    let started = std::time::Instant::now();
    let (a, b) = tokio::join!(
        sim.post("/orders/acme:ord-c/steps/step-1", Some("same"), &body),
        sim.post("/orders/acme:ord-c/steps/step-1", Some("same"), &body),
    );
    // Both answered DONE, exactly one did the work, and the work was done once (not twice).
    assert_eq!((a.0, b.0), (200, 200));
    assert!(a.2 ^ b.2, "exactly one answer is a replay");
    assert!(started.elapsed() < Duration::from_millis(550));
    // Other keys are not blocked by a step in progress.
    let (s, _, _) = sim
        .post("/orders/acme:ord-c/feasibility", Some("other"), &body)
        .await;
    assert_eq!(s, 200);
    Arc::into_inner(sim).unwrap().stop().await;
}
