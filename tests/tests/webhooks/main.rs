//! Tenant webhooks on a real stack: a receiver inside the test checks every
//! signature with the subscribed secret; events arrive in order, only for the subscribed
//! topics and tenant, survive a failing receiver, and stop once the webhook is deleted;
//! where they may go and how many a tenant may have (`egress`).

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

mod delivery;
mod durability;
mod egress;
mod refusals;

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
