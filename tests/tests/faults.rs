//! Faults on the real stack: a worker killed with SIGKILL in the middle of a step, the whole
//! stack killed under load and restarted on its data, the supplier down for a while, and the
//! API killed while requests are in flight. Orders lose nothing, duplicate nothing, and every
//! client gets either its answer or a clear error.

use orderflow_tests::webhooks::{Receiver, receiver, register};
use orderflow_tests::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

async fn order_state(stack: &Stack, id: &str) -> Value {
    stack
        .acme()
        .get(&format!("/v1/orders/{id}"))
        .await
        .unwrap()
        .body
}

/// A webhook receiving all of acme's events, so the faults' effect on deliveries is compared
/// with a fault-free order's too.
async fn every_event(acme: &orderflow_client::api_client::ApiClient) -> Receiver {
    let hook = receiver("acme-secret-for-the-fault-tests", 0).await;
    register(acme, &hook, &["*"]).await;
    hook
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_killed_mid_step_completes_without_duplicate_supplier_effects() {
    let stack = Stack::start("faults").await;
    let acme = stack.acme();
    let hook = every_event(&acme).await;
    let ids: Vec<String> = (0..3).map(|i| new_id(&format!("kill{i}"))).collect();
    for id in &ids {
        // Long steps, so that every order's first step is still at the supplier at the kill.
        submit(
            &acme,
            &order(id, &[("sim.steps", "3"), ("sim.step_ms", "4000")]),
        )
        .await;
    }
    // Wait until every order has a step in flight at the supplier, then kill the worker.
    for id in &ids {
        wait_for_call(&stack, id, "/steps/").await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stack.kill_worker(0);
    for id in &ids {
        assert_eq!(order_state(&stack, id).await["state"], "EXECUTION");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.start_worker();
    // The same order without a fault, to compare histories with.
    let reference = new_id("kill-free");
    submit(
        &acme,
        &order(&reference, &[("sim.steps", "3"), ("sim.step_ms", "4000")]),
    )
    .await;
    assert_completed_once(&stack, &acme, &reference).await;

    for id in &ids {
        assert_completed_once(&stack, &stack.acme(), id).await;
        assert_same_history_as(&acme, id, &reference, &hook).await;
        // The step that was in flight ran again, under the same key, and the supplier
        // answered the repeat from its store: one effect.
        let first = calls_to(&stack, id, "/steps/step-1").await;
        assert!(first.len() >= 2, "step 1 was not called again: {first:?}");
        assert!(
            first
                .iter()
                .all(|c| c["idempotency_key"] == first[0]["idempotency_key"]),
            "{first:?}"
        );
        assert_eq!(
            first.iter().filter(|c| c["replayed"] == false).count(),
            1,
            "{first:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn whole_stack_killed_under_load_carries_on_after_restart() {
    let stack = Stack::start_with(
        "crash",
        StackOptions {
            persistent: true,
            ..StackOptions::default()
        },
    )
    .await;
    let acme = stack.acme();
    let hook = every_event(&acme).await;
    // Synchronous and asynchronous steps, so that supplier callbacks are in the simulator's
    // outbox when everything dies.
    let ids: Vec<String> = (0..16).map(|i| new_id(&format!("crash{i}"))).collect();
    for (i, id) in ids.iter().enumerate() {
        let asynchronous = if i % 2 == 0 { "true" } else { "false" };
        submit(
            &acme,
            &order(
                id,
                &[
                    ("sim.steps", "3"),
                    ("sim.step_ms", "700"),
                    ("sim.async_steps", asynchronous),
                ],
            ),
        )
        .await;
    }
    // Under load: kill everything once some orders are executing and none has finished.
    let start = std::time::Instant::now();
    loop {
        let mut executing = 0;
        for id in &ids {
            if order_state(&stack, id).await["state"] == "EXECUTION" {
                executing += 1;
            }
        }
        if executing >= 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing executes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stack.kill_all();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stack.restart_all().await;
    // The same orders (synchronous and asynchronous steps) without a fault.
    let acme = stack.acme();
    let mut references = Vec::new();
    for asynchronous in ["true", "false"] {
        let reference = new_id("crash-free");
        let knobs = [
            ("sim.steps", "3"),
            ("sim.step_ms", "700"),
            ("sim.async_steps", asynchronous),
        ];
        submit(&acme, &order(&reference, &knobs)).await;
        assert_completed_once(&stack, &acme, &reference).await;
        references.push(reference);
    }

    for (i, id) in ids.iter().enumerate() {
        assert_completed_once(&stack, &stack.acme(), id).await;
        assert_same_history_as(&acme, id, &references[i % 2], &hook).await;
    }
    // One workflow per order: nothing was started twice.
    for id in &ids {
        assert_eq!(workflow_runs(&stack, "acme", id).await, 1, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_wait_for_a_supplier_that_is_down_then_complete() {
    // A supplier outage of OUTAGE (minutes, as in real life) must fit in the retry policy:
    // 1 s doubling to 5 s, 60 attempts, about five minutes before an order would go to
    // ERROR_HANDLER. (The default policy waits about six and a half.)
    const OUTAGE: Duration = Duration::from_secs(120);
    let stack = Stack::start_with(
        "outage",
        StackOptions {
            workflow: orderflow_domain::WorkflowSettings {
                supplier_max_attempts: 60,
                supplier_initial_interval_ms: 1_000,
                supplier_max_interval_ms: 5_000,
                ..test_workflow_settings()
            },
            ..StackOptions::default()
        },
    )
    .await;
    let acme = stack.acme();
    let hook = every_event(&acme).await;
    let knobs = [
        ("sim.steps", "3"),
        ("sim.step_ms", "1500"),
        ("sim.async_steps", "true"),
    ];
    // Orders in flight when the supplier goes down...
    let mut ids: Vec<String> = (0..3).map(|i| new_id(&format!("before{i}"))).collect();
    for id in &ids {
        submit(&acme, &order(id, &knobs)).await;
    }
    for id in &ids {
        wait_state(&acme, id, "EXECUTION", Duration::from_secs(60)).await;
    }
    stack.kill_sim();
    // ...and orders placed while it is down.
    for i in 0..3 {
        let id = new_id(&format!("during{i}"));
        submit(&acme, &order(&id, &knobs)).await;
        ids.push(id);
    }
    // They wait: none is sent to an operator while the supplier is away.
    let start = std::time::Instant::now();
    while start.elapsed() < OUTAGE {
        for id in &ids {
            let order = order_state(&stack, id).await;
            assert_ne!(order["state"], "ERROR_HANDLER", "{order}");
            assert_ne!(order["state"], "COMPLETE", "{order}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stack.start_sim();
    let reference = new_id("outage-free");
    submit(&acme, &order(&reference, &knobs)).await;
    assert_completed_once(&stack, &acme, &reference).await;

    for id in &ids {
        assert_completed_once(&stack, &stack.acme(), id).await;
        assert_same_history_as(&acme, id, &reference, &hook).await;
    }
}

/// Sends `request` until it gets an answer from a running API: a cut-off connection or a
/// 503 is the clear error a client sees while the API restarts, and it retries. Returns every
/// answer it got, the last one being the result.
async fn send_until_answered(
    client: &orderflow_client::api_client::ApiClient,
    method: reqwest::Method,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> Vec<(u16, Value)> {
    let headers: Vec<(&str, String)> = key
        .map(|k| ("Idempotency-Key", k.to_string()))
        .into_iter()
        .collect();
    let mut answers = Vec::new();
    let start = std::time::Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{path}: no answer: {answers:?}"
        );
        match client
            .send_with_headers(method.clone(), path, Some(body), &headers)
            .await
        {
            // The connection was refused or cut: nothing to parse, the client knows it failed.
            Err(_) => answers.push((0, Value::Null)),
            Ok(reply) => {
                let status = reply.status.as_u16();
                answers.push((status, reply.body));
                if status != 503 {
                    return answers;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every answer is the result or a clear error: a JSON error with a code, never a 500 or a
/// body that is not the API's.
fn assert_clear(answers: &[(u16, Value)]) {
    for (status, body) in answers {
        match status {
            0 => {}
            200..=299 => assert!(body.is_object(), "{answers:?}"),
            _ => {
                assert_ne!(*status, 500, "{answers:?}");
                assert!(body["error"]["code"].is_string(), "{answers:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn api_killed_during_requests_answers_or_fails_clearly_and_applies_once() {
    let stack = Stack::start("apikill").await;
    let acme = stack.acme();

    // Amendments: orders parked in EXECUTION (their first step is taken on and finishes by
    // a callback long after the test). The supplier decides amendments by a callback after
    // 3 s, so each PATCH is still waiting for its answer when the API is killed.
    let parked: Vec<String> = (0..6).map(|i| new_id(&format!("amend{i}"))).collect();
    let park = [
        ("sim.steps", "3"),
        ("sim.async_steps", "true"),
        ("sim.step_ms", "3600000"),
        ("sim.amend", "pending-accept"),
        ("sim.answer_ms", "3000"),
    ];
    for id in &parked {
        submit(&acme, &order(id, &park)).await;
    }
    for id in &parked {
        wait_state(&acme, id, "EXECUTION", Duration::from_secs(60)).await;
        wait_for_call(&stack, id, "/steps/step-1").await;
    }

    // Submits and amendments in flight while the API is killed and started again.
    let submits: Vec<String> = (0..12).map(|i| new_id(&format!("submit{i}"))).collect();
    let mut tasks = Vec::new();
    for id in &submits {
        let (client, id) = (acme.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let body = order(&id, &[("sim.steps", "3"), ("sim.step_ms", "0")]);
            (
                id,
                send_until_answered(&client, reqwest::Method::POST, "/v1/orders", &body, None)
                    .await,
            )
        }));
    }
    for id in &parked {
        let (client, id) = (acme.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({ "order_ref": format!("PO-{id}"), "changes": { "notes": "after the restart" } });
            let key = format!("key-{id}");
            (
                id.clone(),
                send_until_answered(
                    &client,
                    reqwest::Method::PATCH,
                    &format!("/v1/orders/{id}"),
                    &body,
                    Some(&key),
                )
                .await,
            )
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stack.kill_api();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack.start_api();
    stack.wait_healthy().await;

    let mut answers = BTreeMap::new();
    for task in tasks {
        let (id, a) = task.await.unwrap();
        answers.insert(id, a);
    }
    // Submits: created, or (when an attempt cut off by the kill had already started it)
    // DUPLICATE_ORDER. Either way exactly one order runs, once.
    for id in &submits {
        let a = &answers[id];
        assert_clear(a);
        let (status, body) = a.last().unwrap();
        assert!(
            *status == 201 || (*status == 409 && body["error"]["code"] == "DUPLICATE_ORDER"),
            "{id}: {a:?}"
        );
        assert_completed_once(&stack, &stack.acme(), id).await;
        assert_eq!(workflow_runs(&stack, "acme", id).await, 1, "{id}");
    }
    // Amendments: each was cut off by the kill, and the retry with the same Idempotency-Key
    // got the one amendment; the order was amended once.
    for id in &parked {
        let a = &answers[id];
        assert_clear(a);
        assert!(
            a.iter().any(|(status, _)| *status == 0 || *status == 503),
            "{id}: the request was not cut off: {a:?}"
        );
        let (status, body) = a.last().unwrap();
        assert!(*status == 200 || *status == 202, "{id}: {a:?}");
        let amendment_id = body["amendment"]["amendment_id"].as_str().unwrap();
        let order = wait_for(&acme, id, Duration::from_secs(60), |o| {
            o["pending_request"].is_null()
        })
        .await;
        assert_eq!(order["revision"], 2, "{order}");
        assert_eq!(order["notes"], "after the restart", "{order}");
        let types = assert_gapless(&events(&acme, id).await);
        assert_eq!(
            types.iter().filter(|t| *t == "AMENDMENT_ACCEPTED").count(),
            1,
            "{types:?}"
        );
        let repeat = acme
            .get(&format!("/v1/orders/{id}/amendments/{amendment_id}"))
            .await
            .unwrap();
        assert_eq!(repeat.body["state"], "ACCEPTED", "{}", repeat.body);
    }
}
