//! Calls and their answers: the happy path, request errors, and flaky calls that fail
//! twice, then answer and replay.

use super::*;

#[tokio::test]
async fn happy_path_and_request_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut rx = start_receiver().await;
    let sim = start_sim(dir.path(), &rx.url).await;
    assert_eq!(sim.get("/healthz").await.0, 200);

    let o = order("ord-1", json!({"sim.step_ms": "5"}));
    let body = json!({"order": o, "extra_field": "ignored"});

    let (s, b, _) = sim
        .post("/orders/acme:ord-1/validate", Some("v1"), &body)
        .await;
    assert_eq!((s, b), (200, json!({"result": "PASS"})));

    let (s, b, _) = sim.post("/orders", Some("t1"), &body).await;
    assert_eq!(
        (s, b),
        (
            201,
            json!({"status": "RECEIVED", "supplier_order_id": "acme:ord-1"})
        )
    );

    let (s, b, _) = sim
        .post("/orders/acme:ord-1/feasibility", Some("f1"), &body)
        .await;
    assert_eq!((s, b), (200, json!({"feasible": true})));

    let (s, plan, _) = sim.post("/orders/acme:ord-1/plan", Some("p1"), &body).await;
    assert_eq!(s, 200);
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert!(steps.iter().all(|s| s["point_of_no_return"] == false));
    assert_eq!(steps[0]["step_id"], "step-1");
    assert!(steps[0]["name"].as_str().unwrap().len() > 3);
    // The same key gives the same plan id.
    let (_, again, replayed) = sim.post("/orders/acme:ord-1/plan", Some("p1"), &body).await;
    assert_eq!(again["plan_id"], plan["plan_id"]);
    assert!(replayed);

    for n in 1..=3 {
        let (s, b, _) = sim
            .post(
                &format!("/orders/acme:ord-1/steps/step-{n}"),
                Some(&format!("s{n}")),
                &body,
            )
            .await;
        assert_eq!((s, b), (200, json!({"status": "DONE"})));
    }

    let amend = json!({"amendment_id": "a1", "changes": {"notes": "x"}, "order": o});
    let (s, b, _) = sim
        .post("/orders/acme:ord-1/amendments", Some("a1"), &amend)
        .await;
    assert_eq!((s, b), (200, json!({"decision": "ACCEPT"})));

    let cancel = json!({"cancellation_id": "c1", "reason": "changed mind", "reason_code": "CUSTOMER", "order": o});
    let (s, b, _) = sim
        .post("/orders/acme:ord-1/cancellations", Some("c1"), &cancel)
        .await;
    assert_eq!((s, b), (200, json!({"response_code": "AP"})));

    // Request errors.
    let (s, b, _) = sim
        .post("/orders/acme:nope/feasibility", Some("x1"), &json!({}))
        .await;
    assert_eq!((s, b), (404, json!({"error": "unknown order"})));
    let (s, _, _) = sim
        .post("/orders/acme:ord-1/feasibility", None, &body)
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = sim
        .post(
            "/orders/acme:ord-1/amendments",
            Some("a2"),
            &json!({"order": o}),
        )
        .await;
    assert_eq!(s, 400, "amendment without amendment_id");
    let resp = sim
        .http
        .post(format!("{}/orders/acme:ord-1/plan", sim.base))
        .header("Idempotency-Key", "bad")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let (s, _, _) = sim
        .post("/orders", Some("t-bad"), &json!({"order": {}}))
        .await;
    assert_eq!(s, 400);

    // The call log lists everything, filterable by order.
    let (_, calls) = sim.get("/admin/calls?order_id=acme:ord-1").await;
    let calls = calls.as_array().unwrap();
    let paths: Vec<_> = calls.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(paths[0], "/orders/acme:ord-1/validate");
    assert_eq!(paths[1], "/orders");
    assert!(calls.iter().all(|c| c["order_id"] == "acme:ord-1"));
    assert_eq!(calls[1]["idempotency_key"], "t1");
    assert_eq!(calls[1]["status"], 201);
    assert!(calls[1]["at"].as_str().unwrap().contains('T'));
    assert_eq!(
        calls.iter().filter(|c| c["replayed"] == true).count(),
        1,
        "only the repeated plan call is a replay"
    );
    let (_, all) = sim.get("/admin/calls").await;
    assert!(all.as_array().unwrap().len() > calls.len());

    // Nothing asked for a callback.
    rx.expect_none(Duration::from_millis(100)).await;
    sim.stop().await;
}

#[tokio::test]
async fn flaky_fails_twice_then_answers_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let rx = start_receiver().await;
    let sim = start_sim(dir.path(), &rx.url).await;
    let body = json!({"order": order("ord-f", json!({"sim.flaky": "2"}))});

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(sim.post("/orders", Some("k-flaky"), &body).await.0);
    }
    assert_eq!(statuses, [500, 500, 201]);
    let (s, b, replayed) = sim.post("/orders", Some("k-flaky"), &body).await;
    assert_eq!(s, 201);
    assert_eq!(b["supplier_order_id"], "acme:ord-f");
    assert!(replayed);

    // Each distinct key is flaky on its own.
    let (s, _, _) = sim
        .post("/orders/acme:ord-f/feasibility", Some("k-2"), &body)
        .await;
    assert_eq!(s, 500);

    let (_, calls) = sim.get("/admin/calls?order_id=ord-f").await;
    let got: Vec<_> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["idempotency_key"] == "k-flaky")
        .map(|c| {
            (
                c["status"].as_u64().unwrap(),
                c["replayed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(500, false), (500, false), (201, false), (201, true)]);
    sim.stop().await;
}
