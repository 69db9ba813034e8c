//! The API as an attacker or a careless client meets it, on a real stack: size limits,
//! idempotency keys scoped by kind and on order creation, replayed and foreign supplier
//! callbacks, rate limits, and answers that carry no internal text.

use orderflow_tests::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::OnceCell;

mod abuse;
mod callbacks;
mod idempotency;
mod limits;
mod reconcile;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "hardening").await
}

/// The fields `details.fields` of a VALIDATION_FAILED answer names.
fn fields(reply: &Reply) -> Vec<String> {
    assert_eq!(
        (reply.status.as_u16(), error_code(reply)),
        (422, "VALIDATION_FAILED"),
        "{}",
        reply.body
    );
    reply.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

/// A running order that stays in EXECUTION for a while (one slow step).
async fn running_order(stack: &Stack, prefix: &str) -> String {
    let id = new_id(prefix);
    submit(
        &stack.acme(),
        &order(&id, &[("sim.steps", "1"), ("sim.step_ms", "60000")]),
    )
    .await;
    wait_state(&stack.acme(), &id, "EXECUTION", T).await;
    id
}
