//! Tenant webhooks on a real stack: a receiver inside the test checks every
//! signature with the subscribed secret; events arrive in order, only for the subscribed
//! topics and tenant, survive a failing receiver, and stop once the webhook is deleted;
//! where they may go and how many a tenant may have (`egress`).

use orderflow_client::api_client::ApiClient;
use orderflow_tests::webhooks::*;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// [`register`], and the answer is the registration without its secret.
async fn subscribe(client: &ApiClient, r: &Receiver, topics: &[&str]) -> Value {
    let body = register(client, r, topics).await;
    assert!(
        !body.to_string().contains(&r.secret),
        "secret echoed: {body}"
    );
    assert!(body.get("secret").is_none());
    assert_eq!(body["url"], r.url.as_str());
    assert_eq!(body["topics"], json!(topics));
    assert!(body["created_at"].is_string());
    body
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
