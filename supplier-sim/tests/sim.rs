//! End-to-end tests: the simulator on a random port, called over real HTTP, with a tiny axum
//! receiver standing in for orderflow's callback endpoint.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use orderflow_supplier_sim::{SimConfig, serve, sign};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot};

const SECRET: &str = "test-secret";

struct Sim {
    base: String,
    stop: oneshot::Sender<()>,
    join: tokio::task::JoinHandle<anyhow::Result<()>>,
    http: reqwest::Client,
}

async fn start_sim(dir: &Path, callback_url: &str) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let config = SimConfig {
        data_dir: dir.to_path_buf(),
        callback_url: callback_url.to_owned(),
        secret: SECRET.to_owned(),
    };
    let join = tokio::spawn(serve(listener, config, async {
        let _ = stopped.await;
    }));
    Sim {
        base,
        stop,
        join,
        http: reqwest::Client::new(),
    }
}

impl Sim {
    async fn stop(self) {
        drop(self.http);
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.join)
            .await
            .expect("sim shuts down in time")
            .unwrap()
            .unwrap();
    }

    /// POSTs `body` to `path` with the given idempotency key; returns status, JSON body and
    /// whether the answer was marked as a replay.
    async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, Value, bool) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let replayed = resp.headers().contains_key("idempotent-replayed");
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body, replayed)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }
}

struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// Stand-in for orderflow's callback endpoint. Answers with the scripted statuses first, then 200.
struct Receiver {
    url: String,
    rx: mpsc::UnboundedReceiver<Received>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

type ReceiverState = (mpsc::UnboundedSender<Received>, Arc<Mutex<VecDeque<u16>>>);

async fn start_receiver() -> Receiver {
    let (tx, rx) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new(VecDeque::new()));
    let app = axum::Router::new()
        .route(
            "/cb",
            post(
                |State((tx, script)): State<ReceiverState>, headers: HeaderMap, body: Bytes| async move {
                    let status = script.lock().unwrap().pop_front().unwrap_or(200);
                    let _ = tx.send(Received { headers, body });
                    StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .with_state((tx, script.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, rx, script }
}

impl Receiver {
    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("callback within 10 s")
            .expect("receiver alive")
    }

    async fn next_json(&mut self) -> Value {
        serde_json::from_slice(&self.next().await.body).unwrap()
    }

    async fn expect_none(&mut self, wait: Duration) {
        if let Ok(Some(r)) = tokio::time::timeout(wait, self.rx.recv()).await {
            panic!("unexpected callback: {}", String::from_utf8_lossy(&r.body));
        }
    }
}

fn order(order_id: &str, attrs: Value) -> Value {
    json!({
        "order_id": order_id,
        "tenant_id": "acme",
        "order_ref": format!("PO-{order_id}"),
        "supplier_id": "sim",
        "order_type": "PROVIDE",
        "attributes": attrs,
        "lines": [{"line_id": "l1", "product_code": "FIBRE-1G", "quantity": 1, "unit_price": "10.00", "action": "ADD"}],
        "revision": 1,
    })
}

async fn transfer(sim: &Sim, order: &Value) {
    let key = format!("transfer-{}", order["order_id"].as_str().unwrap());
    let (status, body, _) = sim
        .post("/orders", Some(&key), &json!({"order": order}))
        .await;
    assert_eq!(status, 201, "{body}");
}

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
