//! A webhook receiver inside the test: it checks both signatures of every delivery (orderflow's
//! own and Standard Webhooks') with the subscribed secret and records what it got, so tests
//! assert what a tenant's endpoint sees.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use orderflow_client::api_client::ApiClient;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub event_id: String,
    pub signature_ok: bool,
    pub body: Value,
    pub answered: u16,
}

#[derive(Clone)]
pub struct Receiver {
    pub secret: String,
    /// Answer 500 to this many requests before accepting.
    fail_first: Arc<AtomicUsize>,
    got: Arc<Mutex<Vec<Received>>>,
    pub url: String,
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
    // Standard Webhooks, verified by the specification's own Rust library: a `whsec_` secret
    // is base64, any other is its bytes.
    let standard = match r.secret.strip_prefix("whsec_") {
        Some(_) => standardwebhooks::Webhook::new(&r.secret),
        None => standardwebhooks::Webhook::from_bytes(r.secret.as_bytes().to_vec()),
    };
    let standard_ok = standard.is_ok_and(|w| w.verify(&body, &headers).is_ok())
        && header("webhook-id") == header("orderflow-event-id")
        && header("webhook-timestamp") == header("orderflow-timestamp");
    let signature_ok = fresh
        && standard_ok
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

pub async fn receiver(secret: &str, fail_first: usize) -> Receiver {
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
pub async fn down_receiver(secret: &str) -> (Receiver, std::net::SocketAddr) {
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

    pub async fn come_up(&self, address: std::net::SocketAddr) {
        self.serve(tokio::net::TcpListener::bind(address).await.unwrap());
    }

    /// The accepted deliveries of one order, in arrival order.
    pub fn accepted(&self, order_id: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.answered < 300 && r.body["order_id"] == order_id)
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// Waits until `r` has accepted `n` deliveries of the order.
pub async fn wait_accepted(
    r: &Receiver,
    order_id: &str,
    n: usize,
    timeout: Duration,
) -> Vec<Received> {
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

pub fn uuids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_uuid"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts that `r` got every event of the order once in order (first arrivals; a delivery cut
/// off by a fault may arrive again under the same event id, which receivers deduplicate on),
/// signed, each body the event itself; returns the events' types as delivered.
pub fn assert_delivered_in_order(r: &Receiver, order_id: &str, events: &[Value]) -> Vec<String> {
    let got = r.accepted(order_id);
    let mut seen = std::collections::BTreeMap::new();
    for x in &got {
        assert!(x.signature_ok, "bad signature: {x:?}");
        let first = seen
            .entry(x.event_id.clone())
            .or_insert_with(|| x.body.clone());
        assert_eq!(
            *first, x.body,
            "event {} delivered with two bodies",
            x.event_id
        );
    }
    let mut order = Vec::new();
    for x in &got {
        if !order.contains(&x.event_id) {
            order.push(x.event_id.clone());
        }
    }
    assert_eq!(
        order,
        uuids(events),
        "the deliveries of {order_id} are not its events in order"
    );
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Registers a webhook of `client`'s tenant that sends `topics` to `r`; returns the answer.
pub async fn register(client: &ApiClient, r: &Receiver, topics: &[&str]) -> Value {
    let reply = client
        .post(
            "/v1/webhooks",
            &json!({ "url": r.url, "topics": topics, "secret": r.secret }),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

/// Waits (up to `timeout`) until `r` has every event of the order, then asserts as
/// [`assert_delivered_in_order`].
pub async fn wait_delivered(r: &Receiver, order_id: &str, events: &[Value], timeout: Duration) {
    let start = Instant::now();
    loop {
        let mut ids: Vec<String> = r
            .accepted(order_id)
            .into_iter()
            .map(|x| x.event_id)
            .collect();
        ids.sort();
        ids.dedup();
        if ids.len() >= events.len() {
            assert_delivered_in_order(r, order_id, events);
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{} of {} events of {order_id} delivered in {timeout:?}",
            ids.len(),
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
