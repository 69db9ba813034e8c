//! Cancellation and reactivation on a real stack: the consumer and supplier paths,
//! supplier answers now or later, the point of no return, every refusal, unsolicited ceases,
//! supplier-initiated cancel and hold, and subscriptions with scheduled changes that survive
//! continue-as-new.

use orderflow_client::api_client::ApiClient;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::OnceCell;

mod consumer;
mod expiry;
mod refusals;
mod subscriptions;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "cancellation").await
}

async fn cancel(client: &ApiClient, id: &str, body: Value) -> Reply {
    client
        .post(&format!("/v1/orders/{id}/cancel"), &body)
        .await
        .unwrap()
}

async fn reactivate(client: &ApiClient, id: &str, body: Value) -> Reply {
    client
        .post(&format!("/v1/orders/{id}/reactivate"), &body)
        .await
        .unwrap()
}

/// Submits an order with these simulator knobs and waits until its plan executes.
async fn executing(acme: &ApiClient, prefix: &str, knobs: &[(&str, &str)]) -> String {
    let id = new_id(prefix);
    submit(acme, &order(&id, knobs)).await;
    wait_state(acme, &id, "EXECUTION", T).await;
    id
}

/// A tenant's amendment of `notes`.
async fn amend_notes(client: &ApiClient, id: &str, notes: &str) -> Reply {
    client
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({ "order_ref": format!("PO-{id}"), "changes": { "notes": notes } })),
        )
        .await
        .unwrap()
}

/// Polls a request resource (`/v1/orders/{id}/amendments/{aid}`, …) until it is in `state`.
async fn wait_for_request(client: &ApiClient, path: &str, state: &str) -> Value {
    let start = std::time::Instant::now();
    loop {
        let last = client.get(path).await.unwrap().body;
        if last["state"] == state {
            return last;
        }
        assert!(start.elapsed() < T, "{path} never became {state}: {last}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn code(r: &Reply) -> &str {
    r.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code ({}): {}", r.status, r.body))
}

/// RFC 3339, `secs` from now.
fn in_secs(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The event with this uuid must exist and be of type `kind`.
async fn assert_event(client: &ApiClient, id: &str, uuid: &Value, kind: &str) {
    let all = events(client, id).await;
    let found = all
        .iter()
        .find(|e| &e["event_uuid"] == uuid)
        .unwrap_or_else(|| panic!("no event {uuid} in {all:?}"));
    assert_eq!(found["type"], kind, "{found}");
}

/// Successful transfers (`POST /orders`) the simulator answered.
async fn transfers(stack: &Stack, id: &str) -> usize {
    stack
        .sim_calls("acme", id)
        .await
        .iter()
        .filter(|c| c["path"] == "/orders" && c["status"].as_u64().is_some_and(|s| s < 300))
        .count()
}
