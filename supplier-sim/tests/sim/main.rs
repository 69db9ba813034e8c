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

mod callbacks;
mod calls;
mod rules;

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
