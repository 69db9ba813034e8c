//! Driving orders through the API and the simulator: bodies, submits, waits, operator
//! commands, the simulator's journal and admin endpoints, and the `orderflow` CLI.

use crate::{Reply, Stack, binary};
use orderflow_client::api_client::ApiClient;
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A valid order body with the given id and simulator knobs.
pub fn order(order_id: &str, knobs: &[(&str, &str)]) -> Value {
    orderflow_client::sample::order(order_id, "test order", knobs)
}

/// A fresh order id, unique across runs.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// Submits an order and asserts it was accepted.
pub async fn submit(client: &ApiClient, body: &Value) -> Value {
    let reply = client.post("/v1/orders", body).await.unwrap();
    assert_eq!(reply.status, 201, "submit failed: {}", reply.body);
    reply.body
}

/// Polls the order until `done(order)` holds; panics with the order after `timeout`.
pub async fn wait_for(
    client: &ApiClient,
    order_id: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let reply = client.get(&format!("/v1/orders/{order_id}")).await.unwrap();
        if reply.status == 200 && done(&reply.body) {
            return reply.body;
        }
        if start.elapsed() > timeout {
            panic!(
                "order {order_id} did not reach the expected condition in {timeout:?}: {}",
                reply.body
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn wait_state(
    client: &ApiClient,
    order_id: &str,
    state: &str,
    timeout: Duration,
) -> Value {
    wait_for(client, order_id, timeout, |o| o["state"] == state).await
}

pub async fn events(client: &ApiClient, order_id: &str) -> Vec<Value> {
    let reply = client
        .get(&format!("/v1/orders/{order_id}/events"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["events"].as_array().unwrap().clone()
}

/// Asserts seq runs 1..=n without gaps or repeats, and returns the event types.
pub fn assert_gapless(events: &[Value]) -> Vec<String> {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["seq"].as_u64(),
            Some(i as u64 + 1),
            "seq gap or repeat at {i}: {events:?}"
        );
    }
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// An operator command on one of acme's orders.
pub async fn operate(operator: &ApiClient, order_id: &str, action: &str, body: Value) -> Reply {
    operator
        .post(
            &format!("/v1/orders/{order_id}/{action}?tenant_id=acme"),
            &body,
        )
        .await
        .unwrap()
}

/// Waits (up to a minute) until the simulator has had a call whose path contains `fragment`
/// for the order; those calls.
pub async fn wait_for_call(stack: &Stack, order_id: &str, fragment: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let calls = calls_to(stack, order_id, fragment).await;
        if !calls.is_empty() {
            return calls;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no call to {fragment} for {order_id} within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The simulator calls whose path contains `fragment`.
pub async fn calls_to(stack: &Stack, order_id: &str, fragment: &str) -> Vec<Value> {
    stack
        .sim_calls("acme", order_id)
        .await
        .into_iter()
        .filter(|c| c["path"].as_str().unwrap().contains(fragment))
        .collect()
}

/// POSTs to one of the simulator's admin endpoints and asserts it took the request.
pub async fn sim_admin(stack: &Stack, path: &str, body: Value) -> Value {
    let reply = reqwest::Client::new()
        .post(format!("{}{path}", stack.sim_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        reply.status().is_success(),
        "sim admin {path}: {}",
        reply.status()
    );
    reply.json().await.unwrap()
}

/// Runs the `orderflow` CLI against the stack's API as tenant acme and returns its stdout;
/// panics if it fails or takes longer than `timeout`.
pub async fn orderflow_cli(stack: &Stack, args: &[&str], timeout: Duration) -> String {
    let child = tokio::process::Command::new(binary("orderflow"))
        .args(["--api-url", &stack.api_url])
        .env("ORDERFLOW_API_KEY", &stack.credentials.acme_key)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawning orderflow");
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("orderflow {args:?} did not finish in {timeout:?}"))
        .expect("orderflow ran");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "orderflow {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Waits (up to 90 s) until the API at `api` answers `/healthz` with 2xx; panics with the
/// contents of `logs` (the processes' stderr) if it never does.
pub async fn wait_api_healthy(api: &str, logs: &[std::path::PathBuf]) {
    let start = std::time::Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{api}/healthz")).await
            && r.status().is_success()
        {
            return;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let logs: String = logs
                .iter()
                .map(|f| std::fs::read_to_string(f).unwrap_or_default())
                .collect();
            panic!("{api} never became healthy:\n{logs}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
