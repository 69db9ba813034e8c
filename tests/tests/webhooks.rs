//! Tenant webhooks (SPEC §6) on a real stack: a receiver inside the test checks every
//! signature with the subscribed secret; events arrive in order, only for the subscribed
//! topics and tenant, survive a failing receiver, and stop once the webhook is deleted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use orderflow_client::api_client::ApiClient;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "webhooks").await
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    event_id: String,
    signature_ok: bool,
    body: Value,
    answered: u16,
}

#[derive(Clone)]
struct Receiver {
    secret: String,
    /// Answer 500 to this many requests before accepting.
    fail_first: Arc<AtomicUsize>,
    got: Arc<Mutex<Vec<Received>>>,
    url: String,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let timestamp: i64 = header("orderflow-timestamp").parse().unwrap_or(0);
    // Verified with the simulator's independent HMAC implementation.
    let expected = format!(
        "v1={}",
        orderflow_supplier_sim::sign(&r.secret, timestamp, &body)
    );
    let fresh = (chrono::Utc::now().timestamp() - timestamp).abs() < 300;
    let signature_ok = fresh
        && header("orderflow-signature") == expected
        && header("content-type") == "application/json";
    let failing = r
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    };
    r.got.lock().unwrap().push(Received {
        event_id: header("orderflow-event-id"),
        signature_ok,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        answered: status.as_u16(),
    });
    status
}

async fn receiver(secret: &str, fail_first: usize) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = Receiver {
        secret: secret.into(),
        fail_first: Arc::new(AtomicUsize::new(fail_first)),
        got: Arc::default(),
        url: format!("http://{}/hook", listener.local_addr().unwrap()),
    };
    r.serve(listener);
    r
}

/// A receiver whose port refuses connections until [`Receiver::come_up`].
async fn down_receiver(secret: &str) -> (Receiver, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let r = Receiver {
        secret: secret.into(),
        fail_first: Arc::new(AtomicUsize::new(0)),
        got: Arc::default(),
        url: format!("http://{address}/hook"),
    };
    (r, address)
}

impl Receiver {
    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    async fn come_up(&self, address: std::net::SocketAddr) {
        self.serve(tokio::net::TcpListener::bind(address).await.unwrap());
    }

    /// The accepted deliveries of one order, in arrival order.
    fn accepted(&self, order_id: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.answered < 300 && r.body["order_id"] == order_id)
            .cloned()
            .collect()
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn subscribe(client: &ApiClient, r: &Receiver, topics: &[&str]) -> Value {
    let reply = client
        .post(
            "/v1/webhooks",
            &json!({ "url": r.url, "topics": topics, "secret": r.secret }),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(
        !reply.body.to_string().contains(&r.secret),
        "secret echoed: {}",
        reply.body
    );
    assert!(reply.body.get("secret").is_none());
    assert_eq!(reply.body["url"], r.url.as_str());
    assert_eq!(reply.body["topics"], json!(topics));
    assert!(reply.body["created_at"].is_string());
    reply.body
}

/// Places an order for `client`'s tenant and waits until it is COMPLETE; returns its events.
async fn completed_order(client: &ApiClient, prefix: &str) -> (String, Vec<Value>) {
    let id = new_id(prefix);
    submit(client, &order(&id, &[("sim.steps", "2")])).await;
    wait_state(client, &id, "COMPLETE", T).await;
    let all = events(client, &id).await;
    assert_gapless(&all);
    (id, all)
}

/// Waits until `r` has accepted `n` deliveries of the order.
async fn wait_accepted(r: &Receiver, order_id: &str, n: usize, timeout: Duration) -> Vec<Received> {
    let start = Instant::now();
    loop {
        let got = r.accepted(order_id);
        if got.len() >= n {
            return got;
        }
        if start.elapsed() > timeout {
            panic!(
                "{} of {n} deliveries of {order_id} in {timeout:?}: {got:?}",
                got.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn uuids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_uuid"].as_str().unwrap().to_string())
        .collect()
}

async fn deliveries(client: &ApiClient, webhook_id: &str) -> Vec<Value> {
    let reply = client
        .get(&format!("/v1/webhooks/{webhook_id}/deliveries"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["deliveries"].as_array().unwrap().clone()
}

fn code(r: &Reply) -> &str {
    r.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code ({}): {}", r.status, r.body))
}

#[tokio::test]
async fn events_arrive_signed_in_order_for_the_subscribed_topics_and_tenant_only() {
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let all = receiver("acme-secret-for-all-events", 0).await;
    let steps = receiver("acme-secret-for-step-events", 0).await;
    let other = receiver("globex-secret-for-its-events", 0).await;
    let all_hook = subscribe(&acme, &all, &["*"]).await;
    subscribe(&acme, &steps, &["PLAN_STEP_COMPLETED"]).await;
    subscribe(&globex, &other, &["*"]).await;

    let listed = acme.get("/v1/webhooks").await.unwrap();
    assert_eq!(listed.status, 200);
    assert!(
        listed.body["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["webhook_id"] == all_hook["webhook_id"])
    );
    assert!(!listed.body.to_string().contains("acme-secret"));
    let theirs = globex.get("/v1/webhooks").await.unwrap();
    assert!(
        !theirs.body["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["webhook_id"] == all_hook["webhook_id"])
    );

    let (id, events) = completed_order(&acme, "wh").await;
    let (globex_id, globex_events) = completed_order(&globex, "wh-globex").await;

    // Every event of the order, in seq order, signed, with its uuid as the event id.
    let got = wait_accepted(&all, &id, events.len(), T).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_again = all.accepted(&id);
    assert_eq!(got_again.len(), got.len(), "unexpected repeats");
    let bodies: Vec<Value> = got.iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies, events, "bodies are the events, in order");
    for r in &got {
        assert!(r.signature_ok, "bad signature: {r:?}");
        assert_eq!(r.event_id, r.body["event_uuid"].as_str().unwrap());
    }

    // Only the subscribed topic.
    let step_events: Vec<Value> = events
        .iter()
        .filter(|e| e["type"] == "PLAN_STEP_COMPLETED")
        .cloned()
        .collect();
    assert_eq!(step_events.len(), 2);
    let got_steps = wait_accepted(&steps, &id, step_events.len(), T).await;
    assert_eq!(
        uuids(&got_steps.iter().map(|r| r.body.clone()).collect::<Vec<_>>()),
        uuids(&step_events)
    );
    assert!(
        steps
            .all()
            .iter()
            .all(|r| r.body["type"] == "PLAN_STEP_COMPLETED" && r.signature_ok)
    );

    // Each tenant gets its own events only.
    let got_globex = wait_accepted(&other, &globex_id, globex_events.len(), T).await;
    assert!(got_globex.iter().all(|r| r.signature_ok));
    assert!(
        other.all().iter().all(|r| r.body["tenant_id"] == "globex"),
        "acme event sent to globex"
    );
    assert!(
        all.all().iter().all(|r| r.body["tenant_id"] == "acme"),
        "globex event sent to acme"
    );
    assert!(all.accepted(&globex_id).is_empty());

    // The deliveries resource, newest first.
    let webhook_id = all_hook["webhook_id"].as_str().unwrap();
    let listed = deliveries(&acme, webhook_id).await;
    let mine: Vec<&Value> = listed
        .iter()
        .filter(|d| d["order_id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), events.len());
    let mut expected = uuids(&events);
    expected.reverse();
    assert_eq!(
        mine.iter()
            .map(|d| d["event_uuid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        expected
    );
    for d in mine {
        assert_eq!(d["status"], "DELIVERED", "{d}");
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["last_status_code"], 204, "{d}");
        assert!(
            d["delivered_at"].is_string() && d["next_attempt_at"].is_null(),
            "{d}"
        );
        assert!(
            d["delivery_id"].is_number() && d["event_type"].is_string(),
            "{d}"
        );
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_every_event_later_and_delete_stops_deliveries() {
    let stack = stack().await;
    let acme = stack.acme();
    let r = receiver("acme-secret-for-a-flaky-receiver", 3).await;
    let hook = subscribe(&acme, &r, &["*"]).await;
    let webhook_id = hook["webhook_id"].as_str().unwrap().to_string();

    let (id, events) = completed_order(&acme, "wh-retry").await;
    let got = wait_accepted(&r, &id, events.len(), T).await;
    assert_eq!(
        uuids(&got.iter().map(|r| r.body.clone()).collect::<Vec<_>>()),
        uuids(&events),
        "in order despite the retries"
    );
    assert!(got.iter().all(|r| r.signature_ok));
    let refused: Vec<Received> = r.all().into_iter().filter(|r| r.answered == 500).collect();
    assert_eq!(refused.len(), 3);
    // The refused event was sent again (the same event id) and then delivered.
    let first = &refused[0].event_id;
    assert!(
        r.all()
            .iter()
            .any(|x| &x.event_id == first && x.answered == 204)
    );
    let listed = deliveries(&acme, &webhook_id).await;
    let retried = listed
        .iter()
        .find(|d| d["event_uuid"] == first.as_str())
        .expect("the retried delivery is listed");
    assert_eq!(retried["status"], "DELIVERED", "{retried}");
    assert_eq!(retried["attempts"], 4, "{retried}");
    assert_eq!(retried["last_status_code"], 204, "{retried}");

    // Deleted: nothing more arrives.
    let gone = acme
        .delete(&format!("/v1/webhooks/{webhook_id}"))
        .await
        .unwrap();
    assert_eq!(gone.status, 204, "{}", gone.body);
    let again = acme
        .delete(&format!("/v1/webhooks/{webhook_id}"))
        .await
        .unwrap();
    assert_eq!(again.status, 404);
    let after = acme
        .get(&format!("/v1/webhooks/{webhook_id}/deliveries"))
        .await
        .unwrap();
    assert_eq!(after.status, 404);
    let before = r.all().len();
    let (later, _) = completed_order(&acme, "wh-after-delete").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(r.accepted(&later).is_empty());
    assert_eq!(r.all().len(), before);
}

/// SPEC §6 durability: a receiver that refuses connections for a minute, while the worker
/// (which runs the dispatcher) is killed with SIGKILL and restarted, still gets every event,
/// signed and in order, once it is back.
#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_down_for_a_minute_across_a_worker_restart_loses_nothing() {
    let stack = stack().await;
    let acme = stack.acme();
    let (r, address) = down_receiver("acme-secret-for-a-receiver-that-is-down").await;
    let hook = subscribe(&acme, &r, &["*"]).await;
    let webhook_id = hook["webhook_id"].as_str().unwrap().to_string();
    let down_since = Instant::now();

    let (id, events) = completed_order(&acme, "wh-down").await;
    // Attempts have been made and failed: the oldest delivery (this order's first event, or an
    // earlier one of another acme order, as the webhook takes all of acme's events) waits for
    // its next try, and the rest wait behind it.
    let start = Instant::now();
    let retried = loop {
        let listed = deliveries(&acme, &webhook_id).await;
        if let Some(d) = listed.iter().find(|d| d["attempts"].as_i64() >= Some(2)) {
            break d.clone();
        }
        assert!(
            start.elapsed() < T,
            "no failed attempts recorded: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(retried["status"], "PENDING", "{retried}");
    assert!(retried["last_error"].is_string(), "{retried}");

    // orderflow restarts without a chance to clean up; the outbox is in the database.
    stack.kill_worker(0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.start_worker();

    let outage = Duration::from_secs(60);
    tokio::time::sleep(outage.saturating_sub(down_since.elapsed())).await;
    assert!(r.all().is_empty(), "nothing can arrive while it is down");
    r.come_up(address).await;

    // Backoff doubles to about a minute by now, so allow for the next attempt and the rest.
    let got = wait_accepted(&r, &id, events.len(), Duration::from_secs(150)).await;
    let mut seen = std::collections::BTreeSet::new();
    let first_arrivals: Vec<String> = got
        .iter()
        .filter(|x| seen.insert(x.event_id.clone()))
        .map(|x| x.event_id.clone())
        .collect();
    assert_eq!(first_arrivals, uuids(&events), "every event, in order");
    assert!(got.iter().all(|x| x.signature_ok));
    let listed = deliveries(&acme, &webhook_id).await;
    let head = listed
        .iter()
        .find(|d| d["delivery_id"] == retried["delivery_id"])
        .unwrap();
    assert_eq!(head["status"], "DELIVERED", "{head}");
    assert!(head["attempts"].as_i64().unwrap() >= 3, "{head}");
}

#[tokio::test]
async fn bad_subscriptions_other_tenants_and_the_operator_are_refused() {
    let stack = stack().await;
    let (acme, globex, operator) = (stack.acme(), stack.globex(), stack.operator());
    let secret = "a-secret-of-enough-length";
    let post = |body: Value| {
        let acme = acme.clone();
        async move { acme.post("/v1/webhooks", &body).await.unwrap() }
    };
    for (body, status, expected) in [
        (
            json!({ "url": "ftp://x.test/h", "topics": ["*"], "secret": secret }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "not a url", "topics": ["*"], "secret": secret }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": [], "secret": secret }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": ["NOPE"], "secret": secret }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": ["*"], "secret": "short" }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": ["*"], "secret": secret, "extra": 1 }),
            422,
            "UNKNOWN_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": ["*"] }),
            400,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": "*", "secret": secret }),
            400,
            "INVALID_FIELD",
        ),
    ] {
        let reply = post(body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(code(&reply), expected, "{body}");
    }
    let malformed = acme
        .post_raw("/v1/webhooks", "{not json", "application/json")
        .await
        .unwrap();
    assert_eq!(malformed.status, 400);
    assert_eq!(code(&malformed), "MALFORMED_JSON");
    assert!(
        acme.get("/v1/webhooks").await.unwrap().body["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["url"] != "http://x.test/h"),
        "a refused subscription was stored"
    );

    let hook = post(
        json!({ "url": "http://127.0.0.1:9/h", "topics": ["STATE_CHANGED"], "secret": secret }),
    )
    .await;
    assert_eq!(hook.status, 201);
    let webhook_id = hook.body["webhook_id"].as_str().unwrap();

    // Another tenant: 404, and the webhook stays.
    for path in [
        format!("/v1/webhooks/{webhook_id}"),
        format!("/v1/webhooks/{webhook_id}/deliveries"),
    ] {
        let reply = globex.get(&path).await.unwrap();
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(code(&reply), "NOT_FOUND");
    }
    let reply = globex
        .delete(&format!("/v1/webhooks/{webhook_id}"))
        .await
        .unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(
        acme.get(&format!("/v1/webhooks/{webhook_id}"))
            .await
            .unwrap()
            .status,
        200
    );

    // The operator manages no webhooks.
    let reply = operator
        .post(
            "/v1/webhooks",
            &json!({ "url": "http://x.test/h", "topics": ["*"], "secret": secret }),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 403);
    assert_eq!(code(&reply), "FORBIDDEN");
    for reply in [
        operator.get("/v1/webhooks").await.unwrap(),
        operator
            .get(&format!("/v1/webhooks/{webhook_id}/deliveries"))
            .await
            .unwrap(),
        operator
            .delete(&format!("/v1/webhooks/{webhook_id}"))
            .await
            .unwrap(),
    ] {
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    // No credentials.
    let anonymous = stack.client("nope").get("/v1/webhooks").await.unwrap();
    assert_eq!(anonymous.status, 401);

    assert_eq!(
        acme.delete(&format!("/v1/webhooks/{webhook_id}"))
            .await
            .unwrap()
            .status,
        204
    );
}
