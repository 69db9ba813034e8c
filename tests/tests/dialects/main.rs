//! The dialects on a real stack: each seed's interface drives the same orders, rules, events
//! and webhooks as the core API, and the core API sees every change a dialect made.

use orderflow_client::api_client::ApiClient;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::OnceCell;

mod marketplace;
mod peppol;
mod subscriptions;
mod tmf622;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "dialects").await
}

async fn send(
    client: &ApiClient,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Reply {
    client.send(method, path, body).await.unwrap()
}

/// The order as the core API shows it.
async fn core_order(client: &ApiClient, id: &str) -> Value {
    let r = client.get(&format!("/v1/orders/{id}")).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The order's events of `event_type`.
async fn events_of(client: &ApiClient, id: &str, event_type: &str) -> Vec<Value> {
    events(client, id)
        .await
        .into_iter()
        .filter(|e| e["type"] == event_type)
        .collect()
}
