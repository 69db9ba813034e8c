//! Signed callbacks: sent once, retried with a stable id, and kept across a restart with the
//! orders, calls and stored answers.

use super::*;

fn verify(headers: &HeaderMap, body: &[u8]) {
    assert_eq!(headers["content-type"], "application/json");
    let ts: i64 = headers["orderflow-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    let sig = headers["orderflow-signature"].to_str().unwrap();
    let hex_sig = sig.strip_prefix("v1=").expect("v1= prefix");
    // Independent check of the documented scheme, not just of `sign` against itself.
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(hex_sig).unwrap())
        .expect("signature verifies");
    assert_eq!(hex_sig, sign(SECRET, ts, body));
}

#[tokio::test]
async fn async_step_sends_signed_step_done_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut rx = start_receiver().await;
    let sim = start_sim(dir.path(), &rx.url).await;
    let o = order(
        "ord-a",
        json!({"sim.async_steps": "true", "sim.step_ms": "20"}),
    );
    transfer(&sim, &o).await;

    let (s, b, _) = sim
        .post(
            "/orders/acme:ord-a/steps/step-2",
            Some("st2"),
            &json!({"order": o}),
        )
        .await;
    assert_eq!((s, b), (202, json!({"status": "ACCEPTED"})));

    let cb = rx.next().await;
    verify(&cb.headers, &cb.body);
    let v: Value = serde_json::from_slice(&cb.body).unwrap();
    assert_eq!(v["type"], "STEP_DONE");
    assert_eq!(v["tenant_id"], "acme");
    assert_eq!(v["order_id"], "ord-a");
    assert_eq!(v["order_ref"], "PO-ord-a");
    assert_eq!(v["step_id"], "step-2");
    assert!(v["callback_id"].as_str().is_some());

    // A retry of the same call is answered from storage and sends no second callback.
    let (s, _, replayed) = sim
        .post(
            "/orders/acme:ord-a/steps/step-2",
            Some("st2"),
            &json!({"order": o}),
        )
        .await;
    assert_eq!(s, 202);
    assert!(replayed);
    rx.expect_none(Duration::from_millis(200)).await;
    sim.stop().await;
}

#[tokio::test]
async fn callbacks_are_retried_with_a_stable_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut rx = start_receiver().await;
    rx.script.lock().unwrap().extend([503, 429]);
    let sim = start_sim(dir.path(), &rx.url).await;
    let o = order("ord-r", json!({}));
    transfer(&sim, &o).await;

    let (s, b, _) = sim
        .post(
            "/admin/orders/acme:ord-r/hold",
            None,
            &json!({"reason": "storm"}),
        )
        .await;
    assert_eq!(s, 202);
    let first = rx.next_json().await;
    let second = rx.next_json().await;
    let third = rx.next().await;
    verify(&third.headers, &third.body);
    let third: Value = serde_json::from_slice(&third.body).unwrap();
    for v in [&first, &second, &third] {
        assert_eq!(v["callback_id"], b["callback_id"]);
        assert_eq!(v["type"], "HOLD");
        assert_eq!(v["reason"], "storm");
    }
    rx.expect_none(Duration::from_millis(300)).await;

    // A permanent 4xx drops the callback.
    rx.script.lock().unwrap().push_back(400);
    sim.post("/admin/orders/ord-r/resume", None, &json!({}))
        .await;
    assert_eq!(rx.next_json().await["type"], "RESUME");
    rx.expect_none(Duration::from_millis(500)).await;

    assert_eq!(
        sim.post("/admin/orders/acme:ghost/cancel", None, &json!({}))
            .await
            .0,
        404
    );
    sim.stop().await;
}

#[tokio::test]
async fn restart_keeps_orders_calls_answers_and_scheduled_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let mut rx = start_receiver().await;
    let o = order(
        "ord-p",
        json!({"sim.amend": "pending-reject", "sim.answer_ms": "300", "sim.step_ms": "1"}),
    );

    let sim = start_sim(dir.path(), &rx.url).await;
    transfer(&sim, &o).await;
    let (_, plan, _) = sim
        .post("/orders/acme:ord-p/plan", Some("plan-p"), &json!({}))
        .await;
    let amend = json!({"amendment_id": "am-1", "changes": {}, "order": o});
    let (s, b, _) = sim
        .post("/orders/acme:ord-p/amendments", Some("am-1"), &amend)
        .await;
    assert_eq!((s, b), (202, json!({"decision": "PENDING"})));
    // Stop before the decision is due.
    sim.stop().await;
    let calls_before = 3;

    let sim = start_sim(dir.path(), &rx.url).await;
    // The order is still known, with its knobs (no order in the body).
    let (s, _, _) = sim
        .post("/orders/acme:ord-p/steps/step-1", Some("st-1"), &json!({}))
        .await;
    assert_eq!(s, 200);
    // Stored answers survive: same plan for the same key.
    let (_, again, replayed) = sim
        .post("/orders/acme:ord-p/plan", Some("plan-p"), &json!({}))
        .await;
    assert!(replayed);
    assert_eq!(again["plan_id"], plan["plan_id"]);
    // The call log survives.
    let (_, calls) = sim.get("/admin/calls").await;
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), calls_before + 2);
    assert_eq!(calls[0]["path"], "/orders");
    // The scheduled decision is still delivered, after the restart.
    let v = rx.next_json().await;
    assert_eq!(v["type"], "AMENDMENT_DECISION");
    assert_eq!(v["amendment_id"], "am-1");
    assert_eq!(v["decision"], "REJECT");
    assert_eq!(v["order_id"], "ord-p");
    rx.expect_none(Duration::from_millis(200)).await;
    sim.stop().await;

    // Once delivered, it is not delivered again by a third instance.
    let sim = start_sim(dir.path(), &rx.url).await;
    rx.expect_none(Duration::from_millis(300)).await;
    sim.stop().await;
}
