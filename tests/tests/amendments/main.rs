//! Amendments on a real stack: both paths, supplier answers now or later, every
//! refusal, idempotency and concurrency.

use orderflow_client::api_client::ApiClient;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::OnceCell;

mod concurrent;
mod gateway;
mod paths;
mod refusals;
mod supplier;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "amendments").await
}

async fn patch(client: &ApiClient, id: &str, changes: Value, headers: &[(&str, String)]) -> Reply {
    client
        .send_with_headers(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({ "order_ref": format!("PO-{id}"), "changes": changes })),
            headers,
        )
        .await
        .unwrap()
}

/// The supplier's decision on amendment `aid` of order `id`, as its callback.
fn decision(id: &str, aid: &str, decision: &str) -> Value {
    json!({
        "type": "AMENDMENT_DECISION",
        "callback_id": uuid::Uuid::now_v7().to_string(),
        "tenant_id": "acme",
        "order_id": id,
        "amendment_id": aid,
        "decision": decision,
    })
}

fn code(r: &Reply) -> &str {
    r.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {}", r.body))
}

/// Counts the Updates the server accepted into the workflow's history.
async fn accepted_updates(stack: &Stack, id: &str) -> usize {
    use orderflow_workflows::OrderWorkflow;
    let client = stack.temporal().await;
    let events = client
        .get_workflow_handle::<OrderWorkflow>(format!("order/acme/{id}"))
        .fetch_history(Default::default())
        .into_events()
        .await
        .unwrap();
    events
        .iter()
        .filter(|e| format!("{:?}", e.event_type()).contains("UpdateAccepted"))
        .count()
}
